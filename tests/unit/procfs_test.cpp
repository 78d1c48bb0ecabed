// SPDX-License-Identifier: Apache-2.0
// procfs helpers, the namespace enumerator and fd holders: against synthetic
// proc trees under a temp dir, and for sanity against this machine's /proc.

#include "sources/procfs.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "findings/attribution.h"
#include "sources/fd_holders.h"
#include "sources/namespace_enumerator.h"
#include "sources/task_namespaces.h"

namespace mountleak {
namespace {

namespace fs = std::filesystem;

// A scratch directory removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "mountleak-procfs-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data()) ? tmpl : "";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void write_file(const std::string& path, std::string_view content) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
}

uint64_t inode_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_ino;
}

// ---- stat and cmdline parsing ---------------------------------------------

TEST(ParseProcStat, CommWithSpacesAndParens) {
  auto st = parse_proc_stat("4683 (bash) (x) y) S 4658 4683 4683 0 -1 4194560 123 0 0 0\n");
  ASSERT_TRUE(st);
  EXPECT_EQ(st->comm, "bash) (x) y");
  EXPECT_EQ(st->state, 'S');
  EXPECT_EQ(st->ppid, 4658);
  EXPECT_EQ(st->flags, 4194560u);
  EXPECT_FALSE(st->kernel_thread());
}

TEST(ParseProcStat, KernelThreadAndBadInput) {
  auto kthread = parse_proc_stat("2 (kthreadd) S 0 0 0 0 -1 2129984 0 0");
  ASSERT_TRUE(kthread);
  EXPECT_TRUE(kthread->kernel_thread());
  EXPECT_EQ(kthread->ppid, 0);
  EXPECT_FALSE(parse_proc_stat(""));
  EXPECT_FALSE(parse_proc_stat("1 (init S 0 1 1 0 -1 0"));
  EXPECT_FALSE(parse_proc_stat("1 (init) S"));
  EXPECT_FALSE(parse_proc_stat("1 (init) S x 1 1 0 -1 0"));
  EXPECT_FALSE(parse_proc_stat("1 (init) SS 0 1 1 0 -1 0"));
}

TEST(SplitCmdline, NulSeparatedArgv) {
  using V = std::vector<std::string>;
  EXPECT_EQ(split_cmdline(std::string_view("/bin/bash\0/run.sh\0", 18)),
            (V{"/bin/bash", "/run.sh"}));
  EXPECT_EQ(split_cmdline(std::string_view("a\0\0b\0", 5)), (V{"a", "", "b"}));
  EXPECT_EQ(split_cmdline("rewritten argv no nul"), (V{"rewritten argv no nul"}));
  EXPECT_TRUE(split_cmdline("").empty());
}

// ---- file reading ---------------------------------------------------------

TEST(ReadFile, ProcFileWithZeroSize) {
  struct stat st {};
  ASSERT_EQ(::stat("/proc/self/mountinfo", &st), 0);
  EXPECT_EQ(st.st_size, 0);
  auto text = read_file("/proc/self/mountinfo");
  ASSERT_TRUE(text) << text.error().message;
  EXPECT_FALSE(text->empty());
  EXPECT_EQ(text->back(), '\n');
}

TEST(ReadFile, LargeRegularFileExactly) {
  TempDir tmp;
  std::string big;
  for (int i = 0; big.size() < 300000; ++i) big += std::to_string(i) + (i % 7 ? ' ' : '\n');
  write_file(tmp.path() + "/big", big);
  auto text = read_file(tmp.path() + "/big");
  ASSERT_TRUE(text);
  EXPECT_EQ(*text, big);

  std::string buf = "old contents that must go";
  ASSERT_TRUE(read_file_into(tmp.path() + "/big", buf));
  EXPECT_EQ(buf, big);
  write_file(tmp.path() + "/empty", "");
  ASSERT_TRUE(read_file_into(tmp.path() + "/empty", buf));
  EXPECT_TRUE(buf.empty());
}

TEST(ReadFile, MissingFileNamesPathAndErrno) {
  auto text = read_file("/nonexistent/mountleak/file");
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().errno_value, ENOENT);
  EXPECT_NE(text.error().message.find("/nonexistent/mountleak/file"), std::string::npos);
  EXPECT_TRUE(process_vanished(text.error()));
  EXPECT_FALSE(process_vanished(Error{"x", EACCES}));
}

// ---- this machine's /proc -------------------------------------------------

