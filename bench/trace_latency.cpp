// SPDX-License-Identifier: Apache-2.0
// Attribution latency and peak memory of `mountleak trace` on the synthetic
// node (synthetic_node.h: 200 containers of ~500 mounts, 2,000 processes,
// loop-device "rbd" mounts leaked into log-collector containers).
//
// With the real tracer running, the benchmark makes EBUSY failures that name
// a leaked device, one at a time, alternating two sources:
//   open_excl  open(/dev/loopN, O_RDONLY|O_EXCL) from the host namespace:
//              the containers' copies keep the device's filesystem mounted;
//   umount     umount2(mountpoint) of a container's copy, by a helper that
//              setns'd into that container and sits in the mount (its cwd),
//              as a kubelet's cleanup inside a busy namespace would fail.
// Each failure must produce one {"event":"busy"} line naming the holders.
// Two latencies per line, side by side:
//   tracer     the line's own latency_us: monotonic time when the collector
//              wrote it minus the kernel timestamp taken at the failing
//              syscall's return (what the target is about);
//   observed   when this benchmark read the line from the pipe minus when
//              the failing syscall returned to the caller (what a consumer
//              of the stream sees).
// Then the tracer's peak RSS (VmHWM before stopping it, and wait4's
// ru_maxrss). Needs root: run it through scripts/bench_trace.sh.

#include <fcntl.h>
#include <fmt/core.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cctype>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "model/mountinfo.h"
#include "sources/procfs.h"
#include "synthetic_node.h"
#include "trace_bench_util.h"
#include "trace_tracer_process.h"

namespace mountleak::bench {

namespace {

constexpr double kTargetP99Ms = 10.0;
constexpr double kTargetRssMiB = 64.0;

struct Options {
  std::string mountleak = MOUNTLEAK_BINARY;
  int triggers = 200;  // per source
  int gap_ms = 20;     // mean pause between failures (jittered +-50%)
  int line_timeout_ms = 5000;
  SyntheticNodeOptions node;
  std::vector<std::string> tracer_args;  // appended to the node's
};

// What one failing syscall looked like from both ends.
struct Sample {
  int index = 0;
  double at_s = 0;  // since the first failure
  std::string source;
  double tracer_us = 0;
  double observed_us = 0;
  bool holders_ok = false;
};

// A process in a container's mount namespace whose cwd is inside the
// container's copy of a leaked device; on request it tries umount2 on it.
class UmountHelper {
 public:
  struct Reply {
    uint64_t returned_ns;
    int err;  // errno, 0 if the umount succeeded
  };

  static Result<std::unique_ptr<UmountHelper>> start(pid_t container_pid,
                                                     const std::string& mountpoint) {
    std::unique_ptr<UmountHelper> h(new UmountHelper());
    h->mountpoint_ = mountpoint;
    int cmd[2], reply[2];
    if (pipe2(cmd, O_CLOEXEC) != 0 || pipe2(reply, O_CLOEXEC) != 0)
      return Error::from_errno("pipe");
    const std::string ns_path = "/proc/" + std::to_string(container_pid) + "/ns/mnt";
    const pid_t parent = getpid();
    h->pid_ = fork();
    if (h->pid_ < 0) return Error::from_errno("fork for the umount helper");
    if (h->pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(1);
      close(cmd[1]);
      close(reply[0]);
      const int ns = open(ns_path.c_str(), O_RDONLY | O_CLOEXEC);
      Reply r{0, 0};
      if (ns < 0 || setns(ns, CLONE_NEWNS) != 0 || chdir(mountpoint.c_str()) != 0)
        r.err = errno ? errno : EIO;
      if (write(reply[1], &r, sizeof r) != sizeof r || r.err) _exit(2);
      char c;
      while (read(cmd[0], &c, 1) == 1 && c == 'u') {
        r.err = umount2(mountpoint.c_str(), 0) == 0 ? 0 : errno;
        r.returned_ns = monotonic_ns();
        if (write(reply[1], &r, sizeof r) != sizeof r) break;
      }
      _exit(0);
    }
    close(cmd[0]);
    close(reply[1]);
    h->cmd_ = cmd[1];
    h->reply_ = reply[0];
    Reply r{};
    if (read(h->reply_, &r, sizeof r) != sizeof r || r.err)
      return Error::from_errno("umount helper entering " + ns_path + " and " + mountpoint,
                               r.err ? r.err : EIO);
    return h;
  }
  ~UmountHelper() {
    // Said, not implied by closing the pipe: helpers forked later hold
    // copies of this one's command pipe.
    const char quit = 'q';
    if (cmd_ >= 0 && write(cmd_, &quit, 1) != 1 && pid_ > 0) kill(pid_, SIGKILL);
    if (cmd_ >= 0) close(cmd_);
    if (reply_ >= 0) close(reply_);
    if (pid_ > 0) waitpid(pid_, nullptr, 0);
  }
  Result<Reply> umount() {
    const char c = 'u';
    Reply r{};
    if (write(cmd_, &c, 1) != 1 || read(reply_, &r, sizeof r) != sizeof r)
      return Error::from_errno("talking to the umount helper");
    return r;
  }
  pid_t pid() const { return pid_; }
  const std::string& mountpoint() const { return mountpoint_; }

