// SPDX-License-Identifier: Apache-2.0
// `scan --mount-table statmount` and `--mount-table mountinfo` must find the
// same holders, with the same mount points, roots, propagation and
// containers, on a node built to make them differ: the loop-mounted volume
// bound in the host with shared, slave, private and unbindable propagation at
// mount points holding a space, a tab, a newline, a backslash (also before
// digits, as an escape would look), bytes that are not UTF-8, and a path deep
// enough to approach PATH_MAX; log collectors copying it privately and as
// slaves, the owner pod, a descriptor holder.

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "mountleak_process.h"
#include "seed_test_support.h"
#include "sources/mount_api.h"
#include "sources/statmount_reader.h"

namespace mountleak::testing {
namespace {

const std::string kHostile = "/hostile a\tb\nc\\d\\040e\xff\xfe";

// About 3,000 bytes below the node's directory: deep, and short enough that
// the collector's copy (the same path below its root) stays under PATH_MAX.
std::string deep_suffix() {
  std::string s;
  while (s.size() < 3000) s += "/d123456789abcdef0123456789abcdef";
  return s;
}

Status mkdirs(const std::string& path) {
  for (size_t i = 1; i <= path.size(); ++i) {
    if (i != path.size() && path[i] != '/') continue;
    const std::string part = path.substr(0, i);
    if (::mkdir(part.c_str(), 0755) != 0 && errno != EEXIST) return Error::from_errno("mkdir " + part);
  }
  return ok_status();
}

// Binds `from` at `to` (made first) and sets its propagation.
Status bind_with(const std::string& from, const std::string& to, unsigned long propagation) {
  if (auto st = mkdirs(to); !st) return st;
  if (::mount(from.c_str(), to.c_str(), nullptr, MS_BIND, nullptr) != 0) return Error::from_errno("bind " + to);
  if (propagation && ::mount(nullptr, to.c_str(), nullptr, propagation, nullptr) != 0)
    return Error::from_errno("propagation of " + to);
  return ok_status();
}

// listmount(2) and statmount(2) refused with `err`, as a kernel without them
// (ENOSYS) or a container runtime's seccomp profile (EPERM) would: installed
// in the child just before exec, so only mountleak sees it.
bool refuse_mount_api(int err) {
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, mount_api::kSysListmount, 1, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, mount_api::kSysStatmount, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | static_cast<unsigned>(err)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog prog{static_cast<unsigned short>(sizeof filter / sizeof filter[0]), filter};
  return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 && prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0;
}

// What a finding is: everything but when it was printed, and of the summary
// only what it found (the counters and method differ by design).
// Each run's own mountleak process is a member of the host's namespace, so
// it is left out of the holders' pids and processes.
nlohmann::json comparable(std::vector<nlohmann::json> lines) {
  nlohmann::json out = nlohmann::json::array();
  for (auto& l : lines) {
    l.erase("time");
    if (l.contains("holders"))
      for (auto& h : l["holders"]) {
        if (!h.contains("processes")) continue;
        nlohmann::json kept = nlohmann::json::array();
        for (auto& p : h["processes"]) {
          if (p.value("comm", "") == "mountleak") {
            auto& pids = h["pids"];
            pids.erase(std::remove(pids.begin(), pids.end(), p["pid"]), pids.end());
          } else {
            kept.push_back(p);
          }
        }
        h["processes"] = kept;
      }
    if (l.value("event", "") == "scan_summary")
      l = {{"event", "scan_summary"}, {"devices", l["devices"]}, {"needs_action", l["needs_action"]},
           {"warnings", l["warnings"]}, {"issues", l["issues"]}};
    out.push_back(std::move(l));
  }
  return out;
}

class MountTableNode : public ::testing::Test {
 protected:
  void SetUp() override {
    node_ = make_seed_node();
    ASSERT_NE(node_, nullptr);
    // Host binds of the global mount, one per propagation.
    const std::string base = node_->tmp_dir() + kHostile;
    const std::string global = node_->global_mount_path();
    ASSERT_TRUE(bind_with(global, base + "/shared", MS_SHARED));
    ASSERT_TRUE(bind_with(global, base + "/slave", MS_SLAVE));
    ASSERT_TRUE(bind_with(global, base + "/private", MS_PRIVATE));
    ASSERT_TRUE(bind_with(global, base + "/unbindable", MS_UNBINDABLE));
    ASSERT_TRUE(bind_with(global, node_->tmp_dir() + deep_suffix(), MS_PRIVATE));

    fixture::ContainerSpec leak;
    // Valid UTF-8: the runtime's metadata is JSON. The host's binds carry
    // the bytes that are not.
    leak.kubelet_mount_point = "/var/lib/kube let\n\\134\tx";
    fixture::ContainerSpec deep;
    deep.kubelet_mount_point = "/var/lib/kubelet" + deep_suffix().substr(0, 2000);
    fixture::ContainerSpec slave;
    slave.kind = fixture::ContainerKind::kLogCollectorSlave;
    slave.kubelet_mount_point = "/var/lib/kubelet\t(slave)";
    fixture::ContainerSpec owner;
    owner.kind = fixture::ContainerKind::kVolumeOwner;
    fixture::ContainerSpec fd;
    fd.kind = fixture::ContainerKind::kFdHolder;
    for (const auto& spec : {leak, deep, slave, owner, fd}) {
      auto c = node_->start_container(spec);
      ASSERT_TRUE(c) << c.error().message;
    }
  }
  void TearDown() override {
    if (!node_) return;
    node_->teardown();
    EXPECT_TRUE(node_->teardown_errors().empty());
  }