TEST(RealProc, ListsOurselvesAndOurNamespace) {
  const auto pids = list_pids("/proc");
  EXPECT_TRUE(std::is_sorted(pids.begin(), pids.end()));
  EXPECT_TRUE(std::binary_search(pids.begin(), pids.end(), static_cast<int>(::getpid())));
  auto ino = ns_inode("/proc", ::getpid(), "mnt");
  ASSERT_TRUE(ino) << ino.error().message;
  EXPECT_EQ(*ino, inode_of("/proc/self/ns/mnt"));
  EXPECT_FALSE(ns_inode("/proc", ::getpid(), "nosuchns"));
}

TEST(RealProc, OwnProcessDetails) {
  auto info = read_process_info("/proc", ::getpid());
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->pid, ::getpid());
  EXPECT_EQ(info->ppid, ::getppid());
  EXPECT_EQ(*read_ppid("/proc", ::getpid()), ::getppid());
  EXPECT_EQ(info->comm, *read_comm("/proc", ::getpid()));
  ASSERT_FALSE(info->cmdline.empty());
  EXPECT_NE(info->cmdline[0].find("unit_tests"), std::string::npos);
  EXPECT_FALSE(info->cgroup.empty());
  EXPECT_FALSE(info->kernel_thread);
}

TEST(RealProc, EnumerateFindsOwnNamespace) {
  HostPaths paths;
  auto snap = enumerate_node(paths, EnumerateOptions{});
  ASSERT_TRUE(snap) << snap.error().message;
  const uint64_t own = inode_of("/proc/self/ns/mnt");
  ASSERT_TRUE(snap->namespaces.count(own));
  const auto& ns = snap->namespaces.at(own);
  EXPECT_TRUE(std::binary_search(ns.pids.begin(), ns.pids.end(), static_cast<int>(::getpid())));
  EXPECT_FALSE(ns.mounts.empty());
  EXPECT_TRUE(ns.read_error.empty());
  // statmount where this kernel (and our privileges) allow it, else text.
  EXPECT_EQ(snap->method, choose_mount_table_on(paths.proc(), MountTableMethod::kAuto).method);
  EXPECT_EQ(snap->counters.namespaces, snap->namespaces.size());
  EXPECT_GE(snap->counters.pids_listed, 2u);
  EXPECT_GE(snap->counters.mountinfo_lines + snap->counters.statmount_mounts, ns.mounts.size());
  // Either way, the same table as mountinfo's text.
  EnumerateOptions text;
  text.mount_table = MountTableMethod::kMountinfo;
  auto by_text = enumerate_node(paths, text);
  ASSERT_TRUE(by_text) << by_text.error().message;
  EXPECT_EQ(by_text->method, "mountinfo");
  ASSERT_TRUE(by_text->namespaces.count(own));
  EXPECT_EQ(by_text->namespaces.at(own).mounts, ns.mounts);
  ASSERT_TRUE(snap->processes.count(::getpid()));
  EXPECT_EQ(snap->processes.at(::getpid()).mntns, own);

  // Where PID 1's namespace cannot be read (this machine), the host is ours
  // and the result says so.
  if (!ns_inode_of_path("/proc/1/ns/mnt")) {
    EXPECT_EQ(snap->host_mntns, own);
    EXPECT_EQ(snap->host_mntns_source, "/proc/self/ns/mnt");
    ASSERT_FALSE(snap->warnings.empty());
    EXPECT_NE(snap->warnings.front().find("--host-mntns"), std::string::npos);
  } else {
    EXPECT_EQ(snap->host_mntns, inode_of("/proc/1/ns/mnt"));
  }

  EnumerateOptions by_pid;
  by_pid.host_mntns = std::to_string(::getpid());
  by_pid.process_details = false;
  auto again = enumerate_node(paths, by_pid);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->host_mntns, own);
  EXPECT_TRUE(again->processes.empty());

  EnumerateOptions bad;
  bad.host_mntns = "/nonexistent/ns/mnt";
  auto failed = enumerate_node(paths, bad);
  ASSERT_FALSE(failed);
  EXPECT_NE(failed.error().message.find("/nonexistent/ns/mnt"), std::string::npos);
}

