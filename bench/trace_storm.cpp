// SPDX-License-Identifier: Apache-2.0
// `mountleak trace` in a namespace storm: what any unprivileged user can do
// to a node's tracer. For --seconds, workers running as nobody create user
// and mount namespaces as fast as they can, each mounting a few tmpfs and
// holding on (up to --hold namespaces per worker at once, the oldest let go
// first); half way through, a log collector with a private copy of the
// kubelet root is started on the seed node and the host unmounts the
// volume: a leak made in the middle of the storm.
//
// Measured, side by side in one invocation and one storm:
//   peak RSS   the tracer's VmHWM, sampled every 500 ms, against --max-rss-mib
//   leak       whether (and how long after the unmount) a leak naming the
//              collector was reported, directly or after lost + resync
//   SIGTERM    how long the tracer takes to be gone after SIGTERM while the
//              storm still runs, against SIGKILL of a second tracer that went
//              through the same storm: the kernel's own detach time is the floor
//
// Needs root: run it through scripts/bench_trace.sh storm.

#include <fmt/core.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <deque>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "fixture/seed_node.h"
#include "trace_bench_util.h"
#include "trace_tracer_process.h"

namespace mountleak::bench {

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct Options {
  std::string mountleak = MOUNTLEAK_BINARY;
  int seconds = 60;
  int workers = 2;
  int hold = 2000;  // namespaces each worker keeps alive at once
  int mounts = 4;   // tmpfs mounts in each
  long max_rss_mib = 256;
  std::vector<std::string> tracer_args;
};

constexpr uid_t kNobody = 65534;

bool write_text(const char* path, const std::string& text) {
  const int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  close(fd);
  return ok;
}

// One namespace of the storm: a user namespace (so nobody may), mapped to
// its root so that it can create files, and a mount namespace with a few
// tmpfs mounts in it, then held until killed.
[[noreturn]] void storm_namespace(int mounts) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) _exit(1);
  const std::string map = "0 " + std::to_string(kNobody) + " 1";
  if (!write_text("/proc/self/setgroups", "deny") || !write_text("/proc/self/uid_map", map) ||
      !write_text("/proc/self/gid_map", map))
    _exit(1);
  if (mount("storm", "/tmp", "tmpfs", 0, "size=64k") != 0) _exit(1);
  for (int i = 0; i < mounts - 1; ++i) {
    const std::string dir = "/tmp/" + std::to_string(i);
    if (mkdir(dir.c_str(), 0755) != 0 || mount("storm", dir.c_str(), "tmpfs", 0, "size=4k") != 0) _exit(1);
  }
  for (;;) pause();
}

// A worker: as nobody, makes namespaces until killed, holding `hold`.
pid_t start_worker(const Options& o) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (setgroups(0, nullptr) != 0 || setgid(kNobody) != 0 || setuid(kNobody) != 0) _exit(1);
  // Changing uid cleared it, which leaves /proc/self/*_map owned by root.
  prctl(PR_SET_DUMPABLE, 1);
  std::deque<pid_t> held;
  for (;;) {
    pid_t one = fork();
    if (one == 0) storm_namespace(o.mounts);
    if (one > 0) held.push_back(one);
    if (static_cast<int>(held.size()) > o.hold || one < 0) {
      kill(held.front(), SIGKILL);
      waitpid(held.front(), nullptr, 0);
      held.pop_front();
    }
    while (waitpid(-1, nullptr, WNOHANG) > 0) {
    }
  }
}

// Reads the tracer's lines until `until`, counting kinds and watching for
// the leak that names `collector_id`.
struct Watch {
  std::map<std::string, int> kinds;
  std::optional<uint64_t> leak_ns;
  long peak_hwm_kib = 0;
};

