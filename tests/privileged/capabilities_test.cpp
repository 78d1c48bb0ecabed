// SPDX-License-Identifier: Apache-2.0
// Least privilege, measured: each command run as uid 0 with exactly the
// capabilities the README's table names for it does its whole job on the
// seed node; with any one of them taken away it stops with exit status 2 and
// names the missing one; and a running `trace` has given up all but what it
// keeps, with no_new_privs set.
//
// A child is limited to a set the way setpriv --bounding-set does it: for
// uid 0, execve() makes the permitted and effective sets the bounding set
// (with the inheritable and ambient sets empty), so cutting the bounding set
// to the set before exec is all it takes.

#include <fcntl.h>
#include <signal.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <memory>
#include <sstream>

#include "mountleak_process.h"
#include "seed_test_support.h"

namespace mountleak::testing {
namespace {

using namespace std::chrono_literals;
using fixture::ContainerKind;
using CapabilityList = std::vector<std::string>;

// The README's table: what the tests hold mountleak to.
const CapabilityList kProbeSet = {"cap_bpf", "cap_perfmon", "cap_sys_admin"};
const CapabilityList kScanSet = {"cap_sys_ptrace", "cap_dac_read_search", "cap_sys_admin", "cap_sys_chroot"};
const CapabilityList kTraceSet = {"cap_bpf",        "cap_perfmon",         "cap_sys_admin", "cap_sys_chroot",
                                  "cap_sys_ptrace", "cap_dac_read_search", "cap_setpcap"};
// release reads the node as scan does; it needs nothing more to unmount.
const CapabilityList kReleaseSet = kScanSet;
// In capability order, as the ready event lists them.
const CapabilityList kTraceKeeps = {"cap_dac_read_search", "cap_sys_ptrace"};
// trace --release-leaks starts with trace's set and keeps what release's
// child needs besides: setns, chroot and umount2.
const CapabilityList kTraceReleaseKeeps = {"cap_dac_read_search", "cap_sys_chroot", "cap_sys_ptrace",
                                           "cap_sys_admin"};

// "--no-feature ..." from the vm lane reaches every trace through
// TraceProcess; the tier the trace tests expect comes the same way.
std::string expected_tier() {
  const char* tier = getenv("MOUNTLEAK_TEST_EXPECT_TIER");
  return tier && *tier ? tier : "tracepoint";
}

uint64_t mask_of(const CapabilityList& caps) {
  uint64_t mask = 0;
  for (const auto& name : caps) {
    cap_value_t c = 0;
    if (cap_from_name(name.c_str(), &c) != 0) ADD_FAILURE() << "libcap does not know " << name;
    mask |= uint64_t{1} << c;
  }
  return mask;
}

CapabilityList without(CapabilityList caps, const std::string& name) {
  std::erase(caps, name);
  return caps;
}

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  return s;
}

// Runs the child as uid 0 with exactly `caps` once it executes.
Launch with_exactly(const CapabilityList& caps) {
  const uint64_t keep = mask_of(caps);
  Launch launch;
  launch.enter = [keep] {
    for (cap_value_t c = 0; c < cap_max_bits(); ++c)
      if (!(keep & (uint64_t{1} << c)) && cap_get_bound(c) == 1 && cap_drop_bound(c) != 0) return false;
    if (cap_reset_ambient() != 0) return false;
    cap_t now = cap_get_proc();
    if (!now) return false;
    bool ok = cap_clear_flag(now, CAP_INHERITABLE) == 0 && cap_set_proc(now) == 0;
    cap_free(now);
    return ok;
  };
  return launch;
}

// The hex masks and flags of /proc/PID/status ("CapEff" -> 0x...).
std::map<std::string, uint64_t> status_of(pid_t pid) {
  std::map<std::string, uint64_t> out;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    if (key.rfind("Cap", 0) == 0) out[key] = std::stoull(line.substr(colon + 1), nullptr, 16);
    if (key == "NoNewPrivs") out[key] = std::stoull(line.substr(colon + 1));
  }
  return out;
}

std::string hex(uint64_t v) {
  std::ostringstream s;
  s << std::hex << v;
  return s.str();
}

