// SPDX-License-Identifier: Apache-2.0
// What an attached `mountleak trace` costs the rest of the node, measured
// without and with the tracer in the same invocation, alternating (ABBA
// rounds, so drift and load from elsewhere hit both alike):
//
//   churn    container churn: fork; the child unshares its mount namespace,
//            makes / rslave (as runc does), makes 20 bind mounts and exits;
//            the parent waits. Per container, fork to reaped.
//   getppid  a syscall no mountleak program hooks: it pays only for the
//            syscall tracing slow path that any attached syscall tracepoint
//            turns on for every task.
//   write    write(2) of one byte to /dev/null: sys_exit_write is hooked
//            (rbd unmap's EBUSY), so it also runs a BPF program that compares
//            the return value with -EBUSY and leaves.
//
// Each is timed in wall time and in CPU time: the machine is shared, and at
// a load average of several per core wall time mostly measures our share of
// the CPUs. Syscall loops use the thread's CPU clock; churn uses our own
// plus our reaped children's CPU time (getrusage), and "churn+tracer" adds
// the tracer's CPU time over the churn and the settle pause after it (the
// collector re-reads each new namespace), which is what the node pays in
// all on a 2-core machine. The tracer watches the whole machine: on a shared
// machine its counters (events, reconciles) include other people's mounts.
// With --synthetic-node the same runs on the synthetic node (synthetic_node.h):
// churn containers copy its host namespace, and the tracer models its 200
// containers and 2,000 processes (the collector's per-container cost grows
// with the node). Needs root: run it through scripts/bench_trace.sh.

#include <fcntl.h>
#include <fmt/core.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <deque>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "synthetic_node.h"
#include "trace_bench_util.h"
#include "trace_tracer_process.h"

