// SPDX-License-Identifier: Apache-2.0
// Event throughput of `mountleak trace`: the highest mount/umount rate the
// collector keeps up with, without loss.
//
// A storm is K worker processes, each in a mount namespace of its own,
// each making pairs of mount events; every mount(2) and umount2(2) is one
// event. Two kinds of pair:
//   bind   mount --bind of a tmpfs directory, then umount2 of it: what a
//          container runtime does, but each umount2 waits for an RCU grace
//          period (namespace_unlock -> synchronize_rcu_expedited), so this
//          machine cannot generate more than a few 10,000 events/s of it;
//   flip   two propagation changes (MS_SHARED, MS_PRIVATE) on a bind mount,
//          as runc makes mounts private or slave: mount(2) events taken by
//          the same BPF programs, with the same three strings read, but no
//          grace period, so the ramp can go past the collector's limit.
// Workers pace themselves to a target rate (absolute deadlines, so a late
// start is caught up), or run flat out.
// Each step starts a fresh tracer (default ring buffer, or each size
// --ringbuf-kb lists), storms for a few seconds, waits briefly, and stops
// the tracer with SIGINT; the step lost events if the tracer printed
// {"event":"lost"} or its final stats count kernel_dropped_ringbuf. The
// ramp goes up, per ring size, until loss has been seen twice or the
// workers cannot reach the target any more. Side by side, in the same
// invocation: each kind of storm flat out without a tracer (what this
// machine can generate at all) and flat out with one per ring size, in an
// order rotated each round.
//
// Needs root: run it through scripts/bench_trace.sh.

#include <fmt/core.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "trace_bench_util.h"
#include "trace_tracer_process.h"