// A process of another uid (nobody) that keeps the device open: its
// /proc/PID/fd is that uid's, mode 0500. Dumpable, as a process that never
// changed uid is (a setuid leaves it root-owned in /proc otherwise).
pid_t spawn_other_uid_fd_holder(const std::string& device) {
  return spawn_after_setup([&] {
    const int fd = open(device.c_str(), O_RDONLY | O_CLOEXEC);
    return fd >= 0 && setgid(65534) == 0 && setuid(65534) == 0 && prctl(PR_SET_DUMPABLE, 1) == 0 &&
           prctl(PR_SET_PDEATHSIG, SIGKILL) == 0;
  });
}

// A process of another uid that fails to open the device exclusively (it is
// mounted: EBUSY) through a node in a directory only that uid may search,
// and stays, so that trace can look the path up inside its root.
pid_t spawn_other_uid_busy_open(const std::string& dir, dev_t device) {
  const std::string node = dir + "/disk";
  if (mkdir(dir.c_str(), 0700) != 0 || mknod(node.c_str(), S_IFBLK | 0600, device) != 0 ||
      chown(node.c_str(), 65534, 65534) != 0 || chown(dir.c_str(), 65534, 65534) != 0)
    return -1;
  return spawn_after_setup([&] {
    if (setgid(65534) != 0 || setuid(65534) != 0 || prctl(PR_SET_DUMPABLE, 1) != 0 ||
        prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
      return false;
    const int fd = open(node.c_str(), O_RDONLY | O_EXCL | O_CLOEXEC);
    return fd < 0 && errno == EBUSY;
  });
}

void kill_and_reap(pid_t& pid) {
  if (pid > 0) kill(pid, SIGKILL), waitpid(pid, nullptr, 0);
  pid = -1;
}

// The seed node with a leak from a private log collector, a mount namespace
// only an nsfs bind mount keeps alive (setns needs CAP_SYS_ADMIN and
// CAP_SYS_CHROOT), and the device held open by a process of another uid
// (its /proc/PID/fd needs CAP_DAC_READ_SEARCH).
class LeastPrivilege : public ::testing::Test {
 protected:
  void SetUp() override {
    node_ = make_seed_node();
    ASSERT_NE(node_, nullptr);
    pins_ = node_->tmp_dir() + "/pins";
    ASSERT_EQ(mkdir(pins_.c_str(), 0755), 0);
    for (int attempt = 0; attempt < 20 && pinner_ <= 0; ++attempt) pinner_ = spawn_pinner(pins_);
    ASSERT_GT(pinner_, 0) << "could not pin a mount namespace";
    fd_holder_ = spawn_other_uid_fd_holder(node_->device_path());
    ASSERT_GT(fd_holder_, 0) << "could not start a holder of another uid";
  }
  void TearDown() override {
    kill_and_reap(busy_opener_);
    kill_and_reap(fd_holder_);
    kill_and_reap(pinner_);
    if (!node_) return;
    node_->teardown();
    EXPECT_TRUE(node_->teardown_errors().empty());
  }
  fixture::Container* start_collector() {
    fixture::ContainerSpec spec;
    spec.kind = ContainerKind::kLogCollectorPrivate;
    auto c = node_->start_container(spec);
    if (!c) ADD_FAILURE() << "container: " << c.error().message;
    return c ? *c : nullptr;
  }
  RunResult scan(const Launch& launch) {
    return run_mountleak(with({"scan", "-o", "json", "--device", node_->device_path()}, node_->cli_args()), 60s,
                         launch);
  }
  // Starts a trace limited by `launch`, makes the seed leak, and says
  // whether the trace named the collector in a leak finding.
  bool trace_finds_leak(TraceProcess& trace, fixture::Container& collector) {
    if (!node_->kubelet_unmount_pod_volume().ok() || !node_->kubelet_unmount_global().ok()) return false;
    return trace
        .wait_for(
            [&](const nlohmann::json& e) {
              return e.value("event", "") == "leak" && !holders_of_container(e, collector.id).empty();
            },
            10s)
        .has_value();
  }
  // Makes a busy exclusive open by another uid, in its private directory,
  // and says whether the trace named the device for it (which takes looking
  // the path up through that directory).
  bool trace_names_other_uid_busy(TraceProcess& trace) {
    busy_opener_ = spawn_other_uid_busy_open(node_->tmp_dir() + "/private", node_->dev());
    if (busy_opener_ <= 0) {
      ADD_FAILURE() << "no busy open by another uid";
      return false;
    }
    const pid_t opener = busy_opener_;
    return trace
        .wait_for(
            [&](const nlohmann::json& e) {
              return e.value("event", "") == "busy" && e["process"].value("pid", 0) == opener &&
                     e["device"].is_object() && e["device"].value("minor", ~0u) == node_->dev_id().minor;
            },
            10s)
        .has_value();
  }
  std::unique_ptr<fixture::SeedNode> node_;
  std::string pins_;
  pid_t busy_opener_ = -1;
  pid_t pinner_ = -1;
  pid_t fd_holder_ = -1;
};

TEST_F(LeastPrivilege, ALimitedChildHasExactlyThatSet) {
  RunResult r = run_mountleak({"/proc/self/status"}, 10s,
                              [&] {
                                Launch l = with_exactly(kScanSet);
                                l.binary = "/bin/cat";
                                return l;
                              }());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("CapEff:\t" + std::string(16 - hex(mask_of(kScanSet)).size(), '0') + hex(mask_of(kScanSet))),
            std::string::npos)
      << r.out;
}