  // scan -o json --mount-table `asked`; its summary must say `used`.
  std::vector<nlohmann::json> scan(const std::string& asked, std::vector<std::string> extra = {},
                                   const Launch& launch = {}, const std::string& used = "") {
    auto args = with({"scan", "-o", "json", "--mount-table", asked}, node_->cli_args());
    args = with(args, extra.empty() ? std::vector<std::string>{"--device", node_->device_path()} : extra);
    RunResult r = run_mountleak(args, std::chrono::seconds(60), launch);
    EXPECT_EQ(r.exit_code, 1) << r.err;
    std::vector<nlohmann::json> lines;
    EXPECT_NO_THROW(lines = r.json_lines()) << r.out;
    EXPECT_FALSE(lines.empty()) << r.out << r.err;
    if (!lines.empty()) {
      const auto& summary = lines.back();
      EXPECT_EQ(summary["method"], used.empty() ? asked : used) << summary.dump();
      EXPECT_EQ(summary["counters"]["statmount_fallbacks"], 0) << summary.dump();
      last_summary_ = summary;
    }
    return lines;
  }

  nlohmann::json last_summary_;

  std::unique_ptr<fixture::SeedNode> node_;
};

// Needs a kernel whose statmount has every field (6.15+): the vm lane's
// 6.1 guest leaves this suite out and runs MountTableFallback instead.
class MountTableStatmount : public MountTableNode {
 protected:
  void SetUp() override {
    const MountTableChoice here = choose_mount_table_on("/proc", MountTableMethod::kAuto);
    ASSERT_TRUE(here.statmount) << "this kernel cannot give statmount's fields (" << here.reason
                                << "): nothing to compare here";
    MountTableNode::SetUp();
  }
};

TEST_F(MountTableStatmount, StatmountAndMountinfoFindTheSameHolders) {
  const auto by_statmount = scan("statmount");
  const auto by_text = scan("mountinfo");
  ASSERT_GE(by_statmount.size(), 2u);
  // Not a vacuous match: the leak, the deep copy, the host's hostile binds
  // and the fd holder are there.
  const std::string found = by_statmount[0].dump();
  for (const std::string needle : {"\"role\":\"leak\"", "\"role\":\"fd\"", "unbindable", "hostile a\\tb\\nc\\\\d",
                                   "d123456789abcdef0123456789abcdef/d123456789abcdef"})
    EXPECT_NE(found.find(needle), std::string::npos) << needle << " not in " << found;
  EXPECT_EQ(nlohmann::json::diff(comparable(by_statmount), comparable(by_text)), nlohmann::json::array());
}

TEST_F(MountTableStatmount, AllAgreesToo) {
  EXPECT_EQ(nlohmann::json::diff(comparable(scan("statmount", {"--all"})), comparable(scan("mountinfo", {"--all"}))),
            nlohmann::json::array());
}

TEST_F(MountTableStatmount, TheTableSaysTheMethod) {
  RunResult table = run_mountleak(with({"scan", "--device", node_->device_path()}, node_->cli_args()));
  EXPECT_EQ(table.exit_code, 1) << table.err;
  EXPECT_NE(table.out.find("mount namespaces read via statmount."), std::string::npos) << table.out;
  RunResult forced =
      run_mountleak(with({"scan", "--mount-table", "mountinfo", "--device", node_->device_path()}, node_->cli_args()));
  EXPECT_NE(forced.out.find("read via mountinfo (--mount-table mountinfo)"), std::string::npos) << forced.out;
}

// Where the kernel has no listmount/statmount (ENOSYS) or a seccomp filter
// refuses them (EPERM), auto reads mountinfo, says why, and finds what
// mountinfo finds; demanding statmount there is an error. On any kernel.
class MountTableFallback : public MountTableNode, public ::testing::WithParamInterface<int> {};

TEST_P(MountTableFallback, AutoFallsBackSaysWhyAndFindsTheSame) {
  const int err = GetParam();
  const Launch refused{MOUNTLEAK_BINARY, [err] { return refuse_mount_api(err); }};
  const auto by_auto = scan("auto", {}, refused, "mountinfo");
  const std::string note = last_summary_.value("method_note", "");
  // A kernel without NS_GET_MNTNS_ID (before 6.11: Debian's 6.1) is turned
  // down at that ioctl, which the filter does not touch, before any
  // listmount call; the note says so instead.
  const bool names_namespaces_by_id = probe_statmount("/proc").ns_id_errno == 0;
  const std::string why = !names_namespaces_by_id ? "NS_GET_MNTNS_ID"
                          : err == ENOSYS         ? "is not in this kernel (ENOSYS)"
                                                  : "is refused (EPERM";
  EXPECT_NE(note.find(why), std::string::npos) << last_summary_.dump();
  const auto by_text = scan("mountinfo");
  ASSERT_GE(by_auto.size(), 2u);
  EXPECT_NE(by_auto[0].dump().find("\"role\":\"leak\""), std::string::npos) << by_auto[0].dump();
  EXPECT_EQ(nlohmann::json::diff(comparable(by_auto), comparable(by_text)), nlohmann::json::array());

  RunResult demanded = run_mountleak(
      with({"scan", "--mount-table", "statmount", "--device", node_->device_path()}, node_->cli_args()),
      std::chrono::seconds(60), refused);
  EXPECT_EQ(demanded.exit_code, 2) << demanded.out << demanded.err;
  EXPECT_NE(demanded.err.find("--mount-table statmount: "), std::string::npos) << demanded.err;
}

INSTANTIATE_TEST_SUITE_P(Refusals, MountTableFallback, ::testing::Values(ENOSYS, EPERM),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return std::string(info.param == ENOSYS ? "ENOSYS" : "EPERM");
                         });

}  // namespace
}  // namespace mountleak::testing
