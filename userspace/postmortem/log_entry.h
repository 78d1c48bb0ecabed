// SPDX-License-Identifier: Apache-2.0
#pragma once

// One line of the post-mortem log as typed values: what report needs of
// each record trace wrote (output/record_json.cpp, raw_event_json.cpp),
// read back by log_entry_parser. Strings hold the exact bytes the node gave
// (a "<key>_b64" sibling wins over its U+FFFD copy), so they are as hostile
// as when they were logged: print them through output/printable.h.
// Unknown is empty or nullopt, never a guess. Standard library only.

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "postmortem/log_time.h"

namespace mountleak {

struct LoggedContainer {
  std::string runtime;
  std::string id;
  std::string name;
};

struct LoggedPod {
  std::string namespace_;
  std::string name;
  std::string uid;
};

struct LoggedProcess {
  int64_t pid = 0;
  std::string comm;
  std::vector<std::string> cmdline;  // argv, redacted as trace logged it
};

// Which container and pod a holder or a culprit is.
struct LoggedOwner {
  std::optional<LoggedContainer> container;
  std::optional<LoggedPod> pod;
};

struct LoggedHolder {
  std::string role;  // host, owner, follower, leak, fd, stacked
  uint64_t mntns = 0;
  std::string mountpoint;
  std::vector<std::string> mountpoints;
  std::string root;
  std::string propagation;
  std::vector<LoggedProcess> processes;
  LoggedOwner owner;
  std::string via;
  std::string hint;
};

// The process a finding names (creator, bind maker, unmounter, failer).
struct LoggedCulprit {
  int64_t pid = 0;
  std::string comm;
  std::vector<std::string> cmdline;
  LoggedOwner owner;
};

struct LoggedDevice {
  std::string path;
  uint32_t major = 0;
  uint32_t minor = 0;
  std::string name;  // kernel name
  std::string rbd_pool;
  std::string rbd_image;
  std::string backing_file;
};

struct LoggedBind {
  std::optional<std::string> source;  // the host directory, when known
  std::string source_unknown;         // why not
  bool kubelet_root = false;
  std::string mountpoint;
  std::string propagation;
};

enum class FindingKind { kMntnsCopy, kHostpathRisk, kLeak, kBusy };

struct LoggedFinding {
  FindingKind kind = FindingKind::kLeak;
  LoggedDevice device;
  std::vector<LoggedHolder> holders;
  uint64_t mntns = 0;       // copy, risk, busy
  uint64_t from_mntns = 0;  // copy
  // copy: the creator; risk: the latest mounter; leak: who unmounted; busy:
  // who failed.
  std::optional<LoggedCulprit> culprit;
  std::optional<LoggedBind> bind;  // risk
  std::string busy_source;         // rbd_remove, umount, open_excl, detach, dm_remove
  std::string busy_path;
  bool found_by_resync = false;  // leak
  std::vector<std::string> degraded;
};

// A kernel event as raw_event_json() wrote it. Fields a kind does not have
// stay empty.
struct LoggedKernelEvent {
  std::string kind;  // mntns, setns, mount, umount, open_tree, move_mount, ...
  uint64_t ts_ns = 0;
  int64_t pid = 0;
  int64_t ppid = 0;
  std::string comm;
  uint64_t mntns = 0;      // after the call
  uint64_t old_mntns = 0;  // mntns, setns: before it
  int64_t ret = 0;
  std::string source;  // mount
  std::string target;  // mount, umount; propagate_*: the mount point's last component
  std::string fstype;  // mount
  std::string flags;   // mount: "MS_BIND|MS_REC"; others: the number as text
  std::string path;    // open_tree, mount_setattr, busy_raw
  std::string from;    // move_mount
  std::string to;      // move_mount
  std::string propagation;  // mount_setattr
  std::string dev;          // propagate_*: "MAJ:MIN"
};

struct LoggedReady {
  uint64_t host_mntns = 0;
  int64_t pid = 0;
};

// A record report counts but does not interpret: lost, resync, degraded,
// stats, holders, scan_summary, log_torn_tail, or a kind it does not know.
struct LoggedNotice {
  std::string kind;
  uint64_t count = 0;  // lost: events the kernel dropped
};

using LoggedRecord = std::variant<LoggedFinding, LoggedKernelEvent, LoggedReady, LoggedNotice>;

struct LogEntry {
  std::optional<LogMicros> time;  // every record but log_torn_tail has one
  LoggedRecord record;
};

}  // namespace mountleak