TEST_F(LeastPrivilege, ScanWithExactlyItsSetFindsEveryHolder) {
  fixture::Container* collector = start_collector();
  ASSERT_NE(collector, nullptr);
  RunResult r = scan(with_exactly(kScanSet));
  ASSERT_EQ(r.exit_code, 1) << r.err;
  std::optional<nlohmann::json> device;
  for (const auto& line : r.json_lines())
    if (line.value("event", "") == "holders") device = line;
  ASSERT_TRUE(device) << r.out;
  auto leak = holders_of_container(*device, collector->id);
  ASSERT_EQ(leak.size(), 1u) << device->dump(2);
  EXPECT_EQ(leak[0]["role"], "leak");
  bool pinned = false, fd = false;
  for (const auto& h : (*device)["holders"]) {
    pinned = pinned || (h.contains("pinned_at") && h["role"] == "leak");
    if (h["role"] == "fd")
      for (const auto& f : h.value("fds", nlohmann::json::array())) fd = fd || f.value("pid", 0) == fd_holder_;
  }
  EXPECT_TRUE(pinned) << "the pinned namespace's copy was not read: " << device->dump(2) << r.err;
  EXPECT_TRUE(fd) << "the holder of another uid was not found: " << device->dump(2) << r.err;
}

// The same answer as root's: the same tiers, the same refusals (a kernel
// before 6.3 refuses rbd's remove_store hook to anyone).
TEST_F(LeastPrivilege, ProbeWithExactlyItsSetAnswersAsRootDoes) {
  std::vector<std::string> args = {"probe", "-o", "json"};
  if (const char* extra = std::getenv("MOUNTLEAK_TEST_TRACE_ARGS")) {
    std::istringstream words(extra);
    for (std::string word; words >> word;) args.push_back(word);
  }
  RunResult root = run_mountleak(args, 60s);
  RunResult limited = run_mountleak(args, 60s, with_exactly(kProbeSet));
  ASSERT_EQ(root.exit_code, 0) << root.err;
  ASSERT_EQ(limited.exit_code, 0) << limited.err;
  auto expected = root.json_lines();
  auto got = limited.json_lines();
  ASSERT_EQ(expected.size(), 1u) << root.out;
  ASSERT_EQ(got.size(), 1u) << limited.out;
  EXPECT_TRUE(got[0]["load"]["loaded"].get<bool>()) << got[0]["load"].dump();
  EXPECT_EQ(got[0]["load"]["refused"], expected[0]["load"]["refused"]);
  EXPECT_EQ(got[0]["tier"], expected[0]["tier"]);
  EXPECT_EQ(got[0]["programs"], expected[0]["programs"]);
  for (const char* hook : {"mntns_create", "setns", "mount", "umount", "open_excl_busy"})
    EXPECT_EQ(got[0]["tier"][hook], expected_tier()) << got[0].dump();
}

