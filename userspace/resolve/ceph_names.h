// SPDX-License-Identifier: Apache-2.0
#pragma once

// The small text conventions of Ceph's client APIs, kept apart from the
// librados/librbd calls so they are testable without a cluster: entity names,
// the kernel client's id in sysfs, and librbd's NUL-separated string lists.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mountleak {

// librados wants the id without its type: "admin" for "client.admin".
// Accepts either spelling; another type ("osd.0") or an empty id is nothing.
std::optional<std::string> ceph_client_id(std::string_view name);

// The global id in the rbd driver's sysfs client_id ("client14235" -> 14235),
// which is the id the kernel's watch on the image header carries.
std::optional<int64_t> ceph_kernel_client_global_id(std::string_view sysfs_client_id);

// The global id in a locker's entity name ("client.14235" -> 14235).
std::optional<int64_t> ceph_entity_global_id(std::string_view entity);

// "a\0b\0" of `len` bytes -> {"a", "b"}; librbd's list functions fill such
// buffers. A missing final NUL still ends the last item.
std::vector<std::string> split_nul_list(const char* buf, size_t len);

// The exclusive-lock feature takes the image's lock with this tag; an
// `rbd lock add` advisory lock has the user's tag (or none).
inline constexpr std::string_view kRbdExclusiveLockTag = "internal";

}  // namespace mountleak
