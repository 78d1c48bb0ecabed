// SPDX-License-Identifier: Apache-2.0
#pragma once

// `mountleak trace` as the demo's child: it prints its live view on the
// demo's terminal and writes its post-mortem log, which the demo reads to
// wait for each finding before it takes the next step, so the story on the
// screen stays in order.

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "util/result.h"

namespace mountleak {

class DemoTracer {
 public:
  // Runs this binary's `trace ARGS... --log LOG_PATH`.
  static Result<DemoTracer> start(const std::vector<std::string>& args, std::string log_path);

  DemoTracer(DemoTracer&& other) noexcept;
  DemoTracer& operator=(DemoTracer&&) = delete;
  ~DemoTracer();

  // Waits until the log holds an event of `kind` not seen before (any
  // event of that kind after the previous wait), or fails: the deadline
  // passed, or trace exited (its exit status said).
  Status wait_for(const std::string& kind, std::chrono::milliseconds timeout);
  // Whether an event of `kind` appeared among the lines read so far.
  bool seen(const std::string& kind) const;
  // SIGINT, and waits for trace to print its final stats and exit.
  Status stop();

 private:
  DemoTracer(pid_t pid, std::string log_path) : pid_(pid), log_path_(std::move(log_path)) {}
  // Reads the log's new whole lines; the kinds of their events go to kinds_.
  void read_new_lines();
  // Reaps trace if it has exited: its status as words, or empty.
  std::string exited();

  pid_t pid_ = -1;
  std::string log_path_;
  uint64_t offset_ = 0;
  std::string partial_;
  std::vector<std::string> kinds_;
  size_t next_ = 0;  // kinds_[next_...] are not yet waited for
};

}  // namespace mountleak
