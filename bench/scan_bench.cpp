// SPDX-License-Identifier: Apache-2.0
// `mountleak scan --all` against what operators run today, side by side on
// one synthetic node (synthetic_node.h: 200 containers of ~500 mounts, 2,000
// processes, 4 loop-device "rbd" mounts leaked into 2 containers each):
//
//   (a) the seed's leak_rbd.sh (bench/seed_leak_rbd.sh) for ONE leaked
//       device per round (a different one each round): the conservative
//       comparison, since one (c) answers for every device at once, and the
//       script takes many seconds per device. --seed-all-devices also runs it
//       for every device each round, as an operator with several busy
//       devices would, and reports that sum as (a*);
//   (b) the floor: one `cat /proc/PID/mountinfo` per mount namespace on the
//       machine (one PID of each, found before the clock starts), and (b1)
//       one cat given all those files: the kernel's cost of producing the
//       text, with no per-namespace process start;
//   (c) `mountleak scan --all -o json --no-fds` (like for like: neither (a)
//       nor (b) looks at descriptors) with its own choice of how to read mount
//       tables (statmount where the kernel can), (c-text) the same forced to
//       mountinfo text (--mount-table mountinfo), and (c+fd) (c) with the
//       default descriptor scan.
//
// Rounds interleave the variants so that load from elsewhere on the machine
// hits them alike; medians are reported. Wall time covers fork to wait4, so
// process start-up counts for every variant. Peak RSS is wait4's ru_maxrss.
// Then an in-process breakdown times the library steps of (c), to show where
// its time goes. Needs root: run it through scripts/bench_scan.sh.

#include <fcntl.h>
#include <fmt/core.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "fixture/private_namespace.h"
#include "model/mountinfo.h"
#include "scanner/scan.h"
#include "sources/fd_holders.h"
#include "sources/namespace_enumerator.h"
#include "sources/procfs.h"
#include "synthetic_node.h"

