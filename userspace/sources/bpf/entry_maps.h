// SPDX-License-Identifier: Apache-2.0
#pragma once

// The maps in which a kprobe saves a function's arguments for its
// kretprobe (ML_ENTRY_MAP, bpf/common.bpf.h) are preallocated, about
// 115 KB each, and libbpf creates every map of the object whether or not a
// program that uses it is loaded. Most kernels take the fexit candidates,
// so the loader shrinks the entry maps of kprobes it does not load to one
// entry. The link between a map and its program is a name: the map of
// ml_kprobe_F is F_args (tests/unit/hook_table_test.cpp holds the object to
// that, both ways).

#include <bpf/libbpf.h>

#include <set>
#include <string>
#include <string_view>

namespace mountleak {

// "ml_kprobe_path_mount" for the map "path_mount_args"; empty for a map
// that is no entry map.
std::string entry_map_program(std::string_view map_name);

// Gives every entry map whose kprobe is not in `loaded` one entry; before
// bpf_object__load. Returns libbpf's error, or 0.
int shrink_unused_entry_maps(bpf_object* obj, const std::set<std::string>& loaded);

}  // namespace mountleak
