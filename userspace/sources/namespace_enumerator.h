// SPDX-License-Identifier: Apache-2.0
#pragma once

// Every mount namespace on the node, each read once: /proc/*/ns/mnt grouped
// by inode (threads in a namespace of their own included), one mountinfo per
// namespace (from any live member), plus the namespaces no process is in but
// an nsfs bind mount or an open descriptor keeps alive (where lsns goes
// blind).
//
// Each namespace's table comes through listmount(2)/statmount(2) where the
// kernel has what that needs (sources/statmount_reader.h), else as its
// mountinfo text; both give the same MountEntry values. Namespaces no process
// is in are always read as text, by a child that enters them.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "config/host_paths.h"
#include "model/mount_namespace.h"
#include "model/mountinfo.h"
#include "model/node_snapshot.h"
#include "sources/procfs.h"
#include "sources/statmount_reader.h"
#include "util/result.h"

namespace mountleak {

// What one snapshot may cost a tracer that runs for months (0: no bound).
// The host's namespace is always read whole; the others are read in no
// particular order, so which ones a bound leaves out is not chosen.
struct SnapshotLimits {
  size_t max_namespaces = 0;  // beyond it, a namespace is left out
  size_t max_mounts = 0;      // beyond it, a namespace keeps mounts_kept() only
  size_t max_mountinfo_bytes = kMaxProcFileBytes;  // a longer table is not read
  std::function<bool(const MountEntry&)> keep_when_full;
  // When set, every namespace but the host's keeps only the mounts a
  // finding about the mounts this accepts can need (mounts_a_finding_needs),
  // dropped as each table is read: scan's, when the devices it is asked
  // about are known before the walk. Not a bound: nothing such a finding
  // could use is dropped, so no namespace is marked trimmed.
  std::function<bool(const MountEntry&)> only_mounts_for;
  // Asked between namespaces; true abandons the walk (a stop signal).
  std::function<bool()> interrupted;
};

struct EnumerateOptions {
  // "" = PID 1's namespace, or ours if PID 1's cannot be read; otherwise a
  // PID or the path of a namespace file.
  std::string host_mntns;
  bool process_details = true;    // fill NodeSnapshot::processes
  // How mount tables are read: auto takes statmount where the kernel can.
  MountTableMethod mount_table = MountTableMethod::kAuto;
  bool pinned_namespaces = true;  // look for and read nsfs-pinned namespaces
  // Look for and read namespaces an open descriptor alone keeps: one more
  // pass over every process's descriptors.
  bool descriptor_pinned_namespaces = false;
  SnapshotLimits limits;
};

// Fails only when the proc root cannot be listed, the host namespace given
// in options cannot be resolved, or statmount was demanded and this kernel
// cannot give it; everything else degrades into counters and
// warnings.
Result<NodeSnapshot> enumerate_node(const HostPaths& paths, const EnumerateOptions& options);

// The namespace of one process, re-read (trace uses it to reconcile).
Result<MountNamespace> read_namespace_of(const HostPaths& paths, int pid,
                                         size_t max_mountinfo_bytes = kMaxProcFileBytes);

// One step into a namespace: the nsfs file at `path`. With `root` set
// (a container's /proc/PID/root, or "/" of the namespace the previous hop
// entered), the path is a container's and is resolved inside that root:
// symlinks and ".." cannot leave it, and no magic link is followed. Without
// it (an operator's --host-mntns file) the path is opened as given.
struct NsfsHop {
  std::string root;
  std::string path;
  // When set, the namespace file opened must be this namespace: a path a
  // process controls (its descriptor) may point elsewhere by the time it
  // is opened.
  uint64_t inode = 0;
};

// How long reading a namespace through nsfs may take before the child that
// does it is killed: a path inside a container can lead into a FUSE file
// system whose server never answers.
inline constexpr std::chrono::milliseconds kNsfsDeadline{5000};

// The mount table of a namespace through an nsfs file (a bind mount of
// /proc/PID/ns/mnt, or that file itself): a forked child setns()es into it and
// sends back its own mountinfo. Each hop is opened O_PATH (a FIFO or device
// there is never opened for I/O) and must be a mount namespace file before
// it is reopened for setns(). Needs CAP_SYS_ADMIN.
Result<std::string> read_mountinfo_via_nsfs(const std::string& proc, const std::string& ns_path);
// The same through a chain: setns() into hops[0], then open hops[1] as that
// namespace sees it, and so on (a namespace pinned inside a pinned one).
Result<std::string> read_mountinfo_via_nsfs(const std::string& proc, const std::vector<NsfsHop>& hops,
                                            std::chrono::milliseconds deadline = kNsfsDeadline,
                                            size_t max_bytes = kMaxProcFileBytes);

// "mnt:[4026532xyz]" -> 4026532xyz (the root nsfs mounts show, and the link
// of a descriptor open on a mount namespace).
std::optional<uint64_t> parse_mnt_ns_root(std::string_view root);

}  // namespace mountleak