TEST(RealProc, ReadNamespaceOfSelf) {
  auto ns = read_namespace_of(HostPaths{}, ::getpid());
  ASSERT_TRUE(ns) << ns.error().message;
  EXPECT_EQ(ns->inode, inode_of("/proc/self/ns/mnt"));
  EXPECT_EQ(ns->pids, std::vector<int>{::getpid()});
  EXPECT_FALSE(ns->mounts.empty());
  EXPECT_FALSE(read_namespace_of(HostPaths{}, 0x3fffffff));
}


// ---- a synthetic proc tree -------------------------------------------------

// pid 1 and 10 share namespace A (hard links share the inode), 20 and 21
// share B but 20's mountinfo is gone (it exited), 30 lost its ns file (exited
// between listing and stat), 40 is in C and has a malformed line.
class SyntheticProc : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    paths_.host_root = tmp_.path();
    proc_ = paths_.proc();
    const std::string host_mi =
        "1 0 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
        "2 1 252:16 / /var/lib/kubelet/pods/u/volumes/kubernetes.io~rbd/v rw shared:2 - ext4 "
        "/dev/rbd1 rw\n"
        "3 1 0:4 mnt:[4026532999] /run/pinned rw - nsfs nsfs rw\n"
        "4 1 0:4 net:[4026532111] /run/netns/x rw - nsfs nsfs rw\n";
    make_process(1, "A", host_mi, "1 (init) S 0 1 1 0 -1 4194560 0",
                 std::string("/sbin/init\0", 11));
    make_process(10, "", "", "10 (kubelet) S 1 10 10 0 -1 4194560 0",
                 std::string("kubelet\0--v=2\0", 14));
    ASSERT_EQ(::link((proc_ + "/1/ns/mnt").c_str(), (proc_ + "/10/ns/mnt").c_str()), 0);

    const std::string leaked_mi =
        "50 40 8:1 /var/lib/kubelet /var/lib/kubelet rw - ext4 /dev/sda1 rw\n"
        "51 50 252:16 / /var/lib/kubelet/pods/u/volumes/kubernetes.io~rbd/v rw - ext4 /dev/rbd1 "
        "rw\n";
    make_process(20, "B", "", "20 (sh) S 1 20 20 0 -1 4194560 0", std::string("sh\0", 3));
    fs::remove(proc_ + "/20/mountinfo");
    make_process(21, "", leaked_mi, "21 (td-agent) S 20 20 20 0 -1 4194560 0",
                 std::string("ruby\0td-agent\0", 14));
    ASSERT_EQ(::link((proc_ + "/20/ns/mnt").c_str(), (proc_ + "/21/ns/mnt").c_str()), 0);

    make_process(30, "D", "", "30 (gone) S 1 30 30 0 -1 4194560 0", "");
    fs::remove(proc_ + "/30/ns/mnt");

    make_process(40, "C", "60 1 8:1 / / rw - ext4 /dev/sda1 rw\nbroken line\n",
                 "40 (app) S 1 40 40 0 -1 4194560 0", std::string("app\0", 4));
    fs::create_directories(proc_ + "/not-a-pid");
    write_file(proc_ + "/self", "");
  }

  void make_process(int pid, const std::string& ns, const std::string& mountinfo,
                    const std::string& stat, const std::string& cmdline) {
    const std::string dir = proc_ + "/" + std::to_string(pid);
    fs::create_directories(dir + "/ns");
    if (!ns.empty()) write_file(dir + "/ns/mnt", ns);
    if (!mountinfo.empty()) write_file(dir + "/mountinfo", mountinfo);
    write_file(dir + "/stat", stat);
    write_file(dir + "/cmdline", cmdline);
    write_file(dir + "/cgroup", "0::/kubepods.slice/pod" + std::to_string(pid) + "\n");
  }

  uint64_t ns_of(int pid) { return inode_of(proc_ + "/" + std::to_string(pid) + "/ns/mnt"); }

  TempDir tmp_;
  HostPaths paths_;
  std::string proc_;
};

TEST_F(SyntheticProc, ListsOnlyNumericEntries) {
  EXPECT_EQ(list_pids(proc_), (std::vector<int>{1, 10, 20, 21, 30, 40}));
  EXPECT_TRUE(list_pids(tmp_.path() + "/nonexistent").empty());
}