TEST_F(LeastPrivilege, TraceWithExactlyItsSetFindsTheLeakAndKeepsLess) {
  TraceProcess trace(node_->cli_args(), with_exactly(kTraceSet));
  ASSERT_TRUE(trace.started());
  auto ready = trace.wait_for_event("ready", 30s);
  ASSERT_TRUE(ready) << "no ready event; stderr: " << trace.stderr_text();
  EXPECT_EQ((*ready)["tier"]["mount"], expected_tier()) << ready->dump();
  EXPECT_EQ((*ready)["capabilities"], nlohmann::json(kTraceKeeps)) << ready->dump();
  std::string warnings = (*ready)["warnings"].dump();
  EXPECT_EQ(warnings.find("pinned"), std::string::npos) << "the pinned namespace was not read: " << warnings;

  fixture::Container* collector = start_collector();
  ASSERT_NE(collector, nullptr);
  EXPECT_TRUE(trace_names_other_uid_busy(trace)) << trace.describe() << trace.stderr_text();
  EXPECT_TRUE(trace_finds_leak(trace, *collector)) << trace.describe() << trace.stderr_text();
  EXPECT_EQ(trace.stop(), 0) << trace.stderr_text();
}

// The usual way to run it: as root with everything. What remains once
// attached is the kept set in every set, bounding included, and no_new_privs.
TEST_F(LeastPrivilege, RunningTraceHoldsOnlyTheKeptSet) {
  TraceProcess trace(node_->cli_args());
  ASSERT_TRUE(trace.started());
  auto ready = trace.wait_for_event("ready", 30s);
  ASSERT_TRUE(ready) << "no ready event; stderr: " << trace.stderr_text();
  auto status = status_of(trace.pid());
  const uint64_t keeps = mask_of(kTraceKeeps);
  EXPECT_EQ(hex(status["CapEff"]), hex(keeps));
  EXPECT_EQ(hex(status["CapPrm"]), hex(keeps));
  EXPECT_EQ(hex(status["CapBnd"]), hex(keeps));
  EXPECT_EQ(status["CapInh"], 0u);
  EXPECT_EQ(status["CapAmb"], 0u);
  EXPECT_EQ(status["NoNewPrivs"], 1u);
  EXPECT_EQ((*ready)["capabilities"], nlohmann::json(kTraceKeeps)) << ready->dump();

  // And it still does its job after the drop.
  fixture::Container* collector = start_collector();
  ASSERT_NE(collector, nullptr);
  EXPECT_TRUE(trace_names_other_uid_busy(trace)) << trace.describe() << trace.stderr_text();
  EXPECT_TRUE(trace_finds_leak(trace, *collector)) << trace.describe() << trace.stderr_text();
  EXPECT_EQ(trace.stop(), 0) << trace.stderr_text();
}

// --watch-modules keeps CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN only while
// some module can move a hook (ready's module_watch): here, a kernel
// without fexit or kprobes, none can, and trace drops them as always; in
// the vm lane, 6.1's rbd hook sits on kprobes, which do not hold rbd, so
// rbd is watched and the three are kept.
TEST_F(LeastPrivilege, WatchModulesKeepsMoreOnlyWhileAModuleCanMoveAHook) {
  TraceProcess trace(with({"--watch-modules"}, node_->cli_args()), with_exactly(kTraceSet));
  ASSERT_TRUE(trace.started());
  auto ready = trace.wait_for_event("ready", 30s);
  ASSERT_TRUE(ready) << "no ready event; stderr: " << trace.stderr_text();
  const auto watched = ready->value("module_watch", nlohmann::json::array());
  const CapabilityList watching = {"cap_dac_read_search", "cap_sys_ptrace", "cap_sys_admin", "cap_perfmon", "cap_bpf"};
  EXPECT_EQ((*ready)["capabilities"], nlohmann::json(watched.empty() ? kTraceKeeps : watching)) << ready->dump();
  auto status = status_of(trace.pid());
  EXPECT_EQ(hex(status["CapBnd"]), hex(mask_of(watched.empty() ? kTraceKeeps : watching)));
  EXPECT_EQ(status["NoNewPrivs"], 1u);
  EXPECT_EQ(trace.stop(), 0) << trace.stderr_text();
}