void watch(TracerProcess& tracer, Clock::time_point until, const std::string& collector_id, Watch& w) {
  auto next_sample = Clock::now();
  while (Clock::now() < until) {
    if (Clock::now() >= next_sample) {
      w.peak_hwm_kib = std::max(w.peak_hwm_kib, tracer.vm_hwm_kib());
      next_sample += 500ms;
    }
    auto line = tracer.next_line(100);
    if (!line) continue;
    const std::string kind = line->json.value("event", "?");
    ++w.kinds[kind];
    if (kind != "leak" || collector_id.empty() || w.leak_ns) continue;
    for (const auto& h : line->json.value("holders", nlohmann::json::array()))
      if (h.contains("container") && h["container"].is_object() && h["container"].value("id", "") == collector_id)
        w.leak_ns = line->read_ns;
  }
}

// Time from `sig` until the tracer is gone (reaped), and its final stats.
double gone_after_ms(TracerProcess& tracer, int sig, nlohmann::json* stats = nullptr) {
  const auto sent = Clock::now();
  kill(tracer.pid(), sig);
  auto exit = tracer.stop(20000);  // its SIGINT finds the process already stopping
  if (stats) *stats = exit.stats;
  return std::chrono::duration<double, std::milli>(Clock::now() - sent).count();
}

