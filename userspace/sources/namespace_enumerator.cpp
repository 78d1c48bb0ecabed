// SPDX-License-Identifier: Apache-2.0
#include "sources/namespace_enumerator.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstring>
#include <deque>
#include <set>
#include <system_error>
#include <thread>
#include <unordered_map>

#include "sources/deadline_child.h"
#include "sources/descriptor_pins.h"
#include "sources/task_namespaces.h"
#include "util/fd_entry.h"

namespace mountleak {

namespace {

// Threads reading mount tables at once in an unbounded walk.
constexpr unsigned kMaxReaders = 4;

std::string pid_file(const std::string& proc, int pid, const char* leaf) {
  return proc + "/" + std::to_string(pid) + "/" + leaf;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A table read as mountinfo text.
void absorb(MountTable&& table, MountNamespace& ns, NodeSnapshot& snap) {
  if (snap.method == "statmount") ++snap.counters.statmount_fallbacks;
  snap.counters.mountinfo_lines += table.lines;
  snap.counters.parse_issues += table.issues.size();
  for (auto& issue : table.issues) snap.issues.push_back(std::move(issue));
  ns.mounts = std::move(table.mounts);
}

// Chooses the namespace that counts as the host's (see EnumerateOptions).
Status resolve_host_namespace(const std::string& proc, const EnumerateOptions& options,
                              NodeSnapshot& snap) {
  if (!options.host_mntns.empty()) {
    const std::string path = all_digits(options.host_mntns)
                                 ? proc + "/" + options.host_mntns + "/ns/mnt"
                                 : options.host_mntns;
    auto ino = ns_inode_of_path(path);
    if (!ino) return Error{"host mount namespace: " + ino.error().message, ino.error().errno_value};
    snap.host_mntns = *ino;
    snap.host_mntns_source = path;
    return ok_status();
  }
  const std::string pid1 = proc + "/1/ns/mnt";
  auto ino = ns_inode_of_path(pid1);
  if (ino) {
    snap.host_mntns = *ino;
    snap.host_mntns_source = pid1;
    return ok_status();
  }
  // Some hosts refuse PID 1's ns file even to root (a sandboxing PID 1, a
  // Yama/LSM policy); our own namespace is the best remaining guess.
  for (const std::string& self : {proc + "/self/ns/mnt", std::string("/proc/self/ns/mnt")}) {
    auto own = ns_inode_of_path(self);
    if (!own) continue;
    snap.host_mntns = *own;
    snap.host_mntns_source = self;
    snap.warnings.push_back("cannot read PID 1's mount namespace (" + ino.error().message +
                            "); taking mountleak's own mount namespace (" + self +
                            ") as the host's; use --host-mntns PID|PATH to choose another");
    return ok_status();
  }
  return Error{"host mount namespace: " + ino.error().message + ", and no /proc/self/ns/mnt",
               ino.error().errno_value};
}

// How one member's namespace went through statmount.
enum class ByStatmount { kRead, kGone, kTooLarge, kFailed };

// The member's namespace through listmount/statmount: its ns file is opened
// (a magic link: nothing of the container's is resolved), must still be the
// namespace grouped (the pid may have been reused), and names it by id.
ByStatmount read_member_statmount(const std::string& proc, int pid, MountNamespace& ns, size_t max_bytes,
                                  NodeSnapshot& snap, std::string& error) {
  const std::string path = pid_file(proc, pid, "ns/mnt");
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const Error e = Error::from_errno("opening " + path);
    if (process_vanished(e)) return ByStatmount::kGone;
    error = e.message;
    return ByStatmount::kFailed;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || st.st_ino != ns.inode) {
    ::close(fd);
    return ByStatmount::kGone;
  }
  auto id = mount_namespace_id(fd);
  auto table = id ? read_mount_table_statmount(*id, StatmountBudget{max_bytes}) : Result<StatmountTable>(id.error());
  ::close(fd);
  if (!table) {
    error = path + ": " + table.error().message;
    if (table.error().errno_value == EFBIG) {
      ++snap.counters.mountinfo_too_large;
      return ByStatmount::kTooLarge;
    }
    return ByStatmount::kFailed;
  }
  ns.mountinfo_origin = "statmount(mnt_ns_id " + std::to_string(*id) + " of " + path + ")";
  snap.counters.statmount_mounts += table->table.mounts.size();
  ns.mounts = std::move(table->table.mounts);
  return ByStatmount::kRead;
}

// Reads the namespace's mount table from the first member that still exists
// and is still in it: through statmount when chosen, else (or when that
// fails for a reason other than the member being gone) its mountinfo.
// Members found gone are removed from ns.pids.
void read_members_mount_table(const std::string& proc, bool statmount, MountNamespace& ns, std::string& buf,
                              size_t max_bytes, NodeSnapshot& snap) {
  std::vector<int> gone;
  std::string last_error;
  bool read = false;
  for (const int pid : ns.pids) {
    if (statmount) {
      const ByStatmount r = read_member_statmount(proc, pid, ns, max_bytes, snap, last_error);
      if (r == ByStatmount::kRead) {
        read = true;
        break;
      }
      if (r == ByStatmount::kGone) {
        gone.push_back(pid);
        continue;
      }
      if (r == ByStatmount::kTooLarge) break;  // its text is no smaller
      // Any other failure: this namespace is read as text instead.
      snap.warnings.push_back("mount namespace " + std::to_string(ns.inode) + ": statmount failed (" + last_error +
                              "); read its mountinfo instead");
      statmount = false;
    }
    const std::string path = pid_file(proc, pid, "mountinfo");
    auto st = read_file_into(path, buf, max_bytes);
    if (!st) {
      if (process_vanished(st.error())) {
        gone.push_back(pid);
      } else {
        last_error = st.error().message;
        if (st.error().errno_value == EFBIG) {
          ++snap.counters.mountinfo_too_large;
          break;  // every member sees the same table
        }
      }
      continue;
    }
    // The pid may have been reused, or the process may have switched
    // namespace, since ns/mnt was looked at.
    auto again = ns_inode(proc, pid, "mnt");
    if (!again || *again != ns.inode) {
      gone.push_back(pid);
      continue;
    }
    ns.mountinfo_origin = path;
    absorb(parse_mountinfo(buf, path), ns, snap);
    read = true;
    break;
  }
  snap.counters.pids_vanished += gone.size();
  std::erase_if(ns.pids,
                [&](int pid) { return std::binary_search(gone.begin(), gone.end(), pid); });
  if (!read && !ns.pids.empty()) {
    ns.read_error = last_error.empty() ? "no member process could be read" : last_error;
    snap.warnings.push_back("mount namespace " + std::to_string(ns.inode) +
                            ": mount table not read: " + ns.read_error);
  }
}

// Drops what limits.only_mounts_for says no finding needs (never the
// host's table: see SnapshotLimits).
void narrow(MountNamespace& ns, const SnapshotLimits& limits) {
  if (!limits.only_mounts_for) return;
  ns.groups = propagation_groups(ns.mounts);
  ns.devices = mounted_devices(ns.mounts);
  ns.mounts = mounts_a_finding_needs(std::move(ns.mounts), limits.only_mounts_for);
}

// What reading one namespace may add to a snapshot's counters.
void add_read_counters(ScanCounters& into, const ScanCounters& from) {
  into.mountinfo_lines += from.mountinfo_lines;
  into.parse_issues += from.parse_issues;
  into.statmount_mounts += from.statmount_mounts;
  into.statmount_fallbacks += from.statmount_fallbacks;
  into.mountinfo_too_large += from.mountinfo_too_large;
  into.pids_vanished += from.pids_vanished;
}

// An unbounded walk (scan's) reads its namespaces on a few threads: the
// kernel producing each table is most of a scan's time, and namespaces are
// independent. Each namespace gets its own accumulator, merged in `order`
// afterwards, so counters, warnings and issues come out as a sequential walk
// gives them. A bounded walk (trace's) stays sequential: which namespaces its
// bounds leave out or trim depends on the order tables are read in.
void read_tables_in_parallel(const std::string& proc, bool statmount, const std::vector<uint64_t>& order,
                             std::unordered_map<uint64_t, std::vector<int>>& members, const SnapshotLimits& limits,
                             unsigned threads, NodeSnapshot& snap) {
  const size_t n = order.size();
  std::vector<MountNamespace> tables(n);
  std::vector<NodeSnapshot> side(n);
  for (size_t i = 0; i < n; ++i) {
    tables[i].inode = order[i];
    tables[i].pids = std::move(members[order[i]]);
    side[i].method = snap.method;
  }
  std::atomic<size_t> next{0};
  auto work = [&] {
    std::string buf;
    for (size_t i; (i = next.fetch_add(1)) < n;) {
      read_members_mount_table(proc, statmount, tables[i], buf, limits.max_mountinfo_bytes, side[i]);
      if (order[i] != snap.host_mntns) narrow(tables[i], limits);
    }
  };
  std::vector<std::thread> pool;
  try {
    for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work);
  } catch (const std::system_error&) {
    // No thread to be had (a pids limit): fewer readers, same result.
  }
  work();
  for (auto& t : pool) t.join();
  for (size_t i = 0; i < n; ++i) {
    add_read_counters(snap.counters, side[i].counters);
    for (auto& issue : side[i].issues) snap.issues.push_back(std::move(issue));
    for (auto& w : side[i].warnings) snap.warnings.push_back(std::move(w));
    // Every member gone: the namespace went away with them.
    if (!tables[i].pids.empty()) snap.namespaces.emplace(order[i], std::move(tables[i]));
  }
}

// Namespaces that no process is in but an nsfs bind mount keeps alive. They
// are found as "nsfs" mounts whose root names a mount namespace not seen yet,
// searched breadth first from the host's, so pinned_at is the path the host
// sees whenever it sees one.
void find_pinned_namespaces(const std::string& proc, const SnapshotLimits& limits, NodeSnapshot& snap) {
  std::deque<uint64_t> queue;
  if (snap.namespaces.count(snap.host_mntns)) queue.push_back(snap.host_mntns);
  for (const auto& [ino, ns] : snap.namespaces)
    if (ino != snap.host_mntns) queue.push_back(ino);
  // How to enter each pinned namespace: nsfs paths, each resolved inside the
  // namespace the previous one entered (a pin inside a pinned namespace).
  std::unordered_map<uint64_t, std::vector<NsfsHop>> hops_to;

  while (!queue.empty()) {
    const uint64_t holder_ino = queue.front();
    queue.pop_front();
    // std::map::emplace below leaves this reference valid.
    const MountNamespace& holder = snap.namespaces.at(holder_ino);
    std::vector<std::pair<uint64_t, std::string>> found;
    for (const auto& m : holder.mounts) {
      if (m.fs_type != "nsfs") continue;
      auto target = parse_mnt_ns_root(m.root);
      if (!target || snap.namespaces.count(*target)) continue;
      if (std::any_of(found.begin(), found.end(),
                      [&](const auto& f) { return f.first == *target; }))
        continue;
      found.emplace_back(*target, m.mount_point);
    }
    for (auto& [target, mount_point] : found) {
      if (limits.max_namespaces && snap.namespaces.size() >= limits.max_namespaces) {
        ++snap.counters.namespaces_left_out;
        continue;
      }
      MountNamespace pinned;
      pinned.inode = target;
      pinned.pinned_only = true;
      pinned.pinned_at = mount_point;
      pinned.pinned_from = holder_ino;
      // The pin's path is the container's: resolved inside its root.
      std::vector<NsfsHop> hops;
      if (!holder.pids.empty()) {
        hops.push_back({pid_file(proc, holder.pids.front(), "root"), mount_point});
      } else if (auto it = hops_to.find(holder_ino); it != hops_to.end()) {
        hops = it->second;
        hops.push_back({"/", mount_point});
      }
      if (hops.empty()) {
        pinned.read_error = "no way into namespace " + std::to_string(holder_ino) + " that pins it";
      } else {
        auto text = read_mountinfo_via_nsfs(proc, hops, kNsfsDeadline, limits.max_mountinfo_bytes);
        if (!text && text.error().errno_value == EFBIG) ++snap.counters.mountinfo_too_large;
        if (text) {
          pinned.mountinfo_origin = "setns(" + hops.front().root + hops.front().path;
          for (size_t i = 1; i < hops.size(); ++i) pinned.mountinfo_origin += " -> " + hops[i].path;
          pinned.mountinfo_origin += ")";
          absorb(parse_mountinfo(*text, pinned.mountinfo_origin), pinned, snap);
          if (target != snap.host_mntns) narrow(pinned, limits);
          hops_to.emplace(target, std::move(hops));
        } else {
          pinned.read_error = text.error().message;
        }
      }
      if (!pinned.read_error.empty())
        snap.warnings.push_back("mount namespace " + std::to_string(target) + " pinned at " +
                                mount_point + ": mount table not read: " + pinned.read_error);
      snap.namespaces.emplace(target, std::move(pinned));
      queue.push_back(target);
    }
  }
}

// Namespaces an open descriptor alone keeps, looked for once the others
// are known. Each is entered through its descriptor's magic link, checked to
// still be that namespace: the process may have swapped the descriptor.
void find_descriptor_pinned_namespaces(const std::string& proc, const SnapshotLimits& limits, NodeSnapshot& snap) {
  const auto pins = find_descriptor_pins(proc, [&](uint64_t inode) { return snap.namespaces.count(inode) > 0; });
  for (const DescriptorPin& pin : pins) {
    if (limits.max_namespaces && snap.namespaces.size() >= limits.max_namespaces) {
      ++snap.counters.namespaces_left_out;
      continue;
    }
    MountNamespace held;
    held.inode = pin.mntns;
    held.pinned_only = true;
    held.held_open_by = pin.pid;
    held.held_open_fd = pin.fd;
    const std::string path = proc + "/" + std::to_string(pin.pid) + "/fd/" + std::to_string(pin.fd);
    auto text = read_mountinfo_via_nsfs(proc, {NsfsHop{"", path, pin.mntns}}, kNsfsDeadline, limits.max_mountinfo_bytes);
    if (text) {
      held.mountinfo_origin = "setns(" + path + ")";
      absorb(parse_mountinfo(*text, held.mountinfo_origin), held, snap);
      if (held.inode != snap.host_mntns) narrow(held, limits);
    } else {
      if (text.error().errno_value == EFBIG) ++snap.counters.mountinfo_too_large;
      held.read_error = text.error().message;
      snap.warnings.push_back("mount namespace " + std::to_string(pin.mntns) + " held open by descriptor " +
                              std::to_string(pin.fd) + " of PID " + std::to_string(pin.pid) +
                              ": mount table not read: " + held.read_error);
    }
    ++snap.counters.descriptor_pins;
    snap.namespaces.emplace(pin.mntns, std::move(held));
  }
}

void read_process_details(const std::string& proc, NodeSnapshot& snap) {
  for (auto& [ino, ns] : snap.namespaces) {
    std::vector<int> gone;
    for (const int pid : ns.pids) {
      auto info = read_process_info(proc, pid);
      if (!info) {
        if (process_vanished(info.error())) {
          gone.push_back(pid);
          continue;
        }
        ++snap.counters.pids_unreadable;
        ProcessInfo minimal;
        minimal.pid = pid;
        minimal.mntns = ino;
        snap.processes.emplace(pid, std::move(minimal));
        continue;
      }
      info->mntns = ino;
      snap.processes.emplace(pid, std::move(*info));
    }
    snap.counters.pids_vanished += gone.size();
    std::erase_if(ns.pids,
                  [&](int pid) { return std::binary_search(gone.begin(), gone.end(), pid); });
  }
}

}  // namespace