TEST_F(SyntheticProc, GroupsByNamespaceAndReadsEachOnce) {
  auto snap = enumerate_node(paths_, EnumerateOptions{});
  ASSERT_TRUE(snap) << snap.error().message;
  const uint64_t a = ns_of(1), b = ns_of(20), c = ns_of(40);

  EXPECT_EQ(snap->host_mntns, a);
  EXPECT_EQ(snap->host_mntns_source, proc_ + "/1/ns/mnt");
  EXPECT_EQ(snap->counters.pids_listed, 6u);

  ASSERT_TRUE(snap->namespaces.count(a));
  EXPECT_EQ(snap->namespaces.at(a).pids, (std::vector<int>{1, 10}));
  EXPECT_EQ(snap->namespaces.at(a).mounts.size(), 4u);
  EXPECT_EQ(snap->namespaces.at(a).mountinfo_origin, proc_ + "/1/mountinfo");

  // 20's mountinfo vanished: read through 21, and 20 is dropped as gone.
  ASSERT_TRUE(snap->namespaces.count(b));
  const auto& leaked = snap->namespaces.at(b);
  EXPECT_EQ(leaked.pids, std::vector<int>{21});
  ASSERT_EQ(leaked.mounts.size(), 2u);
  EXPECT_EQ(leaked.mounts[1].dev, (DevId{252, 16}));
  EXPECT_EQ(leaked.mounts[0].root, "/var/lib/kubelet");

  // 30 (ns file gone) and 20 are counted, not errors.
  EXPECT_EQ(snap->counters.pids_vanished, 2u);
  EXPECT_EQ(snap->counters.pids_unreadable, 0u);

  // The malformed line is reported with its file and line.
  ASSERT_TRUE(snap->namespaces.count(c));
  EXPECT_EQ(snap->namespaces.at(c).mounts.size(), 1u);
  ASSERT_EQ(snap->issues.size(), 1u);
  EXPECT_EQ(snap->issues[0].origin, proc_ + "/40/mountinfo");
  EXPECT_EQ(snap->issues[0].line, 2u);
  EXPECT_EQ(snap->counters.parse_issues, 1u);
  EXPECT_EQ(snap->counters.mountinfo_lines, 4u + 2u + 2u);

  // The nsfs bind of mnt:[4026532999] has no process: reported as pinned;
  // there is no real nsfs file to enter here, so it comes with a warning.
  ASSERT_TRUE(snap->namespaces.count(4026532999u));
  const auto& pinned = snap->namespaces.at(4026532999u);
  EXPECT_TRUE(pinned.pinned_only);
  EXPECT_EQ(pinned.pinned_at, "/run/pinned");
  EXPECT_EQ(pinned.pinned_from, a);
  EXPECT_TRUE(pinned.pids.empty());
  EXPECT_FALSE(pinned.read_error.empty());
  EXPECT_TRUE(std::any_of(snap->warnings.begin(), snap->warnings.end(), [](const std::string& w) {
    return w.find("pinned at /run/pinned") != std::string::npos;
  }));
  // net:[...] nsfs mounts are not mount namespaces.
  EXPECT_EQ(snap->namespaces.size(), 4u);
  EXPECT_EQ(snap->counters.namespaces, 4u);

  // Process details, with comm taken from stat and argv split.
  ASSERT_TRUE(snap->processes.count(21));
  const auto& td = snap->processes.at(21);
  EXPECT_EQ(td.comm, "td-agent");
  EXPECT_EQ(td.ppid, 20);
  EXPECT_EQ(td.cmdline, (std::vector<std::string>{"ruby", "td-agent"}));
  EXPECT_EQ(td.cgroup, "0::/kubepods.slice/pod21\n");
  EXPECT_EQ(td.mntns, b);
  EXPECT_FALSE(snap->processes.count(20));
  EXPECT_FALSE(snap->processes.count(30));
}