namespace mountleak::bench {

namespace {

constexpr double kTargetEventsPerSecond = 50000;

enum class StormKind { kBind, kFlip };

const char* storm_name(StormKind k) { return k == StormKind::kBind ? "bind" : "flip"; }

struct Options {
  std::string mountleak = MOUNTLEAK_BINARY;
  std::vector<double> rates = {10000, 20000, 30000,  40000,  50000,
                               60000, 80000, 100000, 125000, 150000};
  double step_seconds = 5;
  int workers = 2;
  std::vector<int> ringbuf_kbs = {0};  // compared side by side; 0: the tracer's default
  StormKind ramp_kind = StormKind::kFlip;
  int flat_out_rounds = 2;  // alternating untraced/traced flat-out runs per kind
};

// One per worker, in memory shared with the parent.
struct WorkerSlot {
  std::atomic<uint64_t> pairs{0};
  std::atomic<uint64_t> failures{0};
  std::atomic<int> last_errno{0};
  std::atomic<uint64_t> start_ns{0};
  std::atomic<uint64_t> end_ns{0};
};

struct StormResult {
  uint64_t events = 0;  // mount + umount calls that succeeded
  uint64_t failures = 0;
  int last_errno = 0;
  double seconds = 0;  // first worker's start to last worker's end
  double rate() const { return seconds > 0 ? static_cast<double>(events) / seconds : 0; }
};

struct Step {
  std::string label;
  StormKind kind = StormKind::kBind;
  double target = 0;  // events/s; 0 = flat out
  bool traced = false;
  int ringbuf_kb = 0;  // traced steps; 0: the tracer's default
  StormResult storm;
  uint64_t kernel_emitted = 0;
  uint64_t dropped = 0;     // kernel_dropped_ringbuf
  uint64_t lost_lines = 0;  // sum of "count" over lost lines
  uint64_t collector_events = 0;
  double tracer_cpu = 0;        // seconds, whole tracer lifetime
  double tracer_cpu_storm = 0;  // seconds, during the storm
  long tracer_maxrss_kib = 0;
  bool loss() const { return dropped > 0 || lost_lines > 0; }
};

// One pair of events; false (errno set) when a call failed.
bool storm_pair(StormKind kind, const char* src, const char* dst) {
  if (kind == StormKind::kBind)
    return mount(src, dst, nullptr, MS_BIND, nullptr) == 0 && umount2(dst, 0) == 0;
  // Source and type are ignored by the kernel for propagation changes, but
  // passed so that the BPF side reads as many strings as for a bind.
  return mount("none", dst, "none", MS_SHARED, nullptr) == 0 &&
         mount("none", dst, "none", MS_PRIVATE, nullptr) == 0;
}

[[noreturn]] void worker_main(StormKind kind, const std::string& src, const std::string& dst,
                              double pairs_per_second, double seconds, WorkerSlot* slot,
                              int ready_fd, int start_fd) {
  if (unshare(CLONE_NEWNS) != 0 ||
      mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
      (kind == StormKind::kFlip &&
       mount(src.c_str(), dst.c_str(), nullptr, MS_BIND, nullptr) != 0)) {
    slot->last_errno = errno;
    _exit(2);
  }
  char c = 'r';
  if (write(ready_fd, &c, 1) != 1) _exit(3);
  close(ready_fd);
  (void)!read(start_fd, &c, 1);  // returns 0 when the parent closes it: go
  const uint64_t start = monotonic_ns();
  const uint64_t end = start + static_cast<uint64_t>(seconds * 1e9);
  slot->start_ns = start;
  uint64_t done = 0, failures = 0;
  for (;;) {
    const uint64_t now = monotonic_ns();
    if (now >= end) break;
    if (pairs_per_second > 0) {
      const auto due =
          static_cast<uint64_t>(static_cast<double>(now - start) * pairs_per_second / 1e9) + 1;
      if (done >= due) {
        const uint64_t next =
            start + static_cast<uint64_t>(static_cast<double>(done) * 1e9 / pairs_per_second);
        timespec ts{static_cast<time_t>(next / 1000000000ull),
                    static_cast<long>(next % 1000000000ull)};
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
        continue;
      }
    }
    if (!storm_pair(kind, src.c_str(), dst.c_str())) {
      ++failures;
      slot->last_errno = errno;
    }
    ++done;
    if ((done & 255) == 0) slot->pairs = done;
  }
  slot->pairs = done;
  slot->failures = failures;
  slot->end_ns = monotonic_ns();
  _exit(0);
}

// Runs one storm; while it runs, keeps reading the tracer's output (if
// any) so that it never blocks on a full pipe, and counts lost lines.
Result<StormResult> run_storm(const ScratchDir& scratch, const Options& o, StormKind kind,
                              double target, TracerProcess* tracer, uint64_t& lost_lines) {
  auto src = scratch.make_dir("src");
  if (!src) return src.error();
  void* mem = mmap(nullptr, sizeof(WorkerSlot) * static_cast<size_t>(o.workers),
                   PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return Error::from_errno("mmap for worker counters");
  auto* slots = new (mem) WorkerSlot[o.workers];
  int ready[2], start[2];
  if (pipe2(ready, O_CLOEXEC) != 0 || pipe2(start, O_CLOEXEC) != 0)
    return Error::from_errno("pipe");
  std::vector<pid_t> pids;
  for (int i = 0; i < o.workers; ++i) {
    auto dst = scratch.make_dir("dst" + std::to_string(i));
    if (!dst) return dst.error();
    const pid_t pid = fork();
    if (pid < 0) return Error::from_errno("fork for a storm worker");
    if (pid == 0) {
      close(ready[0]);
      close(start[1]);
      worker_main(kind, *src, *dst, target / 2 / o.workers, o.step_seconds, &slots[i], ready[1],
                  start[0]);
    }
    pids.push_back(pid);
  }
  close(ready[1]);
  close(start[0]);
  char c;
  int ready_count = 0;
  while (ready_count < o.workers && read(ready[0], &c, 1) == 1) ++ready_count;
  close(ready[0]);
  close(start[1]);  // go
  size_t running = pids.size();
  std::vector<int> codes;
  while (running > 0) {
    int status = 0;
    const pid_t done = waitpid(-1, &status, WNOHANG);
    if (done > 0) {
      --running;
      codes.push_back(WIFEXITED(status) ? WEXITSTATUS(status) : -1);
      continue;
    }
    if (tracer) {
      if (auto line = tracer->next_line(20); line && line->json.value("event", "") == "lost")
        lost_lines += line->json.value("count", 0ull);
    } else {
      usleep(20000);
    }
  }
  StormResult r;
  uint64_t first = UINT64_MAX, last = 0;
  for (int i = 0; i < o.workers; ++i) {
    r.events += 2 * (slots[i].pairs - slots[i].failures);  // a failed pair may have made one event
    r.failures += slots[i].failures;
    if (slots[i].last_errno) r.last_errno = slots[i].last_errno;
    if (slots[i].start_ns) first = std::min<uint64_t>(first, slots[i].start_ns);
    last = std::max<uint64_t>(last, slots[i].end_ns);
  }
  munmap(mem, sizeof(WorkerSlot) * static_cast<size_t>(o.workers));
  for (int code : codes)
    if (code != 0) return Error{"a storm worker failed (exit " + std::to_string(code) + ")"};
  if (ready_count < o.workers) return Error{"storm workers did not start"};
  r.seconds = last > first ? static_cast<double>(last - first) / 1e9 : 0;
  return r;
}

Result<Step> run_step(const ScratchDir& scratch, const Options& o, const std::string& label,
                      StormKind kind, double target, bool traced, int ringbuf_kb) {
  Step s;
  s.label = label;
  s.kind = kind;
  s.target = target;
  s.traced = traced;
  s.ringbuf_kb = ringbuf_kb;
  std::unique_ptr<TracerProcess> tracer;
  if (traced) {
    auto args = bare_node_args(scratch);
    if (ringbuf_kb > 0) args.insert(args.end(), {"--ringbuf-kb", std::to_string(ringbuf_kb)});
    auto t = TracerProcess::start(o.mountleak, args);
    if (!t) return t.error();
    tracer = std::move(*t);
  }
  const double cpu_before = tracer ? tracer->cpu_seconds() : 0;
  auto storm = run_storm(scratch, o, kind, target, tracer.get(), s.lost_lines);
  if (!storm) return storm.error();
  s.storm = *storm;
  if (!tracer) return s;
  s.tracer_cpu_storm = tracer->cpu_seconds() - cpu_before;
  // Give the collector a moment with the backlog before stopping it: loss
  // happens in the kernel when the ring is full, not at shutdown.
  for (auto end = monotonic_ns() + 300000000ull; monotonic_ns() < end;)
    if (auto line = tracer->next_line(50); line && line->json.value("event", "") == "lost")
      s.lost_lines += line->json.value("count", 0ull);
  TracerExit exit = tracer->stop();
  for (const auto& line : exit.late_lines)
    if (line.json.value("event", "") == "lost") s.lost_lines += line.json.value("count", 0ull);
  if (exit.stats.is_null()) return Error{"the tracer printed no stats: " + exit.stderr_text};
  const auto& c = exit.stats["counters"];
  s.kernel_emitted = c.value("kernel_emitted", 0ull);
  s.dropped = c.value("kernel_dropped_ringbuf", 0ull);
  s.collector_events = c.value("events", 0ull);
  s.tracer_cpu = exit.cpu_seconds;
  s.tracer_maxrss_kib = exit.maxrss_kib;
  return s;
}

nlohmann::json step_json(const Step& s) {
  return {{"label", s.label},
          {"storm", storm_name(s.kind)},
          {"target_events_per_s", s.target},
          {"traced", s.traced},
          {"ringbuf_kb", s.traced && s.ringbuf_kb > 0 ? nlohmann::json(s.ringbuf_kb) : nlohmann::json(nullptr)},
          {"storm_events", s.storm.events},
          {"storm_seconds", s.storm.seconds},
          {"events_per_s", s.storm.rate()},
          {"storm_failures", s.storm.failures},
          {"kernel_emitted", s.kernel_emitted},
          {"kernel_dropped_ringbuf", s.dropped},
          {"lost_reported", s.lost_lines},
          {"collector_events", s.collector_events},
          {"tracer_cpu_s", s.tracer_cpu},
          {"tracer_cpu_storm_s", s.tracer_cpu_storm},
          {"tracer_maxrss_kib", s.tracer_maxrss_kib},
          {"loss", s.loss()}};
}

void print_row(const Step& s) {
  const std::string target = s.target > 0 ? fmt::format("{:.0f}", s.target) : "flat out";
  if (!s.traced) {
    fmt::print("{:<28} {:>5} {:>9} {:>11.0f} {:>6} {:>8} {:>9} {:>9} {:>8}\n", s.label,
               storm_name(s.kind), target, s.storm.rate(), "-", "-", "-", "-", "-");
  } else {
    const double us_per_event =
        s.storm.events ? s.tracer_cpu_storm * 1e6 / static_cast<double>(s.storm.events) : 0;
    fmt::print("{:<28} {:>5} {:>9} {:>11.0f} {:>6} {:>8} {:>9} {:>8.0f}% {:>8.2f}\n", s.label,
               storm_name(s.kind), target, s.storm.rate(), s.loss() ? "LOSS" : "none", s.dropped,
               s.kernel_emitted,
               s.storm.seconds > 0 ? 100 * s.tracer_cpu_storm / s.storm.seconds : 0, us_per_event);
  }
  if (s.storm.failures)
    fmt::print("    ({} pairs failed, last errno {})\n", s.storm.failures, s.storm.last_errno);
}

int run(const Options& o) {
  if (auto entered = enter_bench_namespace("trace_throughput"); !entered) {
    fmt::print(stderr, "trace_throughput: {}\n", entered.error().message);
    return 2;
  }
  auto scratch = ScratchDir::create("mountleak-bench-throughput");
  if (!scratch) {
    fmt::print(stderr, "trace_throughput: {}\n", scratch.error().message);
    return 2;
  }
  const LoadAverage load_before = load_average();
  fmt::print(
      "mountleak trace event throughput: {} storm workers, {:.0f} s steps, {} CPUs, load average "
      "{:.2f} "
      "{:.2f} {:.2f}\n",
      o.workers, o.step_seconds, std::thread::hardware_concurrency(), load_before.one,
      load_before.five, load_before.fifteen);
  fmt::print("{:<28} {:>5} {:>9} {:>11} {:>6} {:>8} {:>9} {:>9} {:>8}\n", "step", "storm",
             "target/s", "achieved/s", "loss", "dropped", "emitted", "tracerCPU", "us/event");

  std::vector<Step> steps;
  auto step = [&](const std::string& label, StormKind kind, double target, bool traced,
                  int ringbuf_kb) -> std::optional<Step> {
    auto s = run_step(*scratch, o, label, kind, target, traced, ringbuf_kb);
    if (!s) {
      fmt::print(stderr, "trace_throughput: step {}: {}\n", label, s.error().message);
      return std::nullopt;
    }
    print_row(*s);
    std::fflush(stdout);
    steps.push_back(*s);
    return *s;
  };
  const bool compare_rings = o.ringbuf_kbs.size() > 1;
  auto ring_name = [](int kb) {
    if (kb <= 0) return std::string("default ring");
    return kb % 1024 == 0 ? fmt::format("{} MiB ring", kb / 1024) : fmt::format("{} KiB ring", kb);
  };
  auto traced_label = [&](const std::string& what, int kb) {
    return compare_rings ? fmt::format("{}, {}", what, ring_name(kb)) : what;
  };

  // Flat out, untraced and traced with each ring, the order rotated each
  // round, for each kind.
  struct FlatOut {
    std::vector<double> untraced;
    std::map<int, std::vector<double>> traced;  // by ring size
  };
  std::map<StormKind, FlatOut> flat;
  const size_t phases = o.ringbuf_kbs.size() + 1;  // phase 0: no tracer
  for (StormKind kind : {StormKind::kBind, StormKind::kFlip}) {
    for (int round = 0; round < o.flat_out_rounds; ++round) {
      for (size_t i = 0; i < phases; ++i) {
        const size_t phase = (i + static_cast<size_t>(round)) % phases;
        const bool traced = phase > 0;
        const int kb = traced ? o.ringbuf_kbs[phase - 1] : 0;
        auto s = step(traced ? traced_label("flat out, traced", kb) : "flat out, no tracer", kind,
                      0, traced, kb);
        if (!s) return 2;
        (traced ? flat[kind].traced[kb] : flat[kind].untraced).push_back(s->storm.rate());
      }
    }
  }

  // The ramp, each rate with each ring still going.
  std::map<int, int> loss_steps;
  std::map<int, bool> ramp_done;
  for (double rate : o.rates) {
    for (int kb : o.ringbuf_kbs) {
      if (ramp_done[kb]) continue;
      auto s = step(traced_label(fmt::format("ramp {:.0f}k", rate / 1000), kb), o.ramp_kind, rate,
                    true, kb);
      if (!s) return 2;
      if (s->loss() && ++loss_steps[kb] >= 2) ramp_done[kb] = true;
      if (s->storm.rate() < 0.9 * rate) ramp_done[kb] = true;  // the workers cannot go faster
    }
  }

  struct RingSummary {
    double best_clean = 0, loss_at = 0;
  };
  std::map<int, RingSummary> rings;
  for (const auto& s : steps) {
    if (!s.traced) continue;
    auto& r = rings[s.ringbuf_kb];
    if (!s.loss()) r.best_clean = std::max(r.best_clean, s.storm.rate());
    if (s.loss() && (r.loss_at == 0 || s.storm.rate() < r.loss_at)) r.loss_at = s.storm.rate();
  }
  const LoadAverage load_after = load_average();
  // The first ring listed is judged (the tracer's default unless asked).
  const RingSummary first = rings[o.ringbuf_kbs.front()];
  const double best_clean = first.best_clean, loss_at = first.loss_at;
  const bool met = best_clean >= kTargetEventsPerSecond;
  fmt::print("\n");
  nlohmann::json flat_json = nlohmann::json::object();
  for (const auto& [kind, f] : flat) {
    const double u = median(f.untraced);
    for (int kb : o.ringbuf_kbs) {
      const double t = median(f.traced.at(kb));
      fmt::print("{} storm flat out (median): {:.0f} events/s without a tracer, {:.0f} with{} "
                 "({:.2f}x)\n",
                 storm_name(kind), u, t, compare_rings ? " a " + ring_name(kb) : "",
                 u > 0 ? t / u : 0);
    }
    flat_json[storm_name(kind)] = {{"untraced_events_per_s", u},
                                   {"traced_events_per_s", median(f.traced.at(o.ringbuf_kbs.front()))}};
  }
  nlohmann::json rings_json = nlohmann::json::array();
  for (int kb : o.ringbuf_kbs) {
    const RingSummary& r = rings[kb];
    const std::string with = compare_rings ? fmt::format(" ({})", ring_name(kb)) : "";
    fmt::print("highest rate without loss{}: {:.0f} events/s (target >= {:.0f}: {})\n", with,
               r.best_clean, kTargetEventsPerSecond,
               r.best_clean >= kTargetEventsPerSecond ? "met" : "MISSED");
    if (r.loss_at > 0)
      fmt::print("lowest rate with loss{}: {:.0f} events/s\n", with, r.loss_at);
    else
      fmt::print("no loss at any rate{}: the storm saturated this machine before the collector\n",
                 with);
    nlohmann::json flat_traced = nlohmann::json::object();
    for (const auto& [kind, f] : flat) flat_traced[storm_name(kind)] = median(f.traced.at(kb));
    rings_json.push_back(
        {{"ringbuf_kb", kb > 0 ? nlohmann::json(kb) : nlohmann::json(nullptr)},
         {"max_zero_loss_events_per_s", r.best_clean},
         {"loss_begins_events_per_s", r.loss_at > 0 ? nlohmann::json(r.loss_at) : nlohmann::json(nullptr)},
         {"flat_out_traced_events_per_s", flat_traced}});
  }
  fmt::print("load average after: {:.2f} {:.2f} {:.2f}\n", load_after.one, load_after.five,
             load_after.fifteen);

  nlohmann::json steps_json = nlohmann::json::array();
  for (const auto& s : steps) steps_json.push_back(step_json(s));
  nlohmann::json summary = {
      {"bench", "trace_throughput"},
      {"workers", o.workers},
      {"step_seconds", o.step_seconds},
      {"ramp_storm", storm_name(o.ramp_kind)},
      {"cpus", std::thread::hardware_concurrency()},
      {"load_average_before", {load_before.one, load_before.five, load_before.fifteen}},
      {"load_average_after", {load_after.one, load_after.five, load_after.fifteen}},
      {"flat_out", flat_json},
      {"max_zero_loss_events_per_s", best_clean},
      {"loss_begins_events_per_s", loss_at > 0 ? nlohmann::json(loss_at) : nlohmann::json(nullptr)},
      {"target_events_per_s", kTargetEventsPerSecond},
      {"target_met", met},
      {"rings", rings_json},
      {"steps", steps_json}};
  fmt::print("{}\n", summary.dump());
  return met ? 0 : 1;
}

}  // namespace

}  // namespace mountleak::bench

int main(int argc, char** argv) {
  mountleak::bench::Options o;
  CLI::App app{"mountleak trace: event throughput without loss (mount/umount storm ramp)"};
  app.add_option("--mountleak", o.mountleak, "The mountleak binary")->capture_default_str();
  app.add_option("--rates", o.rates, "Ramp of target rates, events/s")->delimiter(',');
  app.add_option("--step-seconds", o.step_seconds, "Storm length per step")->capture_default_str();
  app.add_option("--workers", o.workers, "Storm worker processes")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  app.add_option("--ringbuf-kb", o.ringbuf_kbs,
                 "Tracer ring buffer sizes in KiB, compared side by side (default: the tracer's "
                 "own); the first is judged")
      ->delimiter(',');
  app.add_option("--ramp-storm", o.ramp_kind, "Storm kind of the ramp: flip or bind")
      ->transform(CLI::CheckedTransformer(std::map<std::string, mountleak::bench::StormKind>{
          {"bind", mountleak::bench::StormKind::kBind},
          {"flip", mountleak::bench::StormKind::kFlip}}));
  app.add_option("--flat-out-rounds", o.flat_out_rounds,
                 "Untraced/traced flat-out pairs per storm kind")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  setvbuf(stdout, nullptr, _IOLBF, 0);  // progress shows through a pipe too
  return mountleak::bench::run(o);
}