std::optional<uint64_t> parse_mnt_ns_root(std::string_view root) {
  constexpr std::string_view kPrefix = "mnt:[";
  if (!root.starts_with(kPrefix) || !root.ends_with("]")) return std::nullopt;
  const std::string_view digits = root.substr(kPrefix.size(), root.size() - kPrefix.size() - 1);
  uint64_t ino = 0;
  auto [end, err] = std::from_chars(digits.data(), digits.data() + digits.size(), ino);
  if (digits.empty() || err != std::errc() || end != digits.data() + digits.size())
    return std::nullopt;
  return ino;
}

Result<NodeSnapshot> enumerate_node(const HostPaths& paths, const EnumerateOptions& options) {
  const std::string proc = paths.proc();
  NodeSnapshot snap;

  const std::vector<int> pids = list_pids(proc);
  if (pids.empty()) return Error{"listing " + proc + ": no process directories", 0};
  snap.counters.pids_listed = pids.size();

  if (auto st = resolve_host_namespace(proc, options, snap); !st) return st.error();

  const MountTableChoice table_method = choose_mount_table_on(proc, options.mount_table);
  if (table_method.refused)
    return Error{"--mount-table statmount: " + table_method.reason, ENOTSUP};
  snap.method = table_method.method;
  snap.method_note = table_method.reason;

  // Group by namespace, threads that unshared alone with theirs.
  std::unordered_map<uint64_t, std::vector<int>> members;
  std::string first_refusal;
  uint64_t refused = 0;
  for (const int pid : pids) {
    auto ino = ns_inode(proc, pid, "mnt");
    if (ino) {
      members[*ino].push_back(pid);
      for (const auto& [tid, thread_ns] : threads_in_other_namespaces(proc, pid, *ino)) {
        members[thread_ns].push_back(tid);
        ++snap.counters.threads_apart;
      }
    } else if (process_vanished(ino.error())) {
      ++snap.counters.pids_vanished;
    } else {
      ++snap.counters.pids_unreadable;
      if (refused++ == 0) first_refusal = "PID " + std::to_string(pid) + ": " + ino.error().message;
    }
  }
  // Members are kept ascending (members gone are found by binary search);
  // a thread's id may be below its namespace's processes'.
  if (snap.counters.threads_apart > 0)
    for (auto& [ino, group] : members) std::sort(group.begin(), group.end());
  if (refused > 0)
    snap.warnings.push_back(std::to_string(refused) +
                            " process(es) whose mount namespace cannot be read are left out (" +
                            first_refusal + ")");

  // The host's first: no bound ever leaves it out or trims it.
  std::vector<uint64_t> order;
  order.reserve(members.size());
  if (members.count(snap.host_mntns)) order.push_back(snap.host_mntns);
  for (const auto& [ino, group] : members)
    if (ino != snap.host_mntns) order.push_back(ino);

  const SnapshotLimits& limits = options.limits;
  const unsigned threads = std::min({std::max(1u, std::thread::hardware_concurrency()), kMaxReaders,
                                     static_cast<unsigned>(order.size())});
  const bool unbounded = !limits.max_namespaces && !limits.max_mounts && !limits.interrupted;
  if (unbounded && threads > 1) {
    read_tables_in_parallel(proc, table_method.statmount, order, members, limits, threads, snap);
    order.clear();
  }
  size_t mounts_read = 0;
  std::string buf;
  for (const uint64_t ino : order) {
    if (limits.interrupted && limits.interrupted())
      return Error{"reading the node: interrupted", EINTR};
    const bool host = ino == snap.host_mntns;
    if (!host && limits.max_namespaces && snap.namespaces.size() >= limits.max_namespaces) {
      ++snap.counters.namespaces_left_out;
      continue;
    }
    MountNamespace ns;
    ns.inode = ino;
    ns.pids = std::move(members[ino]);
    read_members_mount_table(proc, table_method.statmount, ns, buf, limits.max_mountinfo_bytes, snap);
    if (!host) narrow(ns, limits);
    // Every member gone: the namespace went away with them.
    if (ns.pids.empty()) continue;
    if (!host && limits.max_mounts && mounts_read + ns.mounts.size() > limits.max_mounts &&
        limits.keep_when_full) {
      ns.mounts = mounts_kept(ns.mounts, limits.keep_when_full);
      ns.trimmed = true;
      ++snap.counters.namespaces_trimmed;
    }
    mounts_read += ns.mounts.size();
    snap.namespaces.emplace(ino, std::move(ns));
  }

  if (options.pinned_namespaces) find_pinned_namespaces(proc, limits, snap);
  if (options.descriptor_pinned_namespaces) find_descriptor_pinned_namespaces(proc, limits, snap);

  if (!snap.namespaces.count(snap.host_mntns)) {
    // Host namespace given by path with no process of ours in it (or a
    // proc root from another PID namespace): read it through its ns file.
    MountNamespace host;
    host.inode = snap.host_mntns;
    auto text = read_mountinfo_via_nsfs(proc, {{"", snap.host_mntns_source}}, kNsfsDeadline,
                                        options.limits.max_mountinfo_bytes);
    if (text) {
      host.mountinfo_origin = "setns(" + snap.host_mntns_source + ")";
      absorb(parse_mountinfo(*text, host.mountinfo_origin), host, snap);
    } else {
      host.read_error = text.error().message;
      snap.warnings.push_back("host mount namespace " + std::to_string(host.inode) +
                              " has no process under " + proc +
                              " and cannot be entered: " + host.read_error);
    }
    snap.namespaces.emplace(host.inode, std::move(host));
  }

  if (options.process_details) read_process_details(proc, snap);
  snap.counters.namespaces = snap.namespaces.size();
  return snap;
}

