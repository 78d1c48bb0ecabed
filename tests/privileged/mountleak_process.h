// SPDX-License-Identifier: Apache-2.0
#pragma once

// The mountleak binary as a real child process: run it to completion
// (scan), or keep it running and read its JSON lines as they come (trace).

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace mountleak::testing {

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
  // stdout parsed as JSON lines; a line that is not JSON fails the parse.
  std::vector<nlohmann::json> json_lines() const;
};

// Where the binary runs: by default the one built, right here; `enter`
// (run in the child just before exec; false fails the child with 126) can
// move it into a root of its own first, where it is `binary`.
struct Launch {
  std::string binary = MOUNTLEAK_BINARY;
  std::function<bool()> enter;
};

// Runs `mountleak args...` and waits (killing it after `timeout`).
RunResult run_mountleak(const std::vector<std::string>& args,
                        std::chrono::seconds timeout = std::chrono::seconds(60), const Launch& launch = {});

// Sends `sig` to pid and reaps it; how long it took to be gone (at most
// `limit`, when it was not), with its wait status in `status`.
std::chrono::nanoseconds gone_after_signal(pid_t pid, int sig, int& status,
                                           std::chrono::seconds limit = std::chrono::seconds(20));

// A running `mountleak trace -o json ...`; stopped with SIGINT on destruction.
class TraceProcess {
 public:
  explicit TraceProcess(const std::vector<std::string>& args, const Launch& launch = {});
  ~TraceProcess();
  TraceProcess(const TraceProcess&) = delete;
  TraceProcess& operator=(const TraceProcess&) = delete;

  bool started() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  // Reads events until one satisfies `match` (returned) or the deadline
  // passes (nothing). Every event read is kept in events().
  std::optional<nlohmann::json> wait_for(const std::function<bool(const nlohmann::json&)>& match,
                                         std::chrono::milliseconds timeout);
  std::optional<nlohmann::json> wait_for_event(const std::string& kind, std::chrono::milliseconds timeout);
  // SIGINT, then reads everything up to EOF; returns the exit code.
  int stop();
  const std::vector<nlohmann::json>& events() const { return events_; }
  std::string stderr_text();
  std::string describe() const;  // every event kind seen, for failure messages

 private:
  bool read_line(std::string& line, std::chrono::steady_clock::time_point deadline);

  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string err_path_;
  std::string buffer_;
  std::vector<nlohmann::json> events_;
  size_t next_ = 0;
  int exit_code_ = -1;
};

}  // namespace mountleak::testing