// An unbounded walk reads namespaces on several threads, a bounded one in
// order; with bounds that bind nothing both must give the same snapshot,
// down to the order of warnings and issues.
TEST_F(SyntheticProc, ParallelAndSequentialReadsGiveTheSameSnapshot) {
  write_file(proc_ + "/40/mountinfo", "not a mountinfo line\n" + read_file(proc_ + "/40/mountinfo").value());
  auto parallel = enumerate_node(paths_, EnumerateOptions{});
  EnumerateOptions bounded;
  bounded.limits.max_namespaces = 1000;  // never reached: only makes the walk sequential
  auto sequential = enumerate_node(paths_, bounded);
  ASSERT_TRUE(parallel && sequential);
  EXPECT_EQ(parallel->namespaces.size(), sequential->namespaces.size());
  for (const auto& [ino, ns] : sequential->namespaces) {
    ASSERT_TRUE(parallel->namespaces.count(ino)) << ino;
    const auto& p = parallel->namespaces.at(ino);
    EXPECT_EQ(p.pids, ns.pids);
    EXPECT_EQ(p.mounts, ns.mounts);
    EXPECT_EQ(p.mountinfo_origin, ns.mountinfo_origin);
    EXPECT_EQ(p.read_error, ns.read_error);
  }
  EXPECT_EQ(parallel->warnings, sequential->warnings);
  ASSERT_EQ(parallel->issues.size(), sequential->issues.size());
  ASSERT_FALSE(parallel->issues.empty());
  EXPECT_EQ(parallel->issues[0].origin, sequential->issues[0].origin);
  EXPECT_EQ(parallel->counters.mountinfo_lines, sequential->counters.mountinfo_lines);
  EXPECT_EQ(parallel->counters.parse_issues, sequential->counters.parse_issues);
  EXPECT_EQ(parallel->counters.pids_vanished, sequential->counters.pids_vanished);
}

TEST_F(SyntheticProc, LimitsLeaveOutTrimAndRefuseButNeverTheHost) {
  const uint64_t a = ns_of(1), b = ns_of(20), c = ns_of(40);
  EnumerateOptions options;
  options.process_details = false;
  options.limits.max_namespaces = 2;  // the host and one more
  auto snap = enumerate_node(paths_, options);
  ASSERT_TRUE(snap) << snap.error().message;
  EXPECT_TRUE(snap->namespaces.count(a));
  EXPECT_EQ(snap->namespaces.count(b) + snap->namespaces.count(c), 1u);
  EXPECT_EQ(snap->namespaces.size(), 2u);  // and the pinned one left out too
  EXPECT_EQ(snap->counters.namespaces_left_out, 2u);

  options.limits = {};
  options.limits.max_mounts = 4;  // the host's four fill it
  options.limits.keep_when_full = [](const MountEntry& m) { return m.dev == DevId{252, 16}; };
  snap = enumerate_node(paths_, options);
  ASSERT_TRUE(snap);
  EXPECT_FALSE(snap->namespaces.at(a).trimmed);
  EXPECT_EQ(snap->namespaces.at(a).mounts.size(), 4u);
  const auto& leaked = snap->namespaces.at(b);
  EXPECT_TRUE(leaked.trimmed);
  ASSERT_EQ(leaked.mounts.size(), 1u);  // the rbd mount kept, the bind source not
  EXPECT_EQ(leaked.mounts[0].dev, (DevId{252, 16}));
  EXPECT_TRUE(snap->namespaces.at(c).mounts.empty());
  EXPECT_EQ(snap->counters.namespaces_trimmed, 2u);

  options.limits = {};
  options.limits.max_mountinfo_bytes = 100;  // less than the host's table
  snap = enumerate_node(paths_, options);
  ASSERT_TRUE(snap);
  EXPECT_TRUE(snap->namespaces.at(a).mounts.empty());
  EXPECT_NE(snap->namespaces.at(a).read_error.find("longer than 100 bytes"), std::string::npos)
      << snap->namespaces.at(a).read_error;
  EXPECT_GE(snap->counters.mountinfo_too_large, 1u);
}

// scan --device: the other namespaces keep what a finding about the asked
// device needs (its mount, the bind it came with, the root), the host its
// whole table, and nothing counts as trimmed; the parallel walk and the
// sequential one agree.
TEST_F(SyntheticProc, OnlyMountsForKeepsWhatAFindingNeedsButTheHostsWhole) {
  write_file(proc_ + "/21/mountinfo", "40 1 8:1 / / rw - ext4 /dev/sda1 rw\n"
                                      "41 40 0:30 / /dev rw - tmpfs tmpfs rw\n"
                                      "50 40 8:1 /var/lib/kubelet /var/lib/kubelet rw - ext4 /dev/sda1 rw\n"
                                      "52 50 8:1 /x /var/lib/kubelet/x rw - ext4 /dev/sda1 rw\n"
                                      "51 50 252:16 / /var/lib/kubelet/pods/u/volumes/kubernetes.io~rbd/v rw - "
                                      "ext4 /dev/rbd1 rw\n");
  const uint64_t a = ns_of(1), b = ns_of(20), c = ns_of(40);
  for (const bool sequential : {false, true}) {
    EnumerateOptions options;
    options.process_details = false;
    if (sequential) options.limits.max_namespaces = 1000;  // never reached
    options.limits.only_mounts_for = [](const MountEntry& m) { return m.dev == DevId{252, 16}; };
    auto snap = enumerate_node(paths_, options);
    ASSERT_TRUE(snap) << snap.error().message;
    EXPECT_EQ(snap->namespaces.at(a).mounts.size(), 4u) << "the host's table is never narrowed";
    std::vector<uint64_t> kept;
    for (const auto& m : snap->namespaces.at(b).mounts) kept.push_back(m.mount_id);
    EXPECT_EQ(kept, (std::vector<uint64_t>{40, 50, 51})) << (sequential ? "sequential" : "parallel");
    ASSERT_EQ(snap->namespaces.at(c).mounts.size(), 1u);  // its root alone
    EXPECT_FALSE(snap->namespaces.at(b).trimmed);
    EXPECT_EQ(snap->counters.namespaces_trimmed, 0u);
    EXPECT_EQ(snap->counters.mountinfo_lines, 11u);  // every line was still read
  }
}