bool is_leak_release(const nlohmann::json& e) {
  return e.value("event", "") == "release" && e.value("role", "") == "leak";
}

// With exactly trace's set, --release-leaks releases the collector's copy and
// the copy in a namespace only an nsfs pin keeps (setns through the pin,
// chroot, umount2), and keeps exactly those four capabilities.
TEST_F(LeastPrivilege, TraceReleaseLeaksWithExactlyItsSetReleasesAndKeepsFour) {
  TraceProcess trace(with({"--release-leaks"}, node_->cli_args()), with_exactly(kTraceSet));
  ASSERT_TRUE(trace.started());
  auto ready = trace.wait_for_event("ready", 30s);
  ASSERT_TRUE(ready) << "no ready event; stderr: " << trace.stderr_text();
  EXPECT_EQ((*ready)["capabilities"], nlohmann::json(kTraceReleaseKeeps)) << ready->dump();
  auto status = status_of(trace.pid());
  const uint64_t keeps = mask_of(kTraceReleaseKeeps);
  EXPECT_EQ(hex(status["CapEff"]), hex(keeps));
  EXPECT_EQ(hex(status["CapPrm"]), hex(keeps));
  EXPECT_EQ(hex(status["CapBnd"]), hex(keeps));
  EXPECT_EQ(status["CapInh"], 0u);
  EXPECT_EQ(status["CapAmb"], 0u);
  EXPECT_EQ(status["NoNewPrivs"], 1u);

  fixture::Container* collector = start_collector();
  ASSERT_NE(collector, nullptr);
  ASSERT_TRUE(trace.wait_for(
      [&](const nlohmann::json& e) {
        return e.value("event", "") == "mntns_copy" && !holders_of_container(e, collector->id).empty();
      },
      10s))
      << trace.describe();
  ASSERT_TRUE(trace_finds_leak(trace, *collector)) << trace.describe() << trace.stderr_text();
  bool collector_done = false, pinned_done = false;
  const auto until = std::chrono::steady_clock::now() + 15s;
  while (!(collector_done && pinned_done) && std::chrono::steady_clock::now() < until) {
    trace.wait_for(is_leak_release, 1s);
    for (const auto& e : trace.events()) {
      if (!is_leak_release(e)) continue;
      EXPECT_EQ(e["action"], "done") << e.dump(2);
      if (e["action"] != "done") continue;
      collector_done =
          collector_done || (e["container"].is_object() && e["container"].value("id", "") == collector->id);
      pinned_done = pinned_done || e.contains("pinned_at");
    }
  }
  EXPECT_TRUE(collector_done) << trace.describe() << trace.stderr_text();
  EXPECT_TRUE(pinned_done) << trace.describe() << trace.stderr_text();
  EXPECT_EQ(trace.stop(), 0) << trace.stderr_text();
}

// release, measured like the others: with exactly its set it unmounts the
// collector's copy and the pinned namespace's.
TEST_F(LeastPrivilege, ReleaseWithExactlyItsSetReleasesEveryLeak) {
  fixture::Container* collector = start_collector();
  ASSERT_NE(collector, nullptr);
  ASSERT_TRUE(node_->kubelet_unmount_pod_volume().ok());
  ASSERT_TRUE(node_->kubelet_unmount_global().ok());
  RunResult r = run_mountleak(
      with({"release", "--device", node_->device_path(), "--yes", "-o", "json"}, node_->cli_args()), 60s,
      with_exactly(kReleaseSet));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;  // the other uid's open descriptor is refused
  bool collector_done = false, pinned_done = false, fd_refused = false;
  for (const auto& e : r.json_lines()) {
    if (e.value("event", "") != "release") continue;
    if (e["role"] == "fd") fd_refused = fd_refused || e["action"] == "refused";
    if (e["role"] != "leak") continue;
    EXPECT_EQ(e["action"], "done") << e.dump(2);
    collector_done = collector_done || (e["container"].is_object() && e["container"].value("id", "") == collector->id);
    pinned_done = pinned_done || (e.contains("pinned_at") && e["action"] == "done");
  }
  EXPECT_TRUE(collector_done) << r.out << r.err;
  EXPECT_TRUE(pinned_done) << r.out << r.err;
  EXPECT_TRUE(fd_refused) << r.out << r.err;
}

