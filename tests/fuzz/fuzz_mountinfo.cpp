// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the mountinfo parser. Besides not crashing (ASan,
// UBSan), the parser must account for every line and write back what it
// read: format_mountinfo_line() of each entry parses to the same entry.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "model/dev_id.h"
#include "model/mountinfo.h"

namespace {

using mountleak::MountEntry;

void check(bool ok) {
  if (!ok) std::abort();
}

bool same_entry(const MountEntry& a, const MountEntry& b) {
  return a.mount_id == b.mount_id && a.parent_id == b.parent_id && a.dev == b.dev &&
         a.root == b.root && a.mount_point == b.mount_point && a.mount_options == b.mount_options &&
         a.optional_fields == b.optional_fields && a.shared_group == b.shared_group &&
         a.master_group == b.master_group && a.propagate_from == b.propagate_from &&
         a.unbindable == b.unbindable && a.fs_type == b.fs_type && a.source == b.source &&
         a.super_options == b.super_options;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  const auto table = mountleak::parse_mountinfo(text, "fuzz");
  check(table.mounts.size() + table.issues.size() == table.lines);
  for (const auto& issue : table.issues) check(issue.line >= 1 && issue.line <= table.lines);

  std::string written;
  for (const auto& m : table.mounts) {
    check(!mountleak::propagation_name(m.propagation()).empty());
    (void)mountleak::split_mount_options(m.mount_options);
    (void)mountleak::split_mount_options(m.super_options);
    written += mountleak::format_mountinfo_line(m);
    written += '\n';
  }
  const auto again = mountleak::parse_mountinfo(written, "fuzz-rewritten");
  check(again.issues.empty());
  check(again.mounts.size() == table.mounts.size());
  for (size_t i = 0; i < table.mounts.size(); ++i)
    check(same_entry(table.mounts[i], again.mounts[i]));

  check(mountleak::unescape_mount_field(mountleak::escape_mount_field(text)) == text);
  if (auto dev = mountleak::DevId::parse(text)) check(mountleak::DevId::parse(dev->str()) == dev);
  return 0;
}