namespace mountleak::bench {

namespace {

using Clock = std::chrono::steady_clock;

// Set by SIGINT/SIGTERM/SIGHUP: stop after the current step and tear the
// node down (the handler interrupts waits; nothing else runs in it).
volatile sig_atomic_t g_stop = 0;
void on_stop_signal(int) { g_stop = 1; }

constexpr double kTargetSeedOverScan = 20.0;  // (a)/(c) at least
constexpr double kTargetScanOverFloor = 2.0;  // (c)/(b) at most
constexpr double kTargetScanOverOneCat = 1.25;  // (c)/(b1) at most: issue 15
constexpr double kTargetRssMiB = 64.0;        // (c) below
constexpr double kTargetDeviceRssMiB = 16.0;  // (d) below: issue 15

struct BenchOptions {
  int runs = 5;
  SyntheticNodeOptions node;
  std::string mountleak = MOUNTLEAK_BINARY;
  std::string seed_script = std::string(MOUNTLEAK_BENCH_DIR) + "/seed_leak_rbd.sh";
  bool skip_seed = false;
  bool seed_all_devices = false;  // every device every round, not one per round
  bool breakdown = true;
  int hold_seconds = 0;  // keep the node up before teardown, for profiling
};

struct Run {
  double seconds = 0;
  double cpu_seconds = 0;  // user + system, the child's and its reaped descendants'
  long maxrss_kib = 0;
  int exit_code = -1;  // -1: killed by a signal
  std::string out;
  std::string err;
};

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string read_memfd(int fd) {
  std::string text;
  char chunk[65536];
  lseek(fd, 0, SEEK_SET);
  for (;;) {
    const ssize_t n = read(fd, chunk, sizeof chunk);
    if (n <= 0) break;
    text.append(chunk, static_cast<size_t>(n));
  }
  return text;
}

// Runs argv to completion. stdout and stderr go to memory files when
// captured (no pipe for the child to block on), else to /dev/null.
Result<Run> run_timed(const std::vector<std::string>& argv, bool capture) {
  std::vector<const char*> args;
  for (const auto& a : argv) args.push_back(a.c_str());
  args.push_back(nullptr);
  const int out =
      capture ? memfd_create("bench-stdout", MFD_CLOEXEC) : open("/dev/null", O_WRONLY | O_CLOEXEC);
  const int err =
      capture ? memfd_create("bench-stderr", MFD_CLOEXEC) : open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (out < 0 || err < 0) {
    const int e = errno;
    if (out >= 0) close(out);
    if (err >= 0) close(err);
    return Error::from_errno("opening output for " + argv.front(), e);
  }
  const auto start = Clock::now();
  const pid_t child = fork();
  if (child < 0) {
    const int e = errno;
    close(out);
    close(err);
    return Error::from_errno("fork for " + argv.front(), e);
  }
  if (child == 0) {
    dup2(out, STDOUT_FILENO);
    dup2(err, STDERR_FILENO);
    execvp(args[0], const_cast<char* const*>(args.data()));
    _exit(127);
  }
  int status = 0;
  rusage usage{};
  while (wait4(child, &status, 0, &usage) < 0 && errno == EINTR)
    if (g_stop) kill(child, SIGKILL);
  Run run;
  run.seconds = seconds_since(start);
  run.maxrss_kib = usage.ru_maxrss;
  run.cpu_seconds = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                    static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6;
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (capture) {
    run.out = read_memfd(out);
    run.err = read_memfd(err);
  }
  close(out);
  close(err);
  return run;
}

// One PID per mount namespace on the machine (the lowest), so that (b)
// reads every namespace (c) reads, the real host's and other users' too.
std::vector<int> one_pid_per_namespace() {
  std::map<uint64_t, int> first;
  for (const int pid : list_pids("/proc")) {
    auto ino = ns_inode("/proc", pid, "mnt");
    if (ino) first.emplace(*ino, pid);
  }
  std::vector<int> pids;
  for (const auto& [ino, pid] : first) pids.push_back(pid);
  return pids;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct Series {
  std::vector<double> seconds;
  std::vector<double> cpu;
  long max_rss_kib = 0;
  void add(const Run& r) {
    seconds.push_back(r.seconds);
    cpu.push_back(r.cpu_seconds);
    max_rss_kib = std::max(max_rss_kib, r.maxrss_kib);
  }
  double med() const { return median(seconds); }
  double cpu_med() const { return median(cpu); }
  double min() const {
    return seconds.empty() ? 0 : *std::min_element(seconds.begin(), seconds.end());
  }
  double max() const {
    return seconds.empty() ? 0 : *std::max_element(seconds.begin(), seconds.end());
  }
};

// What a variant found, checked against what the node leaked.
struct Found {
  size_t devices = 0;  // leaked devices reported with every expected holder
  size_t holders = 0;  // expected (device, namespace) pairs reported
  size_t extra = 0;    // (c): holders beyond the expected leaks (e.g. fd holders)
  std::string note;
};

struct Expected {
  std::vector<std::string> device_paths;              // /dev/loopN per device
  std::vector<std::set<uint64_t>> holder_namespaces;  // per device
  size_t pairs() const {
    size_t n = 0;
    for (const auto& s : holder_namespaces) n += s.size();
    return n;
  }
};

Found check_seed_output(const Expected& want, size_t device, const std::string& out) {
  Found f;
  size_t hit = 0;
  for (const uint64_t ns : want.holder_namespaces[device])
    if (out.find("mnt:[" + std::to_string(ns) + "]") != std::string::npos) ++hit;
  f.holders = hit;
  f.devices = hit == want.holder_namespaces[device].size() ? 1 : 0;
  return f;
}

Found check_scan_output(const Expected& want, const std::string& out, uint64_t& namespaces_read,
                        uint64_t& lines_read) {
  Found f;
  std::map<std::string, std::set<uint64_t>> leaks;  // device path -> leak namespaces
  size_t start = 0;
  while (start < out.size()) {
    size_t end = out.find('\n', start);
    if (end == std::string::npos) end = out.size();
    auto j = nlohmann::json::parse(out.substr(start, end - start), nullptr, false);
    start = end + 1;
    if (j.is_discarded() || !j.is_object()) continue;
    if (j.value("event", "") == "scan_summary") {
      namespaces_read = j["counters"].value("namespaces", 0ull);
      lines_read = j["counters"].value("mountinfo_lines", 0ull) + j["counters"].value("statmount_mounts", 0ull);
      continue;
    }
    if (j.value("event", "") != "holders") continue;
    const std::string path = j["device"].value("path", "");
    for (const auto& h : j["holders"]) {
      if (h.value("role", "") == "leak" && h["mntns"].is_number())
        leaks[path].insert(h["mntns"].get<uint64_t>());
      else
        ++f.extra;
    }
  }
  for (size_t d = 0; d < want.device_paths.size(); ++d) {
    const auto& got = leaks[want.device_paths[d]];
    size_t hit = 0;
    for (const uint64_t ns : want.holder_namespaces[d]) hit += got.count(ns);
    f.holders += hit;
    if (hit == want.holder_namespaces[d].size()) ++f.devices;
  }
  return f;
}

// --all, or one device when `device` is given (what an operator asks when
// one unmap fails).
std::vector<std::string> scan_argv(const BenchOptions& o, const SyntheticNode& node, bool fds,
                                   const char* mount_table = "auto", const std::string& device = "") {
  std::vector<std::string> argv = {o.mountleak, "scan", "-o", "json", "--mount-table", mount_table};
  if (device.empty()) {
    argv.push_back("--all");
  } else {
    argv.push_back("--device");
    argv.push_back(device);
  }
  for (const auto& a : node.cli_args()) argv.push_back(a);
  if (!fds) argv.push_back("--no-fds");
  return argv;
}

std::string found_text(const Found& f, const Expected& want) {
  std::string s = fmt::format("{}/{} devices, {}/{} holders", f.devices, want.device_paths.size(),
                              f.holders, want.pairs());
  if (f.extra) s += fmt::format(", +{} other holders", f.extra);
  return s;
}

// In-process timing of the steps behind (c), median of `runs`.
nlohmann::json breakdown(const SyntheticNode& node, int runs) {
  const HostPaths paths = node.host_paths();
  const std::string proc = paths.proc();
  std::map<std::string, std::vector<double>> t;
  size_t lines = 0, namespaces = 0, pids_n = 0;
  for (int r = 0; r < runs; ++r) {
    auto s = Clock::now();
    const auto pids = list_pids(proc);
    t["1 list_pids"].push_back(seconds_since(s));
    pids_n = pids.size();

    s = Clock::now();
    std::map<uint64_t, int> first;
    for (const int pid : pids)
      if (auto ino = ns_inode(proc, pid, "mnt")) first.emplace(*ino, pid);
    t["2 stat ns/mnt of every pid"].push_back(seconds_since(s));
    namespaces = first.size();

    s = Clock::now();
    std::vector<std::string> texts;
    std::string buf;
    for (const auto& [ino, pid] : first)
      if (read_file_into(proc + "/" + std::to_string(pid) + "/mountinfo", buf))
        texts.push_back(buf);
    t["3 read one mountinfo per namespace"].push_back(seconds_since(s));

    s = Clock::now();
    lines = 0;
    for (const auto& text : texts) lines += parse_mountinfo(text, "bench").lines;
    t["4 parse_mountinfo of those"].push_back(seconds_since(s));

    s = Clock::now();
    EnumerateOptions eo;
    eo.host_mntns = std::to_string(node.host_pid());
    eo.process_details = false;
    auto snap = enumerate_node(paths, eo);
    t["5 enumerate_node (= 1..4 + checks, pinned ns)"].push_back(seconds_since(s));

    s = Clock::now();
    ScanRequest req;
    req.all = true;
    req.host_mntns = eo.host_mntns;
    req.scan_fds = false;
    auto report = run_scan(paths, req);
    t["6 run_scan --all --no-fds (= 5 + holders)"].push_back(seconds_since(s));

    s = Clock::now();
    std::vector<DevId> devs;
    for (const auto& d : node.devices()) devs.push_back(DevId::from_dev_t(d.loop->dev()));
    ScanCounters counters;
    find_fd_holders(paths, devs, {}, counters);
    t["7 find_fd_holders alone (what --no-fds saves)"].push_back(seconds_since(s));
  }
  nlohmann::json j = {{"pids", pids_n}, {"namespaces", namespaces}, {"mountinfo_lines", lines}};
  fmt::print("\nIn-process breakdown of (c), median of {} (pids {}, namespaces {}, lines {}):\n",
             runs, pids_n, namespaces, lines);
  for (const auto& [name, v] : t) {
    fmt::print("  {:<48} {:>8.1f} ms\n", name, median(v) * 1e3);
    j["ms"][name.substr(2)] = median(v) * 1e3;
  }
  return j;
}

int run_bench(const BenchOptions& o) {
  fmt::print(
      "Building the synthetic node ({} containers x ~{} mounts, {} processes each + "
      "shim, {} leaked devices x {} copies)...\n",
      o.node.containers, o.node.mounts_per_namespace, o.node.processes_per_container,
      o.node.leaked_devices, o.node.copies_per_device);
  std::fflush(stdout);
  auto created = SyntheticNode::create(o.node);
  if (!created) {
    fmt::print(stderr, "scan_bench: building the synthetic node: {}\n", created.error().message);
    return 2;
  }
  SyntheticNode& node = **created;
  const auto& bt = node.build_times();
  fmt::print(
      "Built in {:.1f} s (filler mounts {:.1f} s, devices {:.1f} s, containers {:.1f} s, "
      "leak {:.2f} s): {} processes, {} mountinfo lines in the containers + {} in the "
      "host\n",
      bt.total, bt.filler_mounts, bt.devices, bt.containers, bt.leak, node.process_count(),
      node.container_mount_lines(), node.host_mount_count());

  Expected want;
  for (const auto& d : node.devices()) {
    want.device_paths.push_back(d.loop->path());
    std::set<uint64_t> holders;
    for (const int c : d.holders) holders.insert(node.containers()[static_cast<size_t>(c)].mntns);
    want.holder_namespaces.push_back(holders);
  }
  const size_t ndev = want.device_paths.size();

  Series seed_all, seed_one, floor, floor_one_cat, scan, scan_text, scan_fds, scan_device;
  Found scan_found, scan_text_found, scan_fds_found;
  size_t device_runs = 0, device_complete = 0;
  std::string scan_method;  // what (c) chose, from its scan_summary
  size_t seed_runs = 0, seed_complete = 0, seed_holders = 0, seed_expected_holders = 0;
  size_t floor_namespaces = 0;
  uint64_t scan_namespaces = 0, scan_lines = 0;
  std::string failure;

  // (b): one cat per namespace, as a shell loop would; (b1): one cat given
  // every file, the kernel's cost of producing the text and little else.
  auto run_floor = [&](bool one_cat) -> Result<Run> {
    const auto pids = one_pid_per_namespace();  // before the clock starts
    floor_namespaces = pids.size();
    std::vector<std::string> files;
    for (const int pid : pids) files.push_back("/proc/" + std::to_string(pid) + "/mountinfo");
    if (one_cat) {
      files.insert(files.begin(), "cat");
      return run_timed(files, false);
    }
    Run run;
    const auto start = Clock::now();
    for (const auto& file : files) {
      auto r = run_timed({"cat", file}, false);
      if (!r) return r.error();
      run.cpu_seconds += r->cpu_seconds;
    }
    run.seconds = seconds_since(start);
    run.exit_code = 0;
    return run;
  };
  auto floor_round = [&]() {
    for (const bool one_cat : {false, true}) {
      auto r = run_floor(one_cat);
      if (!r) {
        failure = r.error().message;
        return;
      }
      (one_cat ? floor_one_cat : floor).add(*r);
    }
  };
  auto scan_round = [&](bool fds, bool text = false) {
    auto r = run_timed(scan_argv(o, node, fds, text ? "mountinfo" : "auto"), true);
    if (!r || (r->exit_code != 0 && r->exit_code != 1)) {
      failure =
          r ? fmt::format("mountleak exited {}: {}", r->exit_code, r->err) : r.error().message;
      return;
    }
    (fds ? scan_fds : text ? scan_text : scan).add(*r);
    (fds ? scan_fds_found : text ? scan_text_found : scan_found) =
        check_scan_output(want, r->out, scan_namespaces, scan_lines);
    if (!fds && !text) {
      const auto nl = r->out.rfind('\n', r->out.size() >= 2 ? r->out.size() - 2 : 0);
      auto summary = nlohmann::json::parse(r->out.substr(nl == std::string::npos ? 0 : nl + 1), nullptr, false);
      if (summary.is_object()) scan_method = summary.value("method", "?");
    }
  };
  // (d): one leaked device per round, a different one each round, with
  // the descriptor scan, as an operator runs it after a failed unmap.
  auto device_round = [&](int round) {
    const size_t d = static_cast<size_t>(round) % ndev;
    auto r = run_timed(scan_argv(o, node, true, "auto", want.device_paths[d]), true);
    if (!r || (r->exit_code != 0 && r->exit_code != 1)) {
      failure = r ? fmt::format("mountleak exited {}: {}", r->exit_code, r->err) : r.error().message;
      return;
    }
    scan_device.add(*r);
    Expected one;
    one.device_paths = {want.device_paths[d]};
    one.holder_namespaces = {want.holder_namespaces[d]};
    uint64_t namespaces = 0, lines = 0;
    ++device_runs;
    device_complete += check_scan_output(one, r->out, namespaces, lines).devices;
  };
  auto seed_round = [&](int round) {
    // One device per round, a different one each round, unless every device
    // is asked for: the script takes many seconds per device here.
    std::vector<size_t> devices;
    if (o.seed_all_devices)
      for (size_t d = 0; d < ndev; ++d) devices.push_back(d);
    else
      devices.push_back(static_cast<size_t>(round) % ndev);
    Run sum;
    for (const size_t d : devices) {
      auto r = run_timed({"bash", o.seed_script, want.device_paths[d]}, true);
      if (!r) {
        failure = r.error().message;
        return;
      }
      sum.seconds += r->seconds;
      sum.cpu_seconds += r->cpu_seconds;
      seed_one.add(*r);
      const Found one = check_seed_output(want, d, r->out);
      ++seed_runs;
      seed_complete += one.devices;
      seed_holders += one.holders;
      seed_expected_holders += want.holder_namespaces[d].size();
    }
    if (o.seed_all_devices) seed_all.add(sum);
  };

  // Warm-up of the cheap variants (dentries under /proc, page cache of the
  // binaries), not counted.
  floor_round();
  if (failure.empty()) scan_round(false);
  if (!failure.empty()) {
    fmt::print(stderr, "scan_bench: warm-up failed: {}\n", failure);
    return 2;
  }
  floor = floor_one_cat = scan = scan_text = Series{};

  for (int round = 0; round < o.runs && failure.empty() && !g_stop; ++round) {
    fmt::print("Round {}/{}...\n", round + 1, o.runs);
    std::fflush(stdout);
    if (!o.skip_seed) seed_round(round);
    if (failure.empty()) floor_round();
    if (failure.empty()) scan_round(false);
    if (failure.empty()) scan_round(false, true);
    if (failure.empty()) scan_round(true);
    if (failure.empty()) device_round(round);
  }
  if (!failure.empty() || g_stop) {
    fmt::print(stderr, "scan_bench: {}\n", g_stop ? "interrupted" : failure);
    return 2;  // the node's destructor tears it down
  }

  fmt::print(
      "\nscan_bench: {} rounds; wall time from fork to wait4 (median, min, max) and "
      "CPU time (user+sys, median)\n",
      o.runs);
  fmt::print("{:<56} {:>8} {:>8} {:>8} {:>8} {:>10}  {}\n", "variant", "wall s", "min s", "max s",
             "CPU s", "peak RSS", "found");
  auto row = [&](const std::string& name, const Series& s, const std::string& found, bool rss) {
    fmt::print("{:<56} {:>8.3f} {:>8.3f} {:>8.3f} {:>8.3f} {:>10}  {}\n", name, s.med(), s.min(),
               s.max(), s.cpu_med(), rss ? fmt::format("{:.1f} MiB", s.max_rss_kib / 1024.0) : "",
               found);
  };
  if (!o.skip_seed) {
    const std::string found =
        fmt::format("{}/{} runs found every holder ({}/{} holders)", seed_complete, seed_runs,
                    seed_holders, seed_expected_holders);
    row("(a) seed leak_rbd.sh, one device per run", seed_one, found, false);
    if (o.seed_all_devices)
      row(fmt::format("(a*) seed leak_rbd.sh, once per leaked device ({})", ndev), seed_all, "",
          false);
  }
  row(fmt::format("(b) floor: one cat per mount namespace ({})", floor_namespaces), floor, "",
      false);
  row("(b1) one cat given every namespace's mountinfo", floor_one_cat, "", false);
  row(fmt::format("(c) mountleak scan --all -o json --no-fds (via {})", scan_method), scan,
      found_text(scan_found, want), true);
  row("(c-text) the same, --mount-table mountinfo", scan_text, found_text(scan_text_found, want), true);
  row("(c+fd) mountleak scan --all -o json (fds too)", scan_fds, found_text(scan_fds_found, want),
      true);
  row("(d) mountleak scan --device DEV -o json (fds too)", scan_device,
      fmt::format("{}/{} runs found every holder", device_complete, device_runs), true);

  const double a_over_c = o.skip_seed ? 0 : seed_one.med() / scan.med();
  const double a_all_over_c = o.seed_all_devices ? seed_all.med() / scan.med() : 0;
  const double c_over_b = scan.med() / floor.med();
  const double c_over_b1 = scan.med() / floor_one_cat.med();
  const double cfd_over_b = scan_fds.med() / floor.med();
  const double cfd_over_b1 = scan_fds.med() / floor_one_cat.med();
  const double a_over_c_cpu = o.skip_seed ? 0 : seed_one.cpu_med() / scan.cpu_med();
  const double c_over_b_cpu = scan.cpu_med() / floor.cpu_med();
  const double c_over_b1_cpu = scan.cpu_med() / floor_one_cat.cpu_med();
  const double ctext_over_b1 = scan_text.med() / floor_one_cat.med();
  const double ctext_over_b1_cpu = scan_text.cpu_med() / floor_one_cat.cpu_med();
  const double rss_mib = scan.max_rss_kib / 1024.0;
  const double rss_fd_mib = scan_fds.max_rss_kib / 1024.0;
  auto verdict = [](bool ok) { return ok ? "met" : "MISSED"; };
  const bool a_ok = o.skip_seed || a_over_c >= kTargetSeedOverScan;
  const bool b_ok = c_over_b <= kTargetScanOverFloor;
  const bool rss_ok = rss_mib < kTargetRssMiB && rss_fd_mib < kTargetRssMiB;
  const double rss_device_mib = scan_device.max_rss_kib / 1024.0;
  const bool found_ok = scan_found.devices == ndev && scan_text_found.devices == ndev &&
                        scan_fds_found.devices == ndev && device_complete == device_runs &&
                        (o.skip_seed || seed_complete == seed_runs);
  fmt::print("\n");
  if (!o.skip_seed) {
    fmt::print(
        "(a)/(c)    = {:7.1f}x  target >= {:.0f}x: {}  (CPU: {:.1f}x; one device's seed "
        "run against one scan of all {} devices)\n",
        a_over_c, kTargetSeedOverScan, verdict(a_ok), a_over_c_cpu, ndev);
    if (o.seed_all_devices) fmt::print("(a*)/(c)   = {:7.1f}x\n", a_all_over_c);
  }
  fmt::print(
      "(c)/(b)    = {:7.2f}x  target <= {:.0f}x: {}  (CPU: {:.2f}x; with the fd scan: "
      "{:.2f}x)\n",
      c_over_b, kTargetScanOverFloor, verdict(b_ok), c_over_b_cpu, cfd_over_b);
  fmt::print(
      "(c)/(b1)   = {:7.2f}x  same target against the stricter floor: {}  (CPU: {:.2f}x; "
      "with the fd scan: {:.2f}x)\n",
      c_over_b1, verdict(c_over_b1 <= kTargetScanOverFloor), c_over_b1_cpu, cfd_over_b1);
  fmt::print(
      "(c-text)/(b1) = {:4.2f}x  (CPU: {:.2f}x); (c) via {} against (b1): {:.2f}x; issue 15's target for "
      "(c)/(b1) is <= {:.2f}x: {}\n",
      ctext_over_b1, ctext_over_b1_cpu, scan_method, c_over_b1, kTargetScanOverOneCat,
      verdict(c_over_b1 <= kTargetScanOverOneCat));
  fmt::print("peak RSS (c) = {:.1f} MiB, with the fd scan {:.1f} MiB: target < {:.0f} MiB: {}\n",
             rss_mib, rss_fd_mib, kTargetRssMiB, verdict(rss_ok));
  fmt::print("peak RSS (d) = {:.1f} MiB: target < {:.0f} MiB: {}\n", rss_device_mib, kTargetDeviceRssMiB,
             verdict(rss_device_mib < kTargetDeviceRssMiB));
  fmt::print("mountleak read {} namespaces, {} mounts; the floor read {} namespaces\n",
             scan_namespaces, scan_lines, floor_namespaces);
  if (!found_ok) fmt::print("NOT every leak was found; see the found column\n");

  nlohmann::json j = {
      {"event", "scan_bench"},
      {"runs", o.runs},
      {"node",
       {{"containers", o.node.containers},
        {"processes", node.process_count()},
        {"container_mountinfo_lines", node.container_mount_lines()},
        {"host_mountinfo_lines", node.host_mount_count()},
        {"leaked_devices", ndev},
        {"copies_per_device", o.node.copies_per_device},
        {"build_seconds", bt.total}}},
      {"machine_namespaces", floor_namespaces},
      {"scan_namespaces", scan_namespaces},
      {"scan_mountinfo_lines", scan_lines},
      {"b_floor_seconds", floor.med()},
      {"b1_one_cat_seconds", floor_one_cat.med()},
      {"c_scan_seconds", scan.med()},
      {"c_scan_fds_seconds", scan_fds.med()},
      {"c_method", scan_method},
      {"c_text_scan_seconds", scan_text.med()},
      {"c_text_scan_cpu_seconds", scan_text.cpu_med()},
      {"c_text_over_b1", ctext_over_b1},
      {"c_text_over_b1_cpu", ctext_over_b1_cpu},
      {"b_floor_cpu_seconds", floor.cpu_med()},
      {"b1_one_cat_cpu_seconds", floor_one_cat.cpu_med()},
      {"c_scan_cpu_seconds", scan.cpu_med()},
      {"c_scan_fds_cpu_seconds", scan_fds.cpu_med()},
      {"c_over_b_cpu", c_over_b_cpu},
      {"c_over_b1_cpu", c_over_b1_cpu},
      {"c_over_b", c_over_b},
      {"c_over_b1", c_over_b1},
      {"c_fds_over_b", cfd_over_b},
      {"c_fds_over_b1", cfd_over_b1},
      {"c_peak_rss_mib", rss_mib},
      {"c_fds_peak_rss_mib", rss_fd_mib},
      {"d_device_peak_rss_mib", rss_device_mib},
      {"d_device_seconds", scan_device.med()},
      {"scan_found_devices", scan_found.devices},
      {"all_found", found_ok},
      {"targets",
       {{"a_over_c_at_least_20", a_ok},
        {"c_over_b_at_most_2", b_ok},
        {"c_over_b1_at_most_2", c_over_b1 <= kTargetScanOverFloor},
        {"c_over_b1_at_most_1_25", c_over_b1 <= kTargetScanOverOneCat},
        {"peak_rss_below_64_mib", rss_ok},
        {"device_scan_peak_rss_below_16_mib", rss_device_mib < kTargetDeviceRssMiB}}},
      {"targets_met", a_ok && b_ok && rss_ok && found_ok},
  };
  if (!o.skip_seed) {
    j["a_seed_one_device_seconds"] = seed_one.med();
    j["a_over_c"] = a_over_c;
    j["a_seed_one_device_cpu_seconds"] = seed_one.cpu_med();
    j["a_over_c_cpu"] = a_over_c_cpu;
    j["seed_runs_complete"] = seed_complete;
    j["seed_runs"] = seed_runs;
    if (o.seed_all_devices) {
      j["a_seed_all_devices_seconds"] = seed_all.med();
      j["a_all_over_c"] = a_all_over_c;
    }
  }
  if (o.breakdown && !g_stop) j["breakdown"] = breakdown(node, o.runs);
  if (o.hold_seconds > 0 && !g_stop) {
    std::string command;
    for (const auto& a : scan_argv(o, node, true)) command += a + " ";
    fmt::print("\nHolding the node for {} s (profile from another shell):\n  {}\n", o.hold_seconds,
               command);
    std::fflush(stdout);
    sleep(static_cast<unsigned>(o.hold_seconds));  // a stop signal ends it early
  }

  node.teardown();
  fmt::print("\nTeardown in {:.1f} s{}\n", node.teardown_seconds(),
             node.teardown_errors().empty() ? "" : ", with problems:");
  for (const auto& e : node.teardown_errors()) fmt::print("  {}\n", e);
  j["teardown_errors"] = node.teardown_errors().size();
  fmt::print("{}\n", j.dump());
  if (!node.teardown_errors().empty()) return 2;
  return j["targets_met"].get<bool>() ? 0 : 1;
}

}  // namespace

}  // namespace mountleak::bench

int main(int argc, char** argv) {
  using namespace mountleak;
  // First, before any thread: our mounts must never reach the real host.
  if (geteuid() != 0) {
    fmt::print(stderr, "scan_bench: needs root (mounts, loop devices, cgroups, all of /proc)\n");
    return 2;
  }
  if (auto s = fixture::enter_private_mount_namespace(); !s) {
    fmt::print(stderr, "scan_bench: {}\n", s.error().message);
    return 2;
  }
  struct sigaction sa {};
  sa.sa_handler = bench::on_stop_signal;  // no SA_RESTART: waits return EINTR
  for (const int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);
  bench::BenchOptions o;
  o.node.shim_program = MOUNTLEAK_SYNTHETIC_SHIM;
  CLI::App app{"Times `mountleak scan --all` against the seed script and a cat floor."};
  app.add_option("-n,--runs", o.runs, "Rounds; medians are reported")->capture_default_str();
  app.add_option("--containers", o.node.containers, "Containers (mount namespaces)")
      ->capture_default_str();
  app.add_option("--mounts", o.node.mounts_per_namespace, "Mounts per namespace")
      ->capture_default_str();
  app.add_option("--processes", o.node.processes_per_container,
                 "Processes per container namespace (a shim each comes on top)")
      ->capture_default_str();
  app.add_option("--devices", o.node.leaked_devices, "Leaked loop devices")->capture_default_str();
  app.add_option("--copies", o.node.copies_per_device, "Containers keeping each device")
      ->capture_default_str();
  app.add_option("--mountleak", o.mountleak, "mountleak binary")->capture_default_str();
  app.add_option("--seed-script", o.seed_script, "The seed's leak_rbd.sh")->capture_default_str();
  app.add_option("--shim", o.node.shim_program, "synthetic_shim binary")->capture_default_str();
  app.add_flag("--skip-seed", o.skip_seed, "Leave out (a), for quick iterations");
  app.add_flag("--seed-all-devices", o.seed_all_devices,
               "Run the seed script for every leaked device each round (slow), not for one");
  app.add_flag("!--no-breakdown", o.breakdown, "Leave out the in-process breakdown");
  app.add_option("--hold", o.hold_seconds,
                 "Keep the node up this many seconds before teardown, to profile by hand");
  CLI11_PARSE(app, argc, argv);
  if (o.runs < 1) o.runs = 1;
  return bench::run_bench(o);
}