int run(const Options& o) {
  if (auto st = enter_bench_namespace("trace_storm"); !st) {
    fmt::print(stderr, "trace_storm: {}\n", st.error().message);
    return 2;
  }
  auto node = fixture::SeedNode::create({});
  if (!node) {
    fmt::print(stderr, "trace_storm: seed node: {}\n", node.error().message);
    return 2;
  }
  std::vector<std::string> args = (*node)->cli_args();
  args.insert(args.end(), o.tracer_args.begin(), o.tracer_args.end());
  auto tracer = TracerProcess::start(o.mountleak, args);
  if (!tracer) {
    fmt::print(stderr, "trace_storm: {}\n", tracer.error().message);
    return 2;
  }
  // The floor for the stop: a second tracer through the same storm, killed.
  auto floor_tracer = TracerProcess::start(o.mountleak, args);
  if (!floor_tracer) {
    fmt::print(stderr, "trace_storm: {}\n", floor_tracer.error().message);
    return 2;
  }

  std::vector<pid_t> workers;
  for (int i = 0; i < o.workers; ++i) workers.push_back(start_worker(o));
  const auto start = Clock::now();
  Watch w;
  watch(**tracer, start + std::chrono::seconds(o.seconds / 2), "", w);

  // The leak, in the middle of the storm.
  fixture::ContainerSpec spec;
  spec.kind = fixture::ContainerKind::kLogCollectorPrivate;
  auto collector = (*node)->start_container(spec);
  if (!collector) {
    fmt::print(stderr, "trace_storm: container: {}\n", collector.error().message);
    return 2;
  }
  std::this_thread::sleep_for(200ms);
  const uint64_t unmounted_ns = monotonic_ns();
  if (!(*node)->kubelet_unmount_pod_volume().ok() || !(*node)->kubelet_unmount_global().ok()) {
    fmt::print(stderr, "trace_storm: unmounting the volume failed\n");
    return 2;
  }
  watch(**tracer, start + std::chrono::seconds(o.seconds), (*collector)->id, w);

  // Stops, both in the storm: SIGTERM the measured tracer, SIGKILL the other.
  nlohmann::json stats;
  const double sigterm_ms = gone_after_ms(**tracer, SIGTERM, &stats);
  const nlohmann::json bounds = stats.value("bounds", nlohmann::json::object());
  const nlohmann::json counters = stats.value("counters", nlohmann::json::object());
  const double sigkill_ms = gone_after_ms(**floor_tracer, SIGKILL);
  for (pid_t pid : workers) kill(pid, SIGKILL);
  for (pid_t pid : workers) waitpid(pid, nullptr, 0);
  (*node)->teardown();

  const double peak_mib = static_cast<double>(w.peak_hwm_kib) / 1024.0;
  const bool leak_found = w.leak_ns.has_value();
  const double leak_after_ms = leak_found ? static_cast<double>(*w.leak_ns - unmounted_ns) / 1e6 : -1;
  const bool rss_ok = peak_mib < static_cast<double>(o.max_rss_mib);
  const bool stop_ok = sigterm_ms < sigkill_ms + 1000;
  LoadAverage load = load_average();

  fmt::print("storm: {} s, {} workers as nobody, {} namespaces held each, {} tmpfs mounts in each\n",
             o.seconds, o.workers, o.hold, o.mounts);
  fmt::print("  {:<32} {:>10.1f} MiB   (bound {} MiB) {}\n", "tracer peak RSS (VmHWM)", peak_mib, o.max_rss_mib,
             rss_ok ? "ok" : "MISSED");
  fmt::print("  {:<32} {:>10}       {}\n", "leak reported", leak_found ? fmt::format("{:.0f} ms", leak_after_ms) : "no",
             leak_found ? "ok" : "MISSED");
  fmt::print("  {:<32} {:>10.0f} ms    (SIGKILL floor {:.0f} ms) {}\n", "gone after SIGTERM", sigterm_ms, sigkill_ms,
             stop_ok ? "ok" : "MISSED");
  for (const char* kind : {"degraded", "lost", "resync", "mntns_copy", "leak"})
    fmt::print("  {:<32} {:>10}\n", fmt::format("{} events", kind), w.kinds[kind]);
  fmt::print("  {:<32} {:>10} namespaces, {} mounts (bounds {}, {})\n", "model at the end",
             bounds.value("namespaces", 0), bounds.value("mounts", 0), bounds.value("max_namespaces", 0),
             bounds.value("max_mounts", 0));
  fmt::print("  {:<32} {:>10} left out, {} trimmed, {} poll budget hits\n", "what the bounds cost",
             counters.value("namespaces_left_out", 0), counters.value("namespaces_trimmed", 0),
             counters.value("poll_budget_hits", 0));
  fmt::print("  {:<32} {:>10}\n", "kernel events emitted", counters.value("kernel_emitted", 0));
  fmt::print("  load average after: {:.2f} {:.2f} {:.2f}\n", load.one, load.five, load.fifteen);

  nlohmann::json summary = {{"bench", "trace_storm"},
                            {"seconds", o.seconds},
                            {"workers", o.workers},
                            {"hold", o.hold},
                            {"peak_rss_mib", peak_mib},
                            {"max_rss_mib", o.max_rss_mib},
                            {"leak_reported", leak_found},
                            {"leak_after_ms", leak_after_ms},
                            {"sigterm_ms", sigterm_ms},
                            {"sigkill_ms", sigkill_ms},
                            {"events", w.kinds},
                            {"bounds", bounds},
                            {"counters", counters},
                            {"load", {load.one, load.five, load.fifteen}}};
  fmt::print("{}\n", summary.dump());
  return rss_ok && leak_found && stop_ok ? 0 : 1;
}

}  // namespace

}  // namespace mountleak::bench

int main(int argc, char** argv) {
  mountleak::bench::Options o;
  CLI::App app{"mountleak trace in a namespace storm made by an unprivileged user"};
  app.add_option("--mountleak", o.mountleak, "The mountleak binary")->capture_default_str();
  app.add_option("--seconds", o.seconds, "How long the storm lasts")->check(CLI::Range(4, 3600))->capture_default_str();
  app.add_option("--workers", o.workers, "Processes making namespaces")->check(CLI::Range(1, 64))->capture_default_str();
  app.add_option("--hold", o.hold, "Namespaces each worker keeps alive")->check(CLI::Range(0, 100000))->capture_default_str();
  app.add_option("--mounts", o.mounts, "tmpfs mounts in each namespace")->check(CLI::Range(1, 64))->capture_default_str();
  app.add_option("--max-rss-mib", o.max_rss_mib, "The tracer's peak RSS target")->capture_default_str();
  app.add_option("--tracer-args", o.tracer_args, "More arguments for mountleak trace")->allow_extra_args();
  CLI11_PARSE(app, argc, argv);
  return mountleak::bench::run(o);
}
