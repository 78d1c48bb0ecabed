// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for what a process shows in /proc and a container can
// write: /proc/PID/cgroup, /proc/PID/stat (its comm is any 15 bytes),
// cmdline (NUL-separated) and the shim ancestry built from it. Nothing may
// crash or loop, and what is found must come from the input.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <unordered_map>

#include "fuzz_check.h"
#include "resolve/cgroup_path.h"
#include "resolve/shim_ancestry.h"
#include "sources/procfs.h"

using mountleak::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  if (auto c = mountleak::container_from_cgroup(text)) check(text.find(c->id) != std::string_view::npos);

  if (auto stat = mountleak::parse_proc_stat(text)) check(stat->comm.size() <= text.size());

  const auto argv = mountleak::split_cmdline(text);
  size_t total = 0;
  for (const auto& a : argv) total += a.size();
  check(total <= text.size());
  if (auto shim = mountleak::container_from_shim_cmdline(argv)) check(text.find(shim->id) != std::string_view::npos);

  // A process table whose parent links come from the input: the walk ends.
  std::unordered_map<int, mountleak::AncestorInfo> table;
  for (size_t i = 0; i < size; ++i)
    table[static_cast<int>(i) + 2] = {static_cast<int>(data[i]) % static_cast<int>(size + 2), argv, (data[i] & 1) != 0};
  (void)mountleak::container_from_ancestry(2, table);
  return 0;
}
