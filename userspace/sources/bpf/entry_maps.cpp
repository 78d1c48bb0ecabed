// SPDX-License-Identifier: Apache-2.0
#include "sources/bpf/entry_maps.h"

namespace mountleak {

namespace {
constexpr std::string_view kSuffix = "_args";
constexpr std::string_view kProgramPrefix = "ml_kprobe_";
}  // namespace

std::string entry_map_program(std::string_view map_name) {
  if (map_name.size() <= kSuffix.size() || !map_name.ends_with(kSuffix)) return "";
  map_name.remove_suffix(kSuffix.size());
  return std::string(kProgramPrefix) + std::string(map_name);
}

int shrink_unused_entry_maps(bpf_object* obj, const std::set<std::string>& loaded) {
  bpf_map* map;
  bpf_object__for_each_map(map, obj) {
    const std::string program = entry_map_program(bpf_map__name(map));
    if (program.empty() || loaded.count(program)) continue;
    if (int err = bpf_map__set_max_entries(map, 1)) return err;
  }
  return 0;
}

}  // namespace mountleak