Result<MountNamespace> read_namespace_of(const HostPaths& paths, int pid, size_t max_mountinfo_bytes) {
  const std::string proc = paths.proc();
  auto ino = ns_inode(proc, pid, "mnt");
  if (!ino) return ino.error();
  const std::string path = pid_file(proc, pid, "mountinfo");
  auto text = read_file(path, max_mountinfo_bytes);
  if (!text) return text.error();
  auto again = ns_inode(proc, pid, "mnt");
  if (!again) return again.error();
  if (*again != *ino)
    return Error{"PID " + std::to_string(pid) + " changed mount namespace while being read", 0};
  MountNamespace ns;
  ns.inode = *ino;
  ns.pids = {pid};
  ns.mountinfo_origin = path;
  MountTable table = parse_mountinfo(*text, path);
  ns.mounts = std::move(table.mounts);
  if (!table.issues.empty())
    ns.read_error = std::to_string(table.issues.size()) + " malformed line(s), first at line " +
                    std::to_string(table.issues.front().line) + ": " + table.issues.front().reason;
  return ns;
}

Result<std::string> read_mountinfo_via_nsfs(const std::string& proc, const std::string& ns_path) {
  return read_mountinfo_via_nsfs(proc, std::vector<NsfsHop>{{"", ns_path}});
}