// Process 40 has three threads: 40 (the leader) and 42 in its namespace,
// 41 in one of its own (unshared alone). Only task/ shows 41's.
TEST_F(SyntheticProc, AThreadInANamespaceOfItsOwnIsAMemberOfThatNamespace) {
  const std::string task = proc_ + "/40/task";
  for (const char* tid : {"40", "41", "42"}) fs::create_directories(task + "/" + tid + "/ns");
  ASSERT_EQ(::link((proc_ + "/40/ns/mnt").c_str(), (task + "/40/ns/mnt").c_str()), 0);
  ASSERT_EQ(::link((proc_ + "/40/ns/mnt").c_str(), (task + "/42/ns/mnt").c_str()), 0);
  write_file(task + "/41/ns/mnt", "E");
  const uint64_t c = ns_of(40), e = inode_of(task + "/41/ns/mnt");

  EXPECT_EQ(threads_in_other_namespaces(proc_, 40, c), (std::vector<std::pair<int, uint64_t>>{{41, e}}));
  // No task directory (or one thread only): nothing listed.
  EXPECT_TRUE(threads_in_other_namespaces(proc_, 21, ns_of(21)).empty());

  auto members = task_members(proc_);
  EXPECT_EQ(members[e], std::vector<int>{41});
  EXPECT_EQ(members[c], std::vector<int>{40});
  EXPECT_EQ(members[ns_of(1)], (std::vector<int>{1, 10}));

  auto snap = enumerate_node(paths_, EnumerateOptions{});
  ASSERT_TRUE(snap) << snap.error().message;
  EXPECT_EQ(snap->counters.threads_apart, 1u);
  ASSERT_TRUE(snap->namespaces.count(c));
  EXPECT_EQ(snap->namespaces.at(c).pids, std::vector<int>{40});
}

TEST_F(SyntheticProc, AnInterruptedWalkStops) {
  EnumerateOptions options;
  options.limits.interrupted = [] { return true; };
  auto snap = enumerate_node(paths_, options);
  ASSERT_FALSE(snap);
  EXPECT_EQ(snap.error().errno_value, EINTR);
}

TEST(ReadFile, ALongerFileThanTheCapIsAnErrorNotATruncation) {
  TempDir tmp;
  const std::string path = tmp.path() + "/big";
  write_file(path, std::string(10000, 'x'));
  std::string buf;
  auto st = read_file_into(path, buf, 9999);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().errno_value, EFBIG);
  EXPECT_TRUE(read_file_into(path, buf, 10000));
  EXPECT_EQ(buf.size(), 10000u);
}

TEST_F(SyntheticProc, KernelThreadsAreLeftOutOfWhoANamespaceIs) {
  make_process(2, "A", "", "2 (kthreadd) S 0 0 0 0 -1 2129984 0", "");
  make_process(77, "A", "", "77 (kworker/0:1) I 2 0 0 0 -1 69238880 0", "");
  Attributor attributor(paths_);
  const Attribution who = attributor.attribute({1, 2, 40, 77});
  EXPECT_EQ(who.pids, (std::vector<int>{1, 40}));
  ASSERT_EQ(who.processes.size(), 2u);
  EXPECT_EQ(who.processes[0].comm, "init");
}

