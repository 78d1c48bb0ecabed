// SPDX-License-Identifier: Apache-2.0
#pragma once

// The mount table of one mount namespace, parsed from /proc/PID/mountinfo
// (format: proc(5) and fs/proc_namespace.c show_mountinfo()):
//
//   36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue
//   (1)(2) (3)  (4)    (5)         (6)        (7...)  -  (8)    (9)     (10)
//
// Parsing is the hot path of a node scan (hundreds of namespaces, hundreds of
// thousands of lines), so it works on string_views of the whole text and only
// allocates for the fields it keeps.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "model/dev_id.h"

namespace mountleak {

enum class Propagation { kPrivate, kShared, kSlave, kSharedAndSlave, kUnbindable };

// "private", "shared", "slave", "shared+slave", "unbindable".
std::string_view propagation_name(Propagation p);

// What mountleak reasons about. A node-wide model holds hundreds of
// thousands of these, so it carries nothing the findings do not use: the
// option strings live in MountVerbatim, parsed only on request.
struct MountEntry {
  uint64_t mount_id = 0;
  uint64_t parent_id = 0;
  DevId dev;                // st_dev of files on this mount
  std::string root;         // unescaped; the bind root, "/" for a whole-fs mount
  std::string mount_point;  // unescaped; relative to the reading process's root
  uint32_t shared_group = 0;    // shared:N, 0 = not shared
  uint32_t master_group = 0;    // master:N, 0 = not a slave
  uint32_t propagate_from = 0;  // propagate_from:N, 0 = absent
  bool unbindable = false;
  std::string fs_type;  // unescaped, e.g. "ext4", "fuse.sshfs"
  std::string source;   // unescaped; may be empty

  Propagation propagation() const;
  bool operator==(const MountEntry&) const = default;
};

// The rest of a mountinfo line, as the kernel printed it.
struct MountVerbatim {
  // Per-mount options, still escaped (an option value may hold an escaped
  // comma; split with split_mount_options()).
  std::string mount_options;
  // Every optional field, known or not (proc(5): ignore unknown ones).
  std::vector<std::string> optional_fields;
  std::string super_options;  // as printed, like mount_options

  bool operator==(const MountVerbatim&) const = default;
};

enum class MountDetail {
  kEssential,  // MountEntry only: what scan and trace keep for every mount
  kVerbatim,   // also MountTable::verbatim, one per mount
};

struct ParseIssue {
  std::string origin;  // e.g. "/proc/42/mountinfo"
  size_t line = 0;     // 1-based
  std::string reason;
};

struct MountTable {
  std::vector<MountEntry> mounts;
  std::vector<MountVerbatim> verbatim;  // empty, or mounts[i]'s is verbatim[i]
  std::vector<ParseIssue> issues;
  size_t lines = 0;  // lines seen, parsed or not
};

// Parses a whole mountinfo text. A malformed line becomes a ParseIssue naming
// origin and line, and parsing goes on with the next line.
MountTable parse_mountinfo(std::string_view text, std::string_view origin,
                           MountDetail detail = MountDetail::kEssential);

// Undoes the kernel's octal escaping (\040 space, \011 tab, \012 newline,
// \134 backslash, and any other \ooo up to \377). A backslash not followed by
// three octal digits is kept as it is.
std::string unescape_mount_field(std::string_view field);

// The kernel's escaping of a field: space, tab, newline and backslash become
// \ooo. unescape_mount_field(escape_mount_field(s)) == s for every s.
std::string escape_mount_field(std::string_view field);

// Splits "rw,nosuid,size=10k" at commas and unescapes each option.
std::vector<std::string> split_mount_options(std::string_view options);

// One mountinfo line (without newline) that parses back to the same entry
// (and the same verbatim fields, when given; "rw" options otherwise). Used by
// fixtures and benchmarks to write synthetic mount tables.
std::string format_mountinfo_line(const MountEntry& entry, const MountVerbatim* verbatim = nullptr);

}  // namespace mountleak
