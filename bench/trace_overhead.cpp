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
// the CPUs. A third, "robust" figure shrugs off the CPU being taken away now
// and then (by other jobs, or from a QEMU guest's vCPU by its host): for
// churn the 10th percentile of the containers' fork-to-reaped wall times,
// for a syscall loop its fastest chunk of --chunk-calls calls. Syscall loops use the thread's CPU clock; churn uses our own
// plus our reaped children's CPU time (getrusage), and "churn+tracer" adds
// the tracer's CPU time over the churn and the settle pause after it (the
// collector re-reads each new namespace), which is what the node pays in
// all on a 2-core machine. The tracer watches the whole machine: on a shared
// machine its counters (events, reconciles) include other people's mounts.
// With --synthetic-node the same runs on the synthetic node (synthetic_node.h):
// churn containers copy its host namespace, and the tracer models its 200
// containers and 2,000 processes (the collector's per-container cost grows
// with the node).
//
// Several configurations can run side by side (--tracer LABEL=ARGS, or
// --tiers for the tracer on auto, on the tracepoint and on the passive tier): each
// round then runs the untraced phase and one phase per configuration, in an
// order rotated every round so each takes every position in turn, and each
// configuration's ratios are against the untraced phase of the same round.
// --ftrace-event adds a phase with no tracer but one tracefs event enabled:
// a control showing what enabling any single syscall event costs the calls
// it does not trace. Needs root: run it through scripts/bench_trace.sh, or
// in a QEMU guest through scripts/bench_guest.sh.

#include <fcntl.h>
#include <fmt/core.h>
#include <fmt/format.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <deque>
#include <fstream>
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
  long chunk_calls = 10000;  // syscall loops are timed per chunk too
  int settle_ms = 1000;     // after churn, before the syscall loops
  // Containers alive at once, and how long each stays after its binds.
  // With the defaults every container has died before the next starts, so
  // the kernel hands each the same namespace inode and the collector sees
  // one namespace changing; a lifetime past the collector's settle time
  // (50 ms) makes it re-read each container as a node's real churn would.
  int concurrency = 1;
  int lifetime_ms = 0;
  // LABEL=ARGS: a tracer with these extra arguments (split at spaces).
  std::vector<std::string> tracers;
  // LABEL=CATEGORY/EVENT: no tracer, that tracefs event enabled instead.
  std::vector<std::string> ftrace_events;
  bool judge_target = true;
  // Untraced phases run first and not counted: under emulation (QEMU TCG)
  // the first run of each code path pays for translating it.
  int warmup_phases = 0;
};

// One way of running the traced phase of a round.
struct Config {
  std::string label;
  std::vector<std::string> tracer_args;  // appended to the common ones
  std::string ftrace_event;              // set: no tracer, this event enabled
};

const char* const kTracepointTierArgs = "--tier tracepoint";
const char* const kPassiveTierArgs = "--tier passive";