// containerd's CRI plugin runs a pod's containers under one runc v2 shim
// named after the pod's sandbox. When the cgroup does not name a process's
// container, the walk up to that shim must still name the container whose
// task has the shim's child as its first process (its bundle's init.pid),
// not the sandbox.
TEST_F(SyntheticProc, APodsShimNamesTheContainerNotItsSandbox) {
  const std::string sandbox(64, 'a'), container(64, 'c');
  paths_.containerd_state = tmp_.path() + "/tasks";
  const std::string pod =
      R"("io.kubernetes.cri.sandbox-id":")" + sandbox +
      R"(","io.kubernetes.cri.sandbox-name":"fluentd-x7k2p","io.kubernetes.cri.sandbox-namespace":"kube-system",)"
      R"("io.kubernetes.cri.sandbox-uid":"8f0e7c9a-1b2d-4c3e-9f4a-5b6c7d8e9f01")";
  auto bundle = [&](const std::string& id, const std::string& annotations, const std::string& init_pid) {
    const std::string dir = paths_.containerd_state + "/k8s.io/" + id;
    fs::create_directories(dir);
    write_file(dir + "/config.json", R"({"annotations":{)" + annotations + "}}");
    if (!init_pid.empty()) write_file(dir + "/init.pid", init_pid);
  };
  bundle(sandbox, R"("io.kubernetes.cri.container-type":"sandbox",)" + pod, "4650");
  bundle(container,
         R"("io.kubernetes.cri.container-type":"container","io.kubernetes.cri.container-name":"fluentd",)" + pod,
         "4683");
  bundle(std::string(64, 'e'), R"("io.kubernetes.cri.container-type":"container")", "");  // exited: no init.pid
  const std::string shim = std::string("/usr/bin/containerd-shim-runc-v2\0-namespace\0k8s.io\0-id\0", 55) + sandbox +
                           std::string("\0-address\0/run/containerd/containerd.sock\0", 42);
  make_process(4600, "", "", "4600 (containerd-shim) S 1 4600 4600 0 -1 4194560 0", shim);
  make_process(4650, "", "", "4650 (pause) S 4600 4650 4650 0 -1 4194560 0", std::string("/pause\0", 7));
  make_process(4683, "", "", "4683 (td-agent) S 4600 4683 4683 0 -1 4194560 0",
               std::string("ruby\0td-agent\0", 14));
  make_process(4690, "", "", "4690 (ruby) S 4683 4683 4683 0 -1 4194560 0", std::string("ruby\0", 5));

  Attributor attributor(paths_);
  for (int pid : {4683, 4690}) {
    const Attribution who = attributor.attribute({pid});
    ASSERT_TRUE(who.container) << pid;
    EXPECT_EQ(who.how, "shim ancestry");
    EXPECT_EQ(who.container->id, container) << pid;
    EXPECT_EQ(who.container->name, "fluentd");
    ASSERT_TRUE(who.pod);
    EXPECT_EQ(who.pod->name, "fluentd-x7k2p");
    EXPECT_EQ(who.pod->uid, "8f0e7c9a-1b2d-4c3e-9f4a-5b6c7d8e9f01");
  }
  // The sandbox's own process is the sandbox's.
  const Attribution pause = attributor.attribute({4650});
  ASSERT_TRUE(pause.container);
  EXPECT_EQ(pause.container->id, sandbox);
  EXPECT_EQ(pause.container->name, "");
}

TEST_F(SyntheticProc, HostNamespaceOption) {
  EnumerateOptions options;
  options.host_mntns = "40";
  auto snap = enumerate_node(paths_, options);
  ASSERT_TRUE(snap);
  EXPECT_EQ(snap->host_mntns, ns_of(40));
  EXPECT_EQ(snap->host_mntns_source, proc_ + "/40/ns/mnt");

  options.host_mntns = proc_ + "/21/ns/mnt";
  snap = enumerate_node(paths_, options);
  ASSERT_TRUE(snap);
  EXPECT_EQ(snap->host_mntns, ns_of(20));

  options.host_mntns = "30";  // no ns file
  EXPECT_FALSE(enumerate_node(paths_, options));
}