 private:
  UmountHelper() = default;
  pid_t pid_ = -1;
  int cmd_ = -1;
  int reply_ = -1;
  std::string mountpoint_;
};

// Resident memory of a process by kind of mapping, in KiB: its heap and
// other anonymous memory, BPF maps mapped into it (the ring buffer's data
// pages are mapped twice, so they count double), and files (binary, libs).
std::map<std::string, long> rss_by_kind(pid_t pid) {
  std::map<std::string, long> out;
  std::ifstream in("/proc/" + std::to_string(pid) + "/smaps");
  std::string line, kind = "anon";
  while (std::getline(in, line)) {
    if (!line.empty() && std::isxdigit(static_cast<unsigned char>(line[0])) &&
        line.find('-') < 16) {
      // "start-end perms offset dev inode [name]"
      std::istringstream fields(line);
      std::string range, perms, offset, dev, inode, name;
      fields >> range >> perms >> offset >> dev >> inode;
      std::getline(fields, name);
      name.erase(0, name.find_first_not_of(' '));
      if (name.rfind("anon_inode:bpf", 0) == 0)
        kind = "bpf_maps";
      else if (name.empty() || name[0] == '[')
        kind = "heap_and_anon";
      else
        kind = "files";
    } else if (line.rfind("Rss:", 0) == 0) {
      out[kind] += std::stol(line.substr(4));
    }
  }
  return out;
}

// The mount point of a device's copy in a process's mount namespace.
Result<std::string> copy_mountpoint(pid_t pid, DevId dev) {
  auto text = read_file("/proc/" + std::to_string(pid) + "/mountinfo");
  if (!text) return text.error();
  MountTable table = parse_mountinfo(*text, "mountinfo");
  for (const auto& m : table.mounts)
    if (m.dev == dev) return m.mount_point;
  return Error{"no mount of " + dev.str() + " in the namespace of PID " + std::to_string(pid)};
}

// The busy line for the failure made by `pid`, skipping everything else.
std::optional<TracerLine> wait_for_busy(TracerProcess& tracer, pid_t pid, int timeout_ms,
                                        std::map<std::string, int>& other_events) {
  const uint64_t deadline = monotonic_ns() + static_cast<uint64_t>(timeout_ms) * 1000000ull;
  while (monotonic_ns() < deadline) {
    auto line = tracer.next_line(static_cast<int>((deadline - monotonic_ns()) / 1000000) + 1);
    if (!line) continue;
    const std::string event = line->json.value("event", "");
    if (event == "busy" && line->json.contains("process") &&
        line->json["process"].value("pid", 0) == static_cast<int>(pid))
      return line;
    ++other_events[event.empty() ? "?" : event];
  }
  return std::nullopt;
}

// True when the line names exactly the containers that keep the device.
bool names_holders(const nlohmann::json& busy, const std::set<uint64_t>& want) {
  std::set<uint64_t> got;
  for (const auto& h : busy.value("holders", nlohmann::json::array()))
    if (h.value("role", "") == "leak") got.insert(h.value("mntns", 0ull));
  return got == want;
}

struct Summary {
  size_t n = 0;
  double p50 = 0, p99 = 0, max = 0;
};

Summary summarize(const std::vector<double>& v) {
  Summary s;
  s.n = v.size();
  s.p50 = percentile(v, 50);
  s.p99 = percentile(v, 99);
  s.max = v.empty() ? 0 : *std::max_element(v.begin(), v.end());
  return s;
}

nlohmann::json summary_json(const Summary& s) {
  return {{"n", s.n}, {"p50_ms", s.p50 / 1000}, {"p99_ms", s.p99 / 1000}, {"max_ms", s.max / 1000}};
}

int run(Options o) {
  if (auto entered = enter_bench_namespace("trace_latency"); !entered) {
    fmt::print(stderr, "trace_latency: {}\n", entered.error().message);
    return 2;
  }
  const LoadAverage load_before = load_average();
  fmt::print(
      "building the synthetic node: {} containers x ~{} mounts, {} processes each, {} leaked "
      "devices x {} "
      "copies (load average {:.2f} {:.2f} {:.2f})\n",
      o.node.containers, o.node.mounts_per_namespace, o.node.processes_per_container + 1,
      o.node.leaked_devices, o.node.copies_per_device, load_before.one, load_before.five,
      load_before.fifteen);
  std::fflush(stdout);
  o.node.shim_program = MOUNTLEAK_SYNTHETIC_SHIM;
  auto node = SyntheticNode::create(o.node);
  if (!node) {
    fmt::print(stderr, "trace_latency: building the synthetic node: {}\n", node.error().message);
    return 2;
  }
  fmt::print("node built in {:.1f} s: {} processes, {} container mountinfo lines\n",
             (*node)->build_times().total, (*node)->process_count(),
             (*node)->container_mount_lines());

  // Which namespaces keep which device, and a helper sitting in one copy
  // of each device.
  const auto& devices = (*node)->devices();
  const auto& containers = (*node)->containers();
  std::vector<std::set<uint64_t>> holders(devices.size());
  std::vector<std::unique_ptr<UmountHelper>> helpers;
  for (size_t d = 0; d < devices.size(); ++d) {
    for (int c : devices[d].holders) holders[d].insert(containers[static_cast<size_t>(c)].mntns);
    if (devices[d].holders.empty()) continue;
    const auto& keeper = containers[static_cast<size_t>(devices[d].holders.front())];
    auto mp = copy_mountpoint(keeper.init_pid, DevId::from_dev_t(devices[d].loop->dev()));
    if (!mp) {
      fmt::print(stderr, "trace_latency: {}\n", mp.error().message);
      return 2;
    }
    auto h = UmountHelper::start(keeper.init_pid, *mp);
    if (!h) {
      fmt::print(stderr, "trace_latency: {}\n", h.error().message);
      return 2;
    }
    helpers.push_back(std::move(*h));
  }
  if (helpers.empty()) {
    fmt::print(stderr, "trace_latency: the node leaked no device\n");
    return 2;
  }

  const uint64_t spawn_ns = monotonic_ns();
  std::vector<std::string> args = (*node)->cli_args();
  args.insert(args.end(), o.tracer_args.begin(), o.tracer_args.end());
  auto started = TracerProcess::start(o.mountleak, args, 300000);
  if (!started) {
    fmt::print(stderr, "trace_latency: {}\n", started.error().message);
    return 2;
  }
  TracerProcess& tracer = **started;
  const double startup_s = static_cast<double>(tracer.ready_ns() - spawn_ns) / 1e9;
  const long rss_ready = tracer.vm_rss_kib();
  const auto rss_kinds = rss_by_kind(tracer.pid());
  fmt::print("tracer ready in {:.2f} s: {} namespaces, {} tracked devices, VmRSS {:.1f} MiB\n",
             startup_s, tracer.ready().value("namespaces", 0),
             tracer.ready().value("tracked_devices", 0), static_cast<double>(rss_ready) / 1024);
  // Findings about the helpers' setns or start-up reconciles are not what we
  // time; let them pass.
  std::map<std::string, int> other_events;
  for (auto end = monotonic_ns() + 1000000000ull; monotonic_ns() < end;)
    if (auto line = tracer.next_line(50)) ++other_events[line->json.value("event", "?")];

  std::mt19937 rng(42);
  std::uniform_int_distribution<int> jitter(o.gap_ms / 2, o.gap_ms + o.gap_ms / 2);
  std::vector<Sample> samples;
  int missing = 0, not_busy = 0;
  const uint64_t first_ns = monotonic_ns();
  for (int i = 0; i < 2 * o.triggers; ++i) {
    const size_t d = static_cast<size_t>(i / 2) % helpers.size();
    const bool use_open = i % 2 == 0;
    uint64_t returned = 0;
    pid_t who = 0;
    int err = 0;
    if (use_open) {
      const int fd = open(devices[d].loop->path().c_str(), O_RDONLY | O_EXCL | O_CLOEXEC);
      returned = monotonic_ns();
      err = fd < 0 ? errno : 0;
      if (fd >= 0) close(fd);
      who = getpid();
    } else {
      auto r = helpers[d]->umount();
      if (!r) {
        fmt::print(stderr, "trace_latency: {}\n", r.error().message);
        return 2;
      }
      returned = r->returned_ns;
      err = r->err;
      who = helpers[d]->pid();
    }
    if (err != EBUSY) {
      ++not_busy;  // nothing to attribute; an umount that succeeded ends that helper's use
      continue;
    }
    auto line = wait_for_busy(tracer, who, o.line_timeout_ms, other_events);
    if (!line) {
      ++missing;
      continue;
    }
    Sample s;
    s.index = i;
    s.at_s = static_cast<double>(returned - first_ns) / 1e9;
    s.source = use_open ? "open_excl" : "umount";
    s.tracer_us = line->json.value("latency_us", 0.0);
    s.observed_us = static_cast<double>(line->read_ns - returned) / 1000;
    s.holders_ok = names_holders(line->json, holders[d]);
    samples.push_back(s);
    for (auto end = monotonic_ns() + static_cast<uint64_t>(jitter(rng)) * 1000000ull;
         monotonic_ns() < end;)
      if (auto other = tracer.next_line(5)) ++other_events[other->json.value("event", "?")];
  }

  const long hwm = tracer.vm_hwm_kib();
  const long rss_end = tracer.vm_rss_kib();
  TracerExit exit = tracer.stop();
  const LoadAverage load_after = load_average();
  helpers.clear();
  (*node)->teardown();
  for (const auto& e : (*node)->teardown_errors())
    fmt::print(stderr, "trace_latency: teardown: {}\n", e);

  std::map<std::string, std::vector<double>> tracer_us, observed_us;
  size_t holders_ok = 0;
  for (const auto& s : samples) {
    for (const std::string& key : {s.source, std::string("all")}) {
      tracer_us[key].push_back(s.tracer_us);
      observed_us[key].push_back(s.observed_us);
    }
    holders_ok += s.holders_ok ? 1 : 0;
  }
  fmt::print("\n{:<10} {:>5} {:>29} {:>29}\n", "", "", "tracer latency_us (ms)",
             "observed by a reader (ms)");
  fmt::print("{:<10} {:>5} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}\n", "source", "n", "p50", "p99",
             "max", "p50", "p99", "max");
  nlohmann::json by_source = nlohmann::json::object();
  for (const char* key : {"open_excl", "umount", "all"}) {
    const Summary t = summarize(tracer_us[key]), r = summarize(observed_us[key]);
    fmt::print("{:<10} {:>5} {:>9.2f} {:>9.2f} {:>9.2f} {:>9.2f} {:>9.2f} {:>9.2f}\n", key, t.n,
               t.p50 / 1000, t.p99 / 1000, t.max / 1000, r.p50 / 1000, r.p99 / 1000, r.max / 1000);
    by_source[key] = {{"tracer", summary_json(t)}, {"observed", summary_json(r)}};
  }
  const Summary all = summarize(tracer_us["all"]);
  const double hwm_mib = static_cast<double>(hwm) / 1024;
  const double maxrss_mib = static_cast<double>(exit.maxrss_kib) / 1024;
  const bool latency_met = all.n > 0 && all.p99 / 1000 < kTargetP99Ms && missing == 0;
  const bool rss_met = hwm > 0 && hwm_mib < kTargetRssMiB;
  fmt::print(
      "busy lines naming exactly the keeping containers: {}/{}; failures with no line within {} "
      "ms: {}; "
      "syscalls that did not fail with EBUSY: {}\n",
      holders_ok, samples.size(), o.line_timeout_ms, missing, not_busy);
  std::string others;
  for (const auto& [event, n] : other_events) others += fmt::format(" {}={}", event, n);
  fmt::print("other lines while measuring:{}\n", others.empty() ? " none" : others);
  fmt::print("latency p99 {:.2f} ms (target < {:.0f} ms: {})\n", all.p99 / 1000, kTargetP99Ms,
             latency_met ? "met" : "MISSED");
  fmt::print(
      "tracer memory: VmRSS {:.1f} MiB at ready, {:.1f} MiB at the end; VmHWM {:.1f} MiB, "
      "ru_maxrss {:.1f} MiB "
      "(target < {:.0f} MiB: {})\n",
      static_cast<double>(rss_ready) / 1024, static_cast<double>(rss_end) / 1024, hwm_mib,
      maxrss_mib, kTargetRssMiB, rss_met ? "met" : "MISSED");
  const nlohmann::json counters =
      exit.stats.is_null() ? nlohmann::json(nullptr) : exit.stats["counters"];
  std::string kinds;
  nlohmann::json kinds_json = nlohmann::json::object();
  for (const auto& [kind, kib] : rss_kinds) {
    kinds += fmt::format(" {} {:.1f} MiB", kind, static_cast<double>(kib) / 1024);
    kinds_json[kind + "_mib"] = static_cast<double>(kib) / 1024;
  }
  fmt::print("tracer RSS at ready by mapping:{}\n", kinds);
  std::vector<Sample> slowest = samples;
  std::sort(slowest.begin(), slowest.end(),
            [](const Sample& a, const Sample& b) { return a.tracer_us > b.tracer_us; });
  slowest.resize(std::min<size_t>(slowest.size(), 5));
  nlohmann::json slowest_json = nlohmann::json::array();
  std::string slow_text;
  for (const auto& s : slowest) {
    slow_text += fmt::format(" #{} {} at {:.1f}s: {:.1f}/{:.1f} ms;", s.index, s.source, s.at_s,
                             s.tracer_us / 1000, s.observed_us / 1000);
    slowest_json.push_back({{"index", s.index},
                            {"source", s.source},
                            {"at_s", s.at_s},
                            {"tracer_ms", s.tracer_us / 1000},
                            {"observed_ms", s.observed_us / 1000}});
  }
  fmt::print("slowest (tracer/observed):{}\n", slow_text);
  fmt::print("tracer: start-up {:.2f} s, CPU {:.2f} s in all; counters {}\n", startup_s,
             exit.cpu_seconds, counters.dump());
  fmt::print("load average after: {:.2f} {:.2f} {:.2f}\n", load_after.one, load_after.five,
             load_after.fifteen);

  nlohmann::json summary = {
      {"bench", "trace_latency"},
      {"node",
       {{"containers", o.node.containers},
        {"mounts_per_namespace", o.node.mounts_per_namespace},
        {"processes", (*node)->process_count()},
        {"leaked_devices", devices.size()},
        {"container_mount_lines", (*node)->container_mount_lines()}}},
      {"cpus", std::thread::hardware_concurrency()},
      {"load_average_before", {load_before.one, load_before.five, load_before.fifteen}},
      {"load_average_after", {load_after.one, load_after.five, load_after.fifteen}},
      {"latency", by_source},
      {"holders_named_ok", holders_ok},
      {"samples", samples.size()},
      {"missing_lines", missing},
      {"not_ebusy", not_busy},
      {"tracer_startup_s", startup_s},
      {"tracer_rss_ready_mib", static_cast<double>(rss_ready) / 1024},
      {"tracer_vmhwm_mib", hwm_mib},
      {"tracer_maxrss_mib", maxrss_mib},
      {"tracer_rss_ready_by_mapping", kinds_json},
      {"slowest", slowest_json},
      {"tracer_cpu_s", exit.cpu_seconds},
      {"tracer_counters", counters},
      {"target_p99_ms", kTargetP99Ms},
      {"target_rss_mib", kTargetRssMiB},
      {"latency_target_met", latency_met},
      {"rss_target_met", rss_met}};
  fmt::print("{}\n", summary.dump());
  return latency_met && rss_met ? 0 : 1;
}

}  // namespace

}  // namespace mountleak::bench