// One capability fewer than the table says: exit 2, naming it.
struct OneFewer {
  std::string command;
  std::string missing;
};

void PrintTo(const OneFewer& p, std::ostream* os) { *os << p.command << " without " << p.missing; }

std::vector<OneFewer> one_fewer_cases() {
  std::vector<OneFewer> out;
  for (const auto& [command, set] :
       std::vector<std::pair<std::string, CapabilityList>>{{"probe", kProbeSet},
                                                           {"scan", kScanSet},
                                                           {"release", kReleaseSet},
                                                           {"trace", kTraceSet},
                                                           {"trace_release_leaks", kTraceSet}})
    for (const auto& cap : set) out.push_back({command, cap});
  return out;
}

class LeastPrivilegeOneFewer : public LeastPrivilege, public ::testing::WithParamInterface<OneFewer> {};

TEST_P(LeastPrivilegeOneFewer, ExitsTwoNamingIt) {
  const OneFewer& p = GetParam();
  const CapabilityList& full = p.command == "probe"     ? kProbeSet
                               : p.command == "scan"    ? kScanSet
                               : p.command == "release" ? kReleaseSet
                                                        : kTraceSet;
  const bool releasing_trace = p.command == "trace_release_leaks";
  const std::string command = releasing_trace ? "trace" : p.command;
  const Launch launch = with_exactly(without(full, p.missing));
  fixture::Container* collector = start_collector();
  ASSERT_NE(collector, nullptr);
  int code = -1;
  std::string err;
  std::string what_it_did;
  if (p.command == "probe") {
    RunResult r = run_mountleak({"probe", "-o", "json"}, 60s, launch);
    code = r.exit_code, err = r.err, what_it_did = r.out;
  } else if (p.command == "scan") {
    RunResult r = scan(launch);
    code = r.exit_code, err = r.err, what_it_did = r.out;
  } else if (p.command == "release") {
    if (!node_->kubelet_unmount_pod_volume().ok() || !node_->kubelet_unmount_global().ok())
      ADD_FAILURE() << "the kubelet's unmounts failed";
    RunResult r = run_mountleak(
        with({"release", "--device", node_->device_path(), "--yes", "-o", "json"}, node_->cli_args()), 60s, launch);
    code = r.exit_code, err = r.err, what_it_did = r.out;
  } else {
    TraceProcess trace(releasing_trace ? with({"--release-leaks"}, node_->cli_args()) : node_->cli_args(), launch);
    ASSERT_TRUE(trace.started());
    if (auto ready = trace.wait_for_event("ready", 30s)) {
      what_it_did = "started (warnings: " + (*ready)["warnings"].dump() + "); the busy open by another uid was ";
      what_it_did += trace_names_other_uid_busy(trace) ? "named" : "not named";
      what_it_did += std::string("; the leak was ") + (trace_finds_leak(trace, *collector) ? "" : "not ") +
                     "found; events: " + trace.describe();
    }
    code = trace.stop();
    err = trace.stderr_text();
  }
  EXPECT_EQ(code, 2) << what_it_did << "\nstderr: " << err;
  EXPECT_NE(err.find(upper(p.missing)), std::string::npos) << err;
  EXPECT_NE(err.find("mountleak " + command), std::string::npos) << err;
  // What the two kept for releasing are for, said.
  if (releasing_trace && (p.missing == "cap_sys_admin" || p.missing == "cap_sys_chroot")) {
    EXPECT_NE(err.find("--release-leaks"), std::string::npos) << err;
  }
}

INSTANTIATE_TEST_SUITE_P(Commands, LeastPrivilegeOneFewer, ::testing::ValuesIn(one_fewer_cases()),
                         [](const ::testing::TestParamInfo<OneFewer>& info) {
                           return info.param.command + "_without_" + info.param.missing;
                         });

}  // namespace
}  // namespace mountleak::testing
