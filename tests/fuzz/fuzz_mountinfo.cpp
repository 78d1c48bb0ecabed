// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the mountinfo parser. Besides not crashing (ASan,
// UBSan), the parser must account for every line and write back what it
// read: format_mountinfo_line() of each entry parses to the same entry.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "model/dev_id.h"
#include "model/mountinfo.h"

using mountleak::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  const auto table = mountleak::parse_mountinfo(text, "fuzz", mountleak::MountDetail::kVerbatim);
  check(table.mounts.size() + table.issues.size() == table.lines);
  for (const auto& issue : table.issues) check(issue.line >= 1 && issue.line <= table.lines);

  std::string written;
  check(table.verbatim.size() == table.mounts.size());
  for (size_t i = 0; i < table.mounts.size(); ++i) {
    const auto& m = table.mounts[i];
    const auto& v = table.verbatim[i];
    check(!mountleak::propagation_name(m.propagation()).empty());
    (void)mountleak::split_mount_options(v.mount_options);
    (void)mountleak::split_mount_options(v.super_options);
    written += mountleak::format_mountinfo_line(m, &v);
    written += '\n';
  }
  const auto again =
      mountleak::parse_mountinfo(written, "fuzz-rewritten", mountleak::MountDetail::kVerbatim);
  check(again.issues.empty());
  check(again.mounts == table.mounts && again.verbatim == table.verbatim);
  // The essential parse keeps the same entries.
  check(mountleak::parse_mountinfo(text, "fuzz").mounts == table.mounts);

  check(mountleak::unescape_mount_field(mountleak::escape_mount_field(text)) == text);
  if (auto dev = mountleak::DevId::parse(text)) check(mountleak::DevId::parse(dev->str()) == dev);
  return 0;
}