int main(int argc, char** argv) {
  mountleak::bench::Options o;
  CLI::App app{"mountleak trace: busy attribution latency and peak RSS on the synthetic node"};
  app.add_option("--mountleak", o.mountleak, "The mountleak binary")->capture_default_str();
  app.add_option("--triggers", o.triggers, "EBUSY failures per source (open_excl, umount)")
      ->capture_default_str();
  app.add_option("--gap-ms", o.gap_ms, "Mean pause between failures")->capture_default_str();
  app.add_option("--containers", o.node.containers, "Synthetic node: containers")
      ->capture_default_str();
  app.add_option("--mounts", o.node.mounts_per_namespace,
                 "Synthetic node: mountinfo lines per container")
      ->capture_default_str();
  app.add_option("--processes", o.node.processes_per_container,
                 "Synthetic node: processes per container")
      ->capture_default_str();
  app.add_option("--leaked-devices", o.node.leaked_devices, "Synthetic node: leaked devices")
      ->capture_default_str();
  app.add_option("--tracer-arg", o.tracer_args,
                 "One more argument for the tracer (repeat: --tracer-arg=--ringbuf-kb --tracer-arg=2048)");
  CLI11_PARSE(app, argc, argv);
  setvbuf(stdout, nullptr, _IOLBF, 0);  // progress shows through a pipe too
  return mountleak::bench::run(o);
}