namespace mountleak::bench {

namespace {

constexpr double kTargetChurnRatio = 1.05;

struct Options {
  std::string mountleak = MOUNTLEAK_BINARY;
  // Run on the synthetic node (synthetic_node.h) instead of a bare one: the
  // churn copies the node's host namespace, and the tracer models the node.
  bool synthetic_node = false;
  SyntheticNodeOptions node;
  int rounds = 8;
  int containers = 200;  // per churn batch
  int binds = 20;
  long syscalls = 2000000;  // per syscall loop
  int settle_ms = 1000;     // after churn, before the syscall loops
  // Containers alive at once, and how long each stays after its binds.
  // With the defaults every container has died before the next starts, so
  // the kernel hands each the same namespace inode and the collector sees
  // one namespace changing; a lifetime past the collector's settle time
  // (50 ms) makes it re-read each container as a node's real churn would.
  int concurrency = 1;
  int lifetime_ms = 0;
};

// One workload's figures in one phase.
struct Phase {
  bool traced = false;
  double churn_us = 0;      // wall, per container
  double churn_cpu_us = 0;  // ours and the children's CPU, per container
  double getppid_ns = 0;    // wall, per call
  double write_ns = 0;
  double getppid_cpu_ns = 0;  // thread CPU, per call
  double write_cpu_ns = 0;
  double tracer_cpu_churn = 0;     // seconds, churn + settle
  double tracer_cpu_syscalls = 0;  // seconds, both syscall loops
  int churn_failures = 0;
  nlohmann::json stats;  // the tracer's final stats
};

[[noreturn]] void churn_child(const char* src, const std::vector<const char*>& targets,
                              int lifetime_ms) {
  if (unshare(CLONE_NEWNS) != 0) _exit(2);
  if (mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0) _exit(3);
  for (const char* t : targets)
    if (mount(src, t, nullptr, MS_BIND, nullptr) != 0) _exit(4);
  if (lifetime_ms > 0) usleep(static_cast<useconds_t>(lifetime_ms) * 1000);
  _exit(0);
}

double rusage_seconds(int who) {
  rusage u{};
  getrusage(who, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

struct Timing {
  double wall = 0;  // per unit, wall
  double cpu = 0;   // per unit, CPU
};

// Per container, in seconds.
Result<Timing> run_churn(const Options& o, const std::string& src,
                         const std::vector<std::string>& targets, int& failures) {
  std::vector<const char*> t;
  for (const auto& s : targets) t.push_back(s.c_str());
  const double cpu0 = rusage_seconds(RUSAGE_SELF) + rusage_seconds(RUSAGE_CHILDREN);
  const uint64_t start = monotonic_ns();
  std::deque<pid_t> alive;
  auto reap_oldest = [&] {
    int status = 0;
    while (waitpid(alive.front(), &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ++failures;
    alive.pop_front();
  };
  for (int i = 0; i < o.containers; ++i) {
    if (static_cast<int>(alive.size()) >= o.concurrency) reap_oldest();
    const pid_t pid = fork();
    if (pid < 0) return Error::from_errno("fork for a churn container");
    if (pid == 0) churn_child(src.c_str(), t, o.lifetime_ms);
    alive.push_back(pid);
  }
  while (!alive.empty()) reap_oldest();
  Timing out;
  out.wall = static_cast<double>(monotonic_ns() - start) / 1e9 / o.containers;
  out.cpu = (rusage_seconds(RUSAGE_SELF) + rusage_seconds(RUSAGE_CHILDREN) - cpu0) / o.containers;
  return out;
}

// Per call, in nanoseconds.
Timing run_getppid(long n) {
  const double cpu0 = thread_cpu_ns();
  const uint64_t start = monotonic_ns();
  for (long i = 0; i < n; ++i) syscall(SYS_getppid);
  const auto wall = static_cast<double>(monotonic_ns() - start);
  return {wall / static_cast<double>(n), (thread_cpu_ns() - cpu0) / static_cast<double>(n)};
}

Timing run_write(long n, int fd) {
  const char byte = 0;
  const double cpu0 = thread_cpu_ns();
  const uint64_t start = monotonic_ns();
  for (long i = 0; i < n; ++i) (void)!write(fd, &byte, 1);
  const auto wall = static_cast<double>(monotonic_ns() - start);
  return {wall / static_cast<double>(n), (thread_cpu_ns() - cpu0) / static_cast<double>(n)};
}

// Lets time pass while keeping the tracer's pipe drained.
void idle(TracerProcess* tracer, int ms) {
  const uint64_t end = monotonic_ns() + static_cast<uint64_t>(ms) * 1000000ull;
  while (monotonic_ns() < end) {
    if (tracer)
      tracer->next_line(20);
    else
      usleep(20000);
  }
}

Result<Phase> run_phase(const Options& o, const ScratchDir& scratch,
                        const std::vector<std::string>& tracer_args, bool traced) {
  Phase p;
  p.traced = traced;
  auto src = scratch.make_dir("churn/src");
  if (!src) return src.error();
  std::vector<std::string> targets;
  for (int i = 0; i < o.binds; ++i) {
    auto t = scratch.make_dir("churn/target" + std::to_string(i));
    if (!t) return t.error();
    targets.push_back(*t);
  }
  const int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (devnull < 0) return Error::from_errno("open /dev/null");

  std::unique_ptr<TracerProcess> tracer;
  if (traced) {
    auto t = TracerProcess::start(o.mountleak, tracer_args, 300000);
    if (!t) {
      close(devnull);
      return t.error();
    }
    tracer = std::move(*t);
  }
  idle(tracer.get(), 500);  // both phases: let the start-up (or the last tracer's exit) settle
  auto cpu = [&] { return tracer ? tracer->cpu_seconds() : 0.0; };

  double c0 = cpu();
  auto churn = run_churn(o, *src, targets, p.churn_failures);
  if (!churn) {
    close(devnull);
    return churn.error();
  }
  p.churn_us = churn->wall * 1e6;
  p.churn_cpu_us = churn->cpu * 1e6;
  idle(tracer.get(), o.settle_ms);
  p.tracer_cpu_churn = cpu() - c0;

  c0 = cpu();
  const Timing g = run_getppid(o.syscalls);
  const Timing w = run_write(o.syscalls, devnull);
  p.getppid_ns = g.wall;
  p.getppid_cpu_ns = g.cpu;
  p.write_ns = w.wall;
  p.write_cpu_ns = w.cpu;
  p.tracer_cpu_syscalls = cpu() - c0;
  close(devnull);

  if (tracer) {
    TracerExit exit = tracer->stop();
    if (exit.stats.is_null()) return Error{"the tracer printed no stats: " + exit.stderr_text};
    p.stats = exit.stats["counters"];
  }
  return p;
}

struct Figure {
  std::string name;
  std::string unit;
  std::vector<double> off, on, ratios;  // ratios: on/off within each round
};

int run(const Options& o) {
  if (auto entered = enter_bench_namespace("trace_overhead"); !entered) {
    fmt::print(stderr, "trace_overhead: {}\n", entered.error().message);
    return 2;
  }
  auto scratch = ScratchDir::create("mountleak-bench-overhead");
  if (!scratch) {
    fmt::print(stderr, "trace_overhead: {}\n", scratch.error().message);
    return 2;
  }
  std::unique_ptr<SyntheticNode> node;
  std::vector<std::string> tracer_args = bare_node_args(*scratch);
  if (o.synthetic_node) {
    SyntheticNodeOptions options = o.node;
    options.shim_program = MOUNTLEAK_SYNTHETIC_SHIM;
    auto built = SyntheticNode::create(options);
    if (!built) {
      fmt::print(stderr, "trace_overhead: building the synthetic node: {}\n",
                 built.error().message);
      return 2;
    }
    node = std::move(*built);
    tracer_args = node->cli_args();
    fmt::print("on the synthetic node: {} containers, {} processes, {} host mountinfo lines\n",
               node->containers().size(), node->process_count(), node->host_mount_count());
  }
  const LoadAverage load_before = load_average();
  fmt::print(
      "mountleak trace overhead: {} rounds (ABBA), churn {} containers x {} binds ({} at once, "
      "living {} ms), {} calls per syscall loop, {} CPUs, load average {:.2f} {:.2f} {:.2f}\n",
      o.rounds, o.containers, o.binds, o.concurrency, o.lifetime_ms, o.syscalls,
      std::thread::hardware_concurrency(), load_before.one, load_before.five, load_before.fifteen);
  fmt::print("{:<6} {:<8} {:>18} {:>18} {:>18} {:>13}\n", "round", "tracer", "churn us wall/cpu",
             "getppid ns wall/cpu", "write ns wall/cpu", "tracer CPU s");

  Figure churn{"churn (wall)", "us/container", {}, {}, {}};
  Figure churn_cpu{"churn (CPU)", "us/container", {}, {}, {}};
  Figure churn_total{"churn+tracer CPU", "us/container", {}, {}, {}};
  Figure getppid{"getppid (CPU)", "ns/call", {}, {}, {}};
  Figure write{"write (CPU)", "ns/call", {}, {}, {}};
  Figure getppid_wall{"getppid (wall)", "ns/call", {}, {}, {}};
  Figure write_wall{"write (wall)", "ns/call", {}, {}, {}};
  std::vector<double> tracer_cpu_per_container;
  nlohmann::json rounds_json = nlohmann::json::array();
  for (int round = 0; round < o.rounds; ++round) {
    Phase pair[2];
    for (int i = 0; i < 2; ++i) {
      const bool traced = (i == 1) != (round % 2 == 1);
      auto p = run_phase(o, *scratch, tracer_args, traced);
      if (!p) {
        fmt::print(stderr, "trace_overhead: round {}: {}\n", round + 1, p.error().message);
        return 2;
      }
      const std::string counters =
          traced ? fmt::format("  events {} reconciles {} gone {}", p->stats.value("events", 0ull),
                               p->stats.value("reconciles", 0ull),
                               p->stats.value("namespaces_gone", 0ull))
                 : "";
      fmt::print(
          "{:<6} {:<8} {:>18} {:>18} {:>18} {:>13}{}{}\n", round + 1, traced ? "attached" : "none",
          fmt::format("{:.0f} / {:.0f}", p->churn_us, p->churn_cpu_us),
          fmt::format("{:.0f} / {:.0f}", p->getppid_ns, p->getppid_cpu_ns),
          fmt::format("{:.0f} / {:.0f}", p->write_ns, p->write_cpu_ns),
          traced ? fmt::format("{:.2f}+{:.2f}", p->tracer_cpu_churn, p->tracer_cpu_syscalls) : "-",
          counters,
          p->churn_failures ? fmt::format("  ({} churn containers failed)", p->churn_failures)
                            : "");
      std::fflush(stdout);
      pair[traced ? 1 : 0] = *p;
      rounds_json.push_back({{"round", round + 1},
                             {"traced", traced},
                             {"churn_us_per_container", p->churn_us},
                             {"churn_cpu_us_per_container", p->churn_cpu_us},
                             {"getppid_ns", p->getppid_ns},
                             {"getppid_cpu_ns", p->getppid_cpu_ns},
                             {"write_ns", p->write_ns},
                             {"write_cpu_ns", p->write_cpu_ns},
                             {"tracer_cpu_churn_s", p->tracer_cpu_churn},
                             {"tracer_cpu_syscalls_s", p->tracer_cpu_syscalls},
                             {"churn_failures", p->churn_failures},
                             {"tracer_counters", p->stats}});
    }
    auto add = [](Figure& f, double off, double on) {
      f.off.push_back(off);
      f.on.push_back(on);
      f.ratios.push_back(off > 0 ? on / off : 0);
    };
    const double tracer_us = pair[1].tracer_cpu_churn * 1e6 / o.containers;
    add(churn, pair[0].churn_us, pair[1].churn_us);
    add(churn_cpu, pair[0].churn_cpu_us, pair[1].churn_cpu_us);
    add(churn_total, pair[0].churn_cpu_us, pair[1].churn_cpu_us + tracer_us);
    add(getppid, pair[0].getppid_cpu_ns, pair[1].getppid_cpu_ns);
    add(write, pair[0].write_cpu_ns, pair[1].write_cpu_ns);
    add(getppid_wall, pair[0].getppid_ns, pair[1].getppid_ns);
    add(write_wall, pair[0].write_ns, pair[1].write_ns);
    tracer_cpu_per_container.push_back(tracer_us);
  }

  const LoadAverage load_after = load_average();
  // Three ratios: of the medians; the median of each round's own ratio
  // (the headline: load drifts, and a round's two phases run back to back);
  // of the minimums (the least disturbed run of each).
  fmt::print("\n{:<18} {:>20} {:>20} {:>10} {:>10} {:>10}\n", "workload", "median off", "median on",
             "medians", "paired", "minimums");
  nlohmann::json figures = nlohmann::json::object();
  for (const Figure* f :
       {&churn, &churn_cpu, &churn_total, &getppid, &write, &getppid_wall, &write_wall}) {
    const double off = median(f->off), on = median(f->on);
    const double min_off = minimum(f->off), min_on = minimum(f->on);
    fmt::print("{:<18} {:>20} {:>20} {:>10.3f} {:>10.3f} {:>10.3f}\n", f->name,
               fmt::format("{:.1f} {}", off, f->unit), fmt::format("{:.1f} {}", on, f->unit),
               off > 0 ? on / off : 0, median(f->ratios), min_off > 0 ? min_on / min_off : 0);
    figures[f->name] = {{"unit", f->unit},
                        {"off", f->off},
                        {"on", f->on},
                        {"median_off", off},
                        {"median_on", on},
                        {"ratio_of_medians", off > 0 ? on / off : 0},
                        {"median_paired_ratio", median(f->ratios)},
                        {"ratio_of_minimums", min_off > 0 ? min_on / min_off : 0}};
  }
  const double churn_ratio = median(churn.ratios);
  const double churn_cpu_ratio = median(churn_cpu.ratios);
  const double churn_total_ratio = median(churn_total.ratios);
  const bool met = churn_ratio <= kTargetChurnRatio && churn_cpu_ratio <= kTargetChurnRatio;
  fmt::print("tracer CPU per churn container (collector, median): {:.0f} us\n",
             median(tracer_cpu_per_container));
  fmt::print(
      "churn ratios (median of paired rounds): wall {:.3f}, CPU {:.3f}, CPU with the tracer's "
      "{:.3f} "
      "(target <= {:.2f} on wall and CPU: {})\n",
      churn_ratio, churn_cpu_ratio, churn_total_ratio, kTargetChurnRatio, met ? "met" : "MISSED");
  fmt::print("syscall ratios (CPU, median of paired rounds): getppid {:.3f}, write {:.3f}\n",
             median(getppid.ratios), median(write.ratios));
  fmt::print("load average after: {:.2f} {:.2f} {:.2f}\n", load_after.one, load_after.five,
             load_after.fifteen);

  if (node) {
    node->teardown();
    for (const auto& e : node->teardown_errors())
      fmt::print(stderr, "trace_overhead: teardown: {}\n", e);
  }
  nlohmann::json summary = {
      {"bench", "trace_overhead"},
      {"synthetic_node", o.synthetic_node},
      {"concurrency", o.concurrency},
      {"lifetime_ms", o.lifetime_ms},
      {"rounds", o.rounds},
      {"containers", o.containers},
      {"binds", o.binds},
      {"syscalls", o.syscalls},
      {"cpus", std::thread::hardware_concurrency()},
      {"load_average_before", {load_before.one, load_before.five, load_before.fifteen}},
      {"load_average_after", {load_after.one, load_after.five, load_after.fifteen}},
      {"figures", figures},
      {"tracer_cpu_us_per_churn_container", median(tracer_cpu_per_container)},
      {"churn_ratio_wall", churn_ratio},
      {"churn_ratio_cpu", churn_cpu_ratio},
      {"churn_ratio_cpu_with_tracer", churn_total_ratio},
      {"getppid_ratio_cpu", median(getppid.ratios)},
      {"write_ratio_cpu", median(write.ratios)},
      {"getppid_ratio_wall", median(getppid_wall.ratios)},
      {"write_ratio_wall", median(write_wall.ratios)},
      {"target_churn_ratio", kTargetChurnRatio},
      {"target_met", met},
      {"phases", rounds_json}};
  fmt::print("{}\n", summary.dump());
  return met ? 0 : 1;
}

}  // namespace

}  // namespace mountleak::bench

int main(int argc, char** argv) {
  mountleak::bench::Options o;
  CLI::App app{
      "mountleak trace: overhead on container churn and plain syscalls, without and with the "
      "tracer"};
  app.add_option("--mountleak", o.mountleak, "The mountleak binary")->capture_default_str();
  app.add_option("--rounds", o.rounds, "ABBA rounds (each: one phase without, one with the tracer)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100));
  app.add_option("--containers", o.containers, "Churn containers per phase")->capture_default_str();
  app.add_option("--binds", o.binds, "Bind mounts per churn container")->capture_default_str();
  app.add_option("--syscalls", o.syscalls, "Calls per syscall loop")->capture_default_str();
  app.add_option("--settle-ms", o.settle_ms, "Pause after churn, before the syscall loops")
      ->capture_default_str();
  app.add_option("--concurrency", o.concurrency, "Churn containers alive at once")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  app.add_option("--lifetime-ms", o.lifetime_ms,
                 "How long each churn container lives after its binds")
      ->capture_default_str();
  app.add_flag(
      "--synthetic-node", o.synthetic_node,
      "Churn on the synthetic node (200 containers, 2,000 processes) instead of a bare one");
  app.add_option("--node-containers", o.node.containers, "Synthetic node: containers")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  setvbuf(stdout, nullptr, _IOLBF, 0);  // progress shows through a pipe too
  return mountleak::bench::run(o);
}
