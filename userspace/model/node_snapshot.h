// SPDX-License-Identifier: Apache-2.0
#pragma once

// The node as one snapshot saw it: every mount namespace, the processes
// read, and what the reading skipped or could not do.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "model/mount_namespace.h"
#include "model/mountinfo.h"
#include "model/process.h"

namespace mountleak {

struct ScanCounters {
  uint64_t pids_listed = 0;
  uint64_t pids_vanished = 0;    // exited between listing and reading
  uint64_t pids_unreadable = 0;  // ns/mnt or stat refused (EACCES, ...)
  uint64_t threads_apart = 0;    // threads in a mount namespace their process is not in
  uint64_t descriptor_pins = 0;  // namespaces only an open descriptor keeps
  uint64_t namespaces = 0;
  uint64_t mountinfo_lines = 0;
  uint64_t statmount_mounts = 0;     // mounts read through statmount(2)
  // Namespaces read as mountinfo text although statmount was chosen: those
  // no process is in, and any statmount could not read.
  uint64_t statmount_fallbacks = 0;
  uint64_t parse_issues = 0;
  uint64_t fds_scanned = 0;           // find_fd_holders: descriptors looked at
  uint64_t fds_unreadable = 0;        // find_fd_holders: fd dirs or links refused
  uint64_t fds_from_mount_table = 0;  // on FUSE or network mounts: matched by their mount, not followed
  // What SnapshotLimits cost: namespaces not read at all, read but kept
  // trimmed, and mount tables refused for their size.
  uint64_t namespaces_left_out = 0;
  uint64_t namespaces_trimmed = 0;
  uint64_t mountinfo_too_large = 0;
};

struct NodeSnapshot {
  std::map<uint64_t, MountNamespace> namespaces;  // by inode
  std::map<int, ProcessInfo> processes;           // empty unless process_details
  uint64_t host_mntns = 0;
  std::string host_mntns_source;  // the ns file host_mntns was taken from
  std::string method;             // how mount tables were read: "statmount" or "mountinfo"
  std::string method_note;        // why mountinfo, when statmount was not used
  ScanCounters counters;
  std::vector<ParseIssue> issues;
  std::vector<std::string> warnings;  // degraded results, for the user to see
};

}  // namespace mountleak