namespace {

constexpr long kNsfsMagic = 0x6e736673;  // NSFS_MAGIC, linux/magic.h

// Child failure steps, reported in the header.
constexpr int32_t kStepThreadSelf = 1, kStepMountinfo = 2, kStepOpenRoot = 100, kStepOpenHop = 200,
                  kStepNotNsfs = 300, kStepReopenHop = 400, kStepSetnsHop = 500, kStepOtherNamespace = 600;


// O_PATH, so that opening cannot block (a FIFO) or touch a device.
int open_hop(const char* root, const char* path) {
  if (!root) return ::open(path, O_PATH | O_CLOEXEC);
  const int root_fd = ::open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) return -2;
  while (*path == '/') ++path;
  open_how how{};
  how.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  const int fd = static_cast<int>(::syscall(SYS_openat2, root_fd, *path ? path : ".", &how, sizeof how));
  const int err = errno;
  ::close(root_fd);
  errno = err;
  return fd;
}

std::string hop_name(const NsfsHop& hop) { return hop.root.empty() ? hop.path : hop.root + " + " + hop.path; }

}  // namespace

Result<std::string> read_mountinfo_via_nsfs(const std::string& proc, const std::vector<NsfsHop>& hops,
                                            std::chrono::milliseconds deadline, size_t max_bytes) {
  if (hops.empty()) return Error{"reading a mount table through nsfs: no namespace file given", 0};
  const std::string what = "reading the mount table behind " + hop_name(hops.back());
  // Prepared before fork: the child may only make system calls.
  const std::string thread_self = proc + "/thread-self";
  std::vector<const char*> roots, paths;
  std::vector<uint64_t> inodes;
  for (const auto& h : hops) {
    roots.push_back(h.root.empty() ? nullptr : h.root.c_str());
    paths.push_back(h.path.c_str());
    inodes.push_back(h.inode);
  }

  auto child = run_with_deadline(
      [&](int out) {
        // Header: {step, errno}; step 0 means the mountinfo text follows.
        auto fail = [&](int32_t step) {
          const int32_t header[2] = {step, errno};
          (void)write_all(out, header, sizeof header);
          ::_exit(1);
        };
        // The proc directory of this very thread, opened before setns(): the
        // target namespace may not have /proc mounted at all. mountinfo opened
        // through it afterwards shows the thread's new namespace and root.
        int dir = ::open(thread_self.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir < 0) dir = ::open("/proc/thread-self", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir < 0) fail(kStepThreadSelf);
        // Each hop's path is resolved in the namespace the previous hop entered.
        for (int32_t i = 0; i < static_cast<int32_t>(paths.size()); ++i) {
          const size_t k = static_cast<size_t>(i);
          const int path_fd = open_hop(roots[k], paths[k]);
          if (path_fd == -2) fail(kStepOpenRoot + i);
          if (path_fd < 0) fail(kStepOpenHop + i);
          struct statfs fs {};
          if (::fstatfs(path_fd, &fs) != 0 || fs.f_type != kNsfsMagic) {
            errno = EINVAL;
            fail(kStepNotNsfs + i);
          }
          // Only now is it opened for real, through the checked descriptor.
          char entry[32];
          const int nsfd = ::openat(dir, fd_entry(entry, path_fd), O_RDONLY | O_CLOEXEC);
          if (nsfd < 0) fail(kStepReopenHop + i);
          ::close(path_fd);
          struct stat st {};
          if (inodes[k] != 0 && (::fstat(nsfd, &st) != 0 || st.st_ino != inodes[k])) {
            errno = ESTALE;
            fail(kStepOtherNamespace + i);
          }
          if (::setns(nsfd, CLONE_NEWNS) != 0) fail(kStepSetnsHop + i);
          ::close(nsfd);
        }
        const int mi = ::openat(dir, "mountinfo", O_RDONLY | O_CLOEXEC);
        if (mi < 0) fail(kStepMountinfo);
        const int32_t ok_header[2] = {0, 0};
        if (!write_all(out, ok_header, sizeof ok_header)) ::_exit(1);
        char chunk[16384];
        // One byte past the cap is enough for the parent to refuse it.
        for (size_t sent = 0; sent <= max_bytes;) {
          const ssize_t n = ::read(mi, chunk, sizeof chunk);
          if (n < 0 && errno == EINTR) continue;
          if (n < 0) ::_exit(2);
          if (n == 0) break;
          if (!write_all(out, chunk, static_cast<size_t>(n))) ::_exit(1);
          sent += static_cast<size_t>(n);
        }
      },
      deadline);
  if (!child) return Error{what + ": " + child.error().message, child.error().errno_value};
  if (child->timed_out)
    return Error{what + ": no answer within " + std::to_string(deadline.count()) +
                     " ms (a file system on the way does not respond); the reader was killed",
                 ETIMEDOUT};
  std::string& out = child->bytes;

  int32_t header[2] = {-1, 0};
  if (out.size() >= sizeof header) std::memcpy(header, out.data(), sizeof header);
  const int32_t step = header[0];
  auto in_range = [&](int32_t base) { return step >= base && step < base + static_cast<int32_t>(hops.size()); };
  if (step == kStepThreadSelf)
    return Error::from_errno(what + ": opening " + thread_self, header[1]);
  if (step == kStepMountinfo) return Error::from_errno(what + ": opening mountinfo", header[1]);
  if (in_range(kStepOpenRoot))
    return Error::from_errno(what + ": opening " + hops[static_cast<size_t>(step - kStepOpenRoot)].root, header[1]);
  if (in_range(kStepOpenHop))
    return Error::from_errno(what + ": opening " + hop_name(hops[static_cast<size_t>(step - kStepOpenHop)]),
                             header[1]);
  if (in_range(kStepNotNsfs))
    return Error{what + ": " + hop_name(hops[static_cast<size_t>(step - kStepNotNsfs)]) +
                     " is not a namespace file (something else is mounted or placed there); not opened",
                 EINVAL};
  if (in_range(kStepReopenHop))
    return Error::from_errno(what + ": reopening " + hop_name(hops[static_cast<size_t>(step - kStepReopenHop)]),
                             header[1]);
  if (in_range(kStepSetnsHop))
    return Error::from_errno(what + ": setns " + hop_name(hops[static_cast<size_t>(step - kStepSetnsHop)]) +
                                 (header[1] == EPERM ? " (entering a mount namespace needs CAP_SYS_ADMIN and "
                                                       "CAP_SYS_CHROOT)"
                                                     : ""),
                             header[1]);
  if (in_range(kStepOtherNamespace))
    return Error{what + ": " + hop_name(hops[static_cast<size_t>(step - kStepOtherNamespace)]) +
                     " no longer leads to mount namespace " +
                     std::to_string(hops[static_cast<size_t>(step - kStepOtherNamespace)].inode) + "; not entered",
                 ESTALE};
  if (step == 0 && out.size() - sizeof header > max_bytes)
    return Error{what + ": longer than " + std::to_string(max_bytes) + " bytes", EFBIG};
  if (step != 0 || !child->exited_ok)
    return Error{what + ": child failed before sending all of it", 0};
  out.erase(0, sizeof header);
  return out;
}

}  // namespace mountleak