Result<Config> parse_config(const std::string& spec, bool ftrace) {
  const size_t eq = spec.find('=');
  if (eq == 0 || eq == std::string::npos)
    return Error{"'" + spec + "' is not LABEL=" + (ftrace ? "CATEGORY/EVENT" : "ARGS")};
  Config c;
  c.label = spec.substr(0, eq);
  const std::string rest = spec.substr(eq + 1);
  if (ftrace) {
    if (rest.find('/') == std::string::npos || rest.find("..") != std::string::npos)
      return Error{"'" + rest + "' is not CATEGORY/EVENT"};
    c.ftrace_event = rest;
    return c;
  }
  size_t pos = 0;
  while (pos < rest.size()) {
    const size_t end = rest.find(' ', pos);
    const std::string word = rest.substr(pos, end == std::string::npos ? end : end - pos);
    if (!word.empty()) c.tracer_args.push_back(word);
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  return c;
}

// Enables one tracefs event for as long as it lives. Any syscall event
// (syscalls/sys_enter_*) registers the kernel's sys_enter tracepoint, which
// is what puts every task's syscalls on the tracing slow path.
class FtraceEvent {
 public:
  static Result<std::unique_ptr<FtraceEvent>> enable(const std::string& event) {
    for (const char* root : {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"}) {
      const std::string path = std::string(root) + "/events/" + event + "/enable";
      if (access(path.c_str(), W_OK) != 0) continue;
      std::unique_ptr<FtraceEvent> e(new FtraceEvent(path));
      if (!e->write("1")) return Error::from_errno("enabling " + path);
      return e;
    }
    return Error{"no tracefs event " + event + " (is tracefs mounted?)"};
  }
  ~FtraceEvent() { write("0"); }
  FtraceEvent(const FtraceEvent&) = delete;
  FtraceEvent& operator=(const FtraceEvent&) = delete;

 private:
  explicit FtraceEvent(std::string path) : path_(std::move(path)) {}
  bool write(const char* value) const {
    std::ofstream out(path_);
    out << value << '\n';
    out.flush();
    return static_cast<bool>(out);
  }
  std::string path_;
};

// One workload's figures in one phase.
struct Phase {
  bool traced = false;  // a tracer ran (not the untraced phase, nor an ftrace event)
  double churn_us = 0;      // wall, per container
  double churn_cpu_us = 0;  // ours and the children's CPU, per container
  double getppid_ns = 0;    // wall, per call
  double write_ns = 0;
  double getppid_cpu_ns = 0;  // thread CPU, per call
  double write_cpu_ns = 0;
  double churn_p10_us = 0;      // the 10th-percentile container, wall
  double getppid_fast_ns = 0;   // the fastest chunk, wall, per call
  double write_fast_ns = 0;
  double tracer_cpu_churn = 0;     // seconds, churn + settle
  double tracer_cpu_syscalls = 0;  // seconds, both syscall loops
  int churn_failures = 0;
  nlohmann::json stats;  // the tracer's final stats
  nlohmann::json tiers;  // the ready event's {"<hook>": "<tier>"}
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
  double wall = 0;    // per unit, wall
  double cpu = 0;     // per unit, CPU
  double robust = 0;  // per unit, wall: churn's 10th percentile, a loop's fastest chunk
};

// Per container, in seconds.
Result<Timing> run_churn(const Options& o, const std::string& src,
                         const std::vector<std::string>& targets, int& failures) {
  std::vector<const char*> t;
  for (const auto& s : targets) t.push_back(s.c_str());
  const double cpu0 = rusage_seconds(RUSAGE_SELF) + rusage_seconds(RUSAGE_CHILDREN);
  const uint64_t start = monotonic_ns();
  std::deque<std::pair<pid_t, uint64_t>> alive;  // pid, forked at
  std::vector<double> each;                       // fork to reaped, seconds
  auto reap_oldest = [&] {
    int status = 0;
    while (waitpid(alive.front().first, &status, 0) < 0 && errno == EINTR) {
    }
    each.push_back(static_cast<double>(monotonic_ns() - alive.front().second) / 1e9);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ++failures;
    alive.pop_front();
  };
  for (int i = 0; i < o.containers; ++i) {
    if (static_cast<int>(alive.size()) >= o.concurrency) reap_oldest();
    const uint64_t forked = monotonic_ns();
    const pid_t pid = fork();
    if (pid < 0) return Error::from_errno("fork for a churn container");
    if (pid == 0) churn_child(src.c_str(), t, o.lifetime_ms);
    alive.emplace_back(pid, forked);
  }
  while (!alive.empty()) reap_oldest();
  Timing out;
  out.wall = static_cast<double>(monotonic_ns() - start) / 1e9 / o.containers;
  out.cpu = (rusage_seconds(RUSAGE_SELF) + rusage_seconds(RUSAGE_CHILDREN) - cpu0) / o.containers;
  out.robust = percentile(each, 10);
  return out;
}

// n calls in chunks of `chunk`; per call, in nanoseconds. A short last
// chunk does not compete for the fastest unless it is the only one.
template <typename Call>
Timing run_syscall_loop(long n, long chunk, Call call) {
  chunk = std::max(1L, chunk);
  double fastest = 0;
  const double cpu0 = thread_cpu_ns();
  const uint64_t start = monotonic_ns();
  for (long done = 0; done < n;) {
    const long k = std::min(chunk, n - done);
    const uint64_t chunk_start = monotonic_ns();
    for (long i = 0; i < k; ++i) call();
    const double per_call =
        static_cast<double>(monotonic_ns() - chunk_start) / static_cast<double>(k);
    if (k == chunk || done == 0) fastest = done == 0 ? per_call : std::min(fastest, per_call);
    done += k;
  }
  const auto wall = static_cast<double>(monotonic_ns() - start);
  return {wall / static_cast<double>(n), (thread_cpu_ns() - cpu0) / static_cast<double>(n),
          fastest};
}

Timing run_getppid(long n, long chunk) {
  return run_syscall_loop(n, chunk, [] { syscall(SYS_getppid); });
}

Timing run_write(long n, long chunk, int fd) {
  const char byte = 0;
  return run_syscall_loop(n, chunk, [&] { (void)!write(fd, &byte, 1); });
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

// config null: the untraced phase.
Result<Phase> run_phase(const Options& o, const ScratchDir& scratch,
                        const std::vector<std::string>& common_args, const Config* config) {
  Phase p;
  p.traced = config && config->ftrace_event.empty();
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
  std::unique_ptr<FtraceEvent> event;
  if (p.traced) {
    std::vector<std::string> args = common_args;
    args.insert(args.end(), config->tracer_args.begin(), config->tracer_args.end());
    auto t = TracerProcess::start(o.mountleak, args, 300000);
    if (!t) {
      close(devnull);
      return t.error();
    }
    tracer = std::move(*t);
    p.tiers = tracer->ready().value("tier", nlohmann::json::object());
  } else if (config) {
    auto e = FtraceEvent::enable(config->ftrace_event);
    if (!e) {
      close(devnull);
      return e.error();
    }
    event = std::move(*e);
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
  p.churn_p10_us = churn->robust * 1e6;
  idle(tracer.get(), o.settle_ms);
  p.tracer_cpu_churn = cpu() - c0;

  c0 = cpu();
  const Timing g = run_getppid(o.syscalls, o.chunk_calls);
  const Timing w = run_write(o.syscalls, o.chunk_calls, devnull);
  p.getppid_fast_ns = g.robust;
  p.write_fast_ns = w.robust;
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

// One configuration's figures over the rounds, each against the untraced
// phase of the same round.
struct ConfigFigures {
  Config config;
  Figure churn{"churn (wall)", "us/container", {}, {}, {}};
  Figure churn_cpu{"churn (CPU)", "us/container", {}, {}, {}};
  Figure churn_total{"churn+tracer CPU", "us/container", {}, {}, {}};
  Figure getppid{"getppid (CPU)", "ns/call", {}, {}, {}};
  Figure write{"write (CPU)", "ns/call", {}, {}, {}};
  Figure getppid_wall{"getppid (wall)", "ns/call", {}, {}, {}};
  Figure write_wall{"write (wall)", "ns/call", {}, {}, {}};
  Figure churn_p10{"churn (p10)", "us/container", {}, {}, {}};
  Figure getppid_fast{"getppid (fastest)", "ns/call", {}, {}, {}};
  Figure write_fast{"write (fastest)", "ns/call", {}, {}, {}};
  std::vector<double> tracer_cpu_per_container;
  nlohmann::json tiers;  // the first ready event's, for the record

  std::vector<const Figure*> all() const {
    return {&churn,        &churn_cpu,   &churn_total,  &getppid,   &write,
            &getppid_wall, &write_wall,  &churn_p10, &getppid_fast, &write_fast};
  }

  void add(const Phase& off, const Phase& on, int containers) {
    auto add_to = [](Figure& f, double a, double b) {
      f.off.push_back(a);
      f.on.push_back(b);
      f.ratios.push_back(a > 0 ? b / a : 0);
    };
    const double tracer_us = on.tracer_cpu_churn * 1e6 / containers;
    add_to(churn, off.churn_us, on.churn_us);
    add_to(churn_cpu, off.churn_cpu_us, on.churn_cpu_us);
    add_to(churn_total, off.churn_cpu_us, on.churn_cpu_us + tracer_us);
    add_to(getppid, off.getppid_cpu_ns, on.getppid_cpu_ns);
    add_to(write, off.write_cpu_ns, on.write_cpu_ns);
    add_to(getppid_wall, off.getppid_ns, on.getppid_ns);
    add_to(write_wall, off.write_ns, on.write_ns);
    add_to(churn_p10, off.churn_p10_us, on.churn_p10_us);
    add_to(getppid_fast, off.getppid_fast_ns, on.getppid_fast_ns);
    add_to(write_fast, off.write_fast_ns, on.write_fast_ns);
    tracer_cpu_per_container.push_back(tracer_us);
    if (tiers.is_null() && !on.tiers.empty()) tiers = on.tiers;
  }
};

// "kernel: mount, umount; tracepoint: setns" from {"<hook>": "<tier>"}.
std::string describe_tiers(const nlohmann::json& tiers) {
  if (!tiers.is_object() || tiers.empty()) return "no tiers reported";
  std::vector<std::pair<std::string, std::string>> groups;  // tier, hooks
  for (const auto& [hook, tier] : tiers.items()) {
    const std::string name = tier.is_string() ? tier.get<std::string>() : "NONE";
    auto it = std::find_if(groups.begin(), groups.end(),
                           [&](const auto& g) { return g.first == name; });
    if (it == groups.end()) {
      groups.emplace_back(name, hook);
    } else {
      it->second += ", " + hook;
    }
  }
  std::string out;
  for (const auto& [tier, hooks] : groups)
    out += (out.empty() ? "" : "; ") + tier + ": " + hooks;
  return out;
}

// Prints one configuration's table and ratios; returns them as JSON.
nlohmann::json summarize(const ConfigFigures& c, bool judge_target, bool& met) {
  // Three ratios: of the medians; the median of each round's own ratio
  // (the headline: load drifts, and a round's phases run back to back);
  // of the minimums (the least disturbed run of each).
  fmt::print("\n{:<18} {:>20} {:>20} {:>10} {:>10} {:>10}\n", "workload", "median off", "median on",
             "medians", "paired", "minimums");
  nlohmann::json figures = nlohmann::json::object();
  for (const Figure* f : c.all()) {
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
  const double churn_ratio = median(c.churn.ratios);
  const double churn_cpu_ratio = median(c.churn_cpu.ratios);
  const double churn_total_ratio = median(c.churn_total.ratios);
  // An ftrace event is a control, not the tracer: no target applies to it.
  const bool judged = judge_target && c.config.ftrace_event.empty();
  const bool config_met =
      churn_ratio <= kTargetChurnRatio && churn_cpu_ratio <= kTargetChurnRatio;
  if (judged && !config_met) met = false;
  fmt::print("tracer CPU per churn container (collector, median): {:.0f} us\n",
             median(c.tracer_cpu_per_container));
  fmt::print(
      "churn ratios (median of paired rounds): wall {:.3f}, CPU {:.3f}, CPU with the tracer's "
      "{:.3f} "
      "(target <= {:.2f} on wall and CPU: {})\n",
      churn_ratio, churn_cpu_ratio, churn_total_ratio, kTargetChurnRatio,
      judged ? (config_met ? "met" : "MISSED") : "not judged");
  fmt::print("syscall ratios (CPU, median of paired rounds): getppid {:.3f}, write {:.3f}\n",
             median(c.getppid.ratios), median(c.write.ratios));
  return {{"label", c.config.label},
          {"tracer_args", c.config.tracer_args},
          {"ftrace_event", c.config.ftrace_event},
          {"tiers", c.tiers},
          {"figures", figures},
          {"tracer_cpu_us_per_churn_container", median(c.tracer_cpu_per_container)},
          {"churn_ratio_wall", churn_ratio},
          {"churn_ratio_cpu", churn_cpu_ratio},
          {"churn_ratio_cpu_with_tracer", churn_total_ratio},
          {"getppid_ratio_cpu", median(c.getppid.ratios)},
          {"write_ratio_cpu", median(c.write.ratios)},
          {"getppid_ratio_wall", median(c.getppid_wall.ratios)},
          {"write_ratio_wall", median(c.write_wall.ratios)},
          {"churn_ratio_p10", median(c.churn_p10.ratios)},
          {"getppid_ratio_fastest", median(c.getppid_fast.ratios)},
          {"write_ratio_fastest", median(c.write_fast.ratios)},
          {"target_met", judged ? nlohmann::json(config_met) : nlohmann::json(nullptr)}};
}

// The configurations side by side: each one's paired-median ratios.
void print_side_by_side(const std::vector<ConfigFigures>& figs) {
  fmt::print("\nratio to no tracer (median of the rounds' paired ratios), side by side\n");
  fmt::print("{:<18}", "workload");
  for (const auto& c : figs) fmt::print(" {:>12}", c.config.label);
  fmt::print("\n");
  for (size_t i = 0; i < figs.front().all().size(); ++i) {
    fmt::print("{:<18}", figs.front().all()[i]->name);
    for (const auto& c : figs) fmt::print(" {:>12.3f}", median(c.all()[i]->ratios));
    fmt::print("\n");
  }
  for (const auto& c : figs) {
    if (!c.config.ftrace_event.empty()) {
      fmt::print("{}: no tracer; tracefs event {} enabled\n", c.config.label, c.config.ftrace_event);
    } else if (c.config.tracer_args.empty()) {
      fmt::print("{}: tracer on its own choice; tiers: {}\n", c.config.label, describe_tiers(c.tiers));
    } else {
      fmt::print("{}: tracer with '{}'; tiers: {}\n", c.config.label,
                 fmt::join(c.config.tracer_args, " "), describe_tiers(c.tiers));
    }
  }
}

int run(const Options& o) {
  std::vector<Config> configs;
  for (const auto& spec : o.tracers) {
    auto c = parse_config(spec, false);
    if (!c) {
      fmt::print(stderr, "trace_overhead: --tracer {}\n", c.error().message);
      return 2;
    }
    configs.push_back(*c);
  }
  for (const auto& spec : o.ftrace_events) {
    auto c = parse_config(spec, true);
    if (!c) {
      fmt::print(stderr, "trace_overhead: --ftrace-event {}\n", c.error().message);
      return 2;
    }
    configs.push_back(*c);
  }
  if (configs.empty()) configs.push_back(Config{"attached", {}, ""});
  for (size_t i = 0; i < configs.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (configs[i].label == configs[j].label || configs[i].label == "none") {
        fmt::print(stderr, "trace_overhead: configuration label '{}' used twice (or 'none')\n",
                   configs[i].label);
        return 2;
      }

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
  const size_t n = configs.size();
  std::string phase_names = "none";
  size_t label_width = 8;
  for (const auto& c : configs) {
    phase_names += ", " + c.label;
    label_width = std::max(label_width, c.label.size());
  }
  fmt::print(
      "mountleak trace overhead: {} rounds ({}), churn {} containers x {} binds ({} at once, "
      "living {} ms), {} calls per syscall loop, {} CPUs, load average {:.2f} {:.2f} {:.2f}\n",
      o.rounds, n == 1 ? "ABBA" : "phases " + phase_names + ", order rotated each round",
      o.containers, o.binds, o.concurrency, o.lifetime_ms, o.syscalls,
      std::thread::hardware_concurrency(), load_before.one, load_before.five, load_before.fifteen);
  // Each column: wall / CPU / robust (see the top of this file).
  fmt::print("{:<6} {:<{}} {:>24} {:>22} {:>22} {:>13}\n", "round", "tracer", label_width,
             "churn us wall/cpu/p10", "getppid ns wall/cpu/min", "write ns wall/cpu/min",
             "tracer CPU s");

  for (int w = 0; w < o.warmup_phases; ++w) {
    auto p = run_phase(o, *scratch, tracer_args, nullptr);
    if (!p) {
      fmt::print(stderr, "trace_overhead: warm-up: {}\n", p.error().message);
      return 2;
    }
    fmt::print("{:<6} {:<{}} {:>24} {:>22} {:>22} {:>13}  (warm-up, not counted)\n", "-", "none",
               label_width, fmt::format("{:.0f}/{:.0f}/{:.0f}", p->churn_us, p->churn_cpu_us, p->churn_p10_us),
               fmt::format("{:.0f}/{:.0f}/{:.0f}", p->getppid_ns, p->getppid_cpu_ns, p->getppid_fast_ns),
               fmt::format("{:.0f}/{:.0f}/{:.0f}", p->write_ns, p->write_cpu_ns, p->write_fast_ns), "-");
  }
  std::vector<ConfigFigures> figs(n);
  for (size_t i = 0; i < n; ++i) figs[i].config = configs[i];
  nlohmann::json rounds_json = nlohmann::json::array();
  for (int round = 0; round < o.rounds; ++round) {
    // Phase 0 is untraced, phase i runs configs[i - 1]; rotating the order
    // each round gives every phase every position (ABBA when n is 1).
    std::vector<Phase> phases(n + 1);
    for (size_t k = 0; k <= n; ++k) {
      const size_t index = (k + static_cast<size_t>(round)) % (n + 1);
      const Config* config = index == 0 ? nullptr : &configs[index - 1];
      const std::string label = config ? config->label : "none";
      auto p = run_phase(o, *scratch, tracer_args, config);
      if (!p) {
        fmt::print(stderr, "trace_overhead: round {}, {}: {}\n", round + 1, label,
                   p.error().message);
        return 2;
      }
      const bool traced = p->traced;
      const std::string counters =
          traced ? fmt::format("  events {} reconciles {} gone {}", p->stats.value("events", 0ull),
                               p->stats.value("reconciles", 0ull),
                               p->stats.value("namespaces_gone", 0ull))
                 : "";
      fmt::print(
          "{:<6} {:<{}} {:>24} {:>22} {:>22} {:>13}{}{}\n", round + 1,
          n == 1 ? (traced ? "attached" : "none") : label, label_width,
          fmt::format("{:.0f}/{:.0f}/{:.0f}", p->churn_us, p->churn_cpu_us, p->churn_p10_us),
          fmt::format("{:.0f}/{:.0f}/{:.0f}", p->getppid_ns, p->getppid_cpu_ns, p->getppid_fast_ns),
          fmt::format("{:.0f}/{:.0f}/{:.0f}", p->write_ns, p->write_cpu_ns, p->write_fast_ns),
          traced ? fmt::format("{:.2f}+{:.2f}", p->tracer_cpu_churn, p->tracer_cpu_syscalls) : "-",
          counters,
          p->churn_failures ? fmt::format("  ({} churn containers failed)", p->churn_failures)
                            : "");
      std::fflush(stdout);
      rounds_json.push_back({{"round", round + 1},
                             {"config", label},
                             {"traced", traced},
                             {"churn_us_per_container", p->churn_us},
                             {"churn_cpu_us_per_container", p->churn_cpu_us},
                             {"getppid_ns", p->getppid_ns},
                             {"getppid_cpu_ns", p->getppid_cpu_ns},
                             {"write_ns", p->write_ns},
                             {"write_cpu_ns", p->write_cpu_ns},
                             {"churn_p10_us", p->churn_p10_us},
                             {"getppid_fastest_ns", p->getppid_fast_ns},
                             {"write_fastest_ns", p->write_fast_ns},
                             {"tracer_cpu_churn_s", p->tracer_cpu_churn},
                             {"tracer_cpu_syscalls_s", p->tracer_cpu_syscalls},
                             {"churn_failures", p->churn_failures},
                             {"tracer_counters", p->stats},
                             {"tiers", p->tiers}});
      phases[index] = std::move(*p);
    }
    for (size_t i = 0; i < n; ++i) figs[i].add(phases[0], phases[i + 1], o.containers);
  }

  const LoadAverage load_after = load_average();
  bool met = true;
  nlohmann::json config_summaries = nlohmann::json::array();
  for (const auto& c : figs) {
    if (n > 1) fmt::print("\n== {}", c.config.label);
    config_summaries.push_back(summarize(c, o.judge_target, met));
  }
  if (n > 1) print_side_by_side(figs);
  fmt::print("load average after: {:.2f} {:.2f} {:.2f}\n", load_after.one, load_after.five,
             load_after.fifteen);

  if (node) {
    node->teardown();
    for (const auto& e : node->teardown_errors())
      fmt::print(stderr, "trace_overhead: teardown: {}\n", e);
  }
  // The top-level figures and ratios are the first configuration's, as
  // they were when there was only one; "configs" holds every one's.
  const nlohmann::json& first = config_summaries.front();
  nlohmann::json summary = {
      {"bench", "trace_overhead"},
      {"synthetic_node", o.synthetic_node},
      {"concurrency", o.concurrency},
      {"lifetime_ms", o.lifetime_ms},
      {"rounds", o.rounds},
      {"containers", o.containers},
      {"binds", o.binds},
      {"syscalls", o.syscalls},
      {"chunk_calls", o.chunk_calls},
      {"settle_ms", o.settle_ms},
      {"warmup_phases", o.warmup_phases},
      {"cpus", std::thread::hardware_concurrency()},
      {"load_average_before", {load_before.one, load_before.five, load_before.fifteen}},
      {"load_average_after", {load_after.one, load_after.five, load_after.fifteen}},
      {"figures", first["figures"]},
      {"tracer_cpu_us_per_churn_container", first["tracer_cpu_us_per_churn_container"]},
      {"churn_ratio_wall", first["churn_ratio_wall"]},
      {"churn_ratio_cpu", first["churn_ratio_cpu"]},
      {"churn_ratio_cpu_with_tracer", first["churn_ratio_cpu_with_tracer"]},
      {"getppid_ratio_cpu", first["getppid_ratio_cpu"]},
      {"write_ratio_cpu", first["write_ratio_cpu"]},
      {"getppid_ratio_wall", first["getppid_ratio_wall"]},
      {"write_ratio_wall", first["write_ratio_wall"]},
      {"target_churn_ratio", kTargetChurnRatio},
      {"target_judged", o.judge_target},
      {"target_met", met},
      {"configs", config_summaries},
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
      "tracer (or several configurations of it, side by side)"};
  app.add_option("--mountleak", o.mountleak, "The mountleak binary")->capture_default_str();
  app.add_option("--rounds", o.rounds, "ABBA rounds (each: one phase without, one with the tracer)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100));
  app.add_option("--containers", o.containers, "Churn containers per phase")->capture_default_str();
  app.add_option("--binds", o.binds, "Bind mounts per churn container")->capture_default_str();
  app.add_option("--syscalls", o.syscalls, "Calls per syscall loop")->capture_default_str();
  app.add_option("--chunk-calls", o.chunk_calls,
                 "Calls per chunk of a syscall loop (its fastest chunk is the robust figure)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
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
  app.add_option("--tracer", o.tracers,
                 "LABEL=ARGS: a traced phase running the tracer with these extra arguments "
                 "(split at spaces); repeat to compare configurations side by side "
                 "[default: one, 'attached', with none]");
  bool tiers = false;
  app.add_flag("--tiers", tiers,
               fmt::format("The tracer on its own choice of tiers ('auto'), on the tracepoint tier "
                           "('tracepoint': {}) and on the passive tier ('passive': {}), side by side; "
                           "before any --tracer",
                           mountleak::bench::kTracepointTierArgs, mountleak::bench::kPassiveTierArgs));
  app.add_option("--ftrace-event", o.ftrace_events,
                 "LABEL=CATEGORY/EVENT: a phase with no tracer but this tracefs event enabled "
                 "(a control, e.g. syscalls/sys_enter_setns)");
  app.add_option("--warmup-phases", o.warmup_phases,
                 "Untraced phases to run first and not count (under emulation the first run of "
                 "each code path pays for translating it)")
      ->capture_default_str();
  bool no_target = false;
  app.add_flag("--no-target", no_target,
               "Judge no target: exit 0 unless the benchmark fails (e.g. under emulation, "
               "where time is not real time)");
  CLI11_PARSE(app, argc, argv);
  o.judge_target = !no_target;
  if (tiers)
    o.tracers.insert(o.tracers.begin(),
                     {"auto=", std::string("tracepoint=") + mountleak::bench::kTracepointTierArgs,
                      std::string("passive=") + mountleak::bench::kPassiveTierArgs});
  setvbuf(stdout, nullptr, _IOLBF, 0);  // progress shows through a pipe too
  return mountleak::bench::run(o);
}