TEST_F(SyntheticProc, FallsBackToOwnNamespaceWithoutPid1) {
  fs::remove(proc_ + "/1/ns/mnt");
  fs::remove(proc_ + "/self");
  fs::create_directories(proc_ + "/self/ns");
  write_file(proc_ + "/self/ns/mnt", "self");
  EnumerateOptions options;
  options.pinned_namespaces = false;
  auto snap = enumerate_node(paths_, options);
  ASSERT_TRUE(snap);
  EXPECT_EQ(snap->host_mntns, inode_of(proc_ + "/self/ns/mnt"));
  EXPECT_EQ(snap->host_mntns_source, proc_ + "/self/ns/mnt");
  ASSERT_FALSE(snap->warnings.empty());
  EXPECT_NE(snap->warnings.front().find("own mount namespace"), std::string::npos);
  // No process of the tree is in "self"'s namespace; entering it needs a
  // real nsfs file, so it is listed with the reason it could not be read.
  ASSERT_TRUE(snap->namespaces.count(snap->host_mntns));
  EXPECT_FALSE(snap->namespaces.at(snap->host_mntns).read_error.empty());
  EXPECT_FALSE(snap->namespaces.count(4026532999u));
}

TEST_F(SyntheticProc, EmptyProcIsAnError) {
  TempDir empty;
  HostPaths paths;
  paths.host_root = empty.path();
  auto snap = enumerate_node(paths, EnumerateOptions{});
  ASSERT_FALSE(snap);
  EXPECT_NE(snap.error().message.find(empty.path()), std::string::npos);
}

TEST(ParseMntNsRoot, OnlyMountNamespaces) {
  EXPECT_EQ(parse_mnt_ns_root("mnt:[4026532999]"), 4026532999u);
  EXPECT_FALSE(parse_mnt_ns_root("net:[4026532999]"));
  EXPECT_FALSE(parse_mnt_ns_root("mnt:[]"));
  EXPECT_FALSE(parse_mnt_ns_root("mnt:[12x]"));
  EXPECT_FALSE(parse_mnt_ns_root("/"));
}

// ---- fd holders -------------------------------------------------------------

TEST(FdHolders, FindsOwnOpenFileByDevice) {
  TempDir tmp;
  const std::string file = tmp.path() + "/held";
  write_file(file, "x");
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  struct stat st {};
  ASSERT_EQ(::fstat(fd, &st), 0);

  ScanCounters counters;
  const auto holders =
      find_fd_holders(HostPaths{}, DevId::from_dev_t(st.st_dev), {::getpid()}, counters);
  ::close(fd);
  auto it = std::find_if(holders.begin(), holders.end(),
                         [&](const FdHolder& h) { return h.kind == "fd" && h.fd == fd; });
  ASSERT_NE(it, holders.end());
  EXPECT_EQ(it->pid, ::getpid());
  EXPECT_EQ(it->target, file);
  EXPECT_FALSE(it->device_node);
  EXPECT_EQ(it->dev, DevId::from_dev_t(st.st_dev));
  EXPECT_GT(counters.fds_scanned, 0u);

  // A device nobody uses.
  ScanCounters none;
  EXPECT_TRUE(find_fd_holders(HostPaths{}, DevId{4095, 1048575}, {::getpid()}, none).empty());
  // A pid that does not exist is counted as gone.
  find_fd_holders(HostPaths{}, DevId{4095, 1048575}, {0x3fffffff}, none);
  EXPECT_EQ(none.pids_vanished, 1u);
}

TEST(FdHolders, RootDirectoryHoldsItsFilesystem) {
  struct stat root {};
  ASSERT_EQ(::stat("/", &root), 0);
  ScanCounters counters;
  const auto holders =
      find_fd_holders(HostPaths{}, DevId::from_dev_t(root.st_dev), {::getpid()}, counters);
  auto it = std::find_if(holders.begin(), holders.end(),
                         [](const FdHolder& h) { return h.kind == "root"; });
  ASSERT_NE(it, holders.end());
  EXPECT_EQ(it->fd, -1);
  EXPECT_EQ(it->target, "/");
}


TEST(SysfsHolders, ListsHoldersDirectory) {
  TempDir tmp;
  HostPaths paths;
  paths.host_root = tmp.path();
  fs::create_directories(tmp.path() + "/sys/class/block/rbd0/holders/dm-1");
  fs::create_directories(tmp.path() + "/sys/class/block/rbd0/holders/dm-0");
  fs::create_directories(tmp.path() + "/sys/class/block/rbd1/holders");
  EXPECT_EQ(sysfs_holders(paths, "rbd0"), (std::vector<std::string>{"dm-0", "dm-1"}));
  EXPECT_TRUE(sysfs_holders(paths, "rbd1").empty());
  EXPECT_TRUE(sysfs_holders(paths, "rbd9").empty());
}

}  // namespace
}  // namespace mountleak
