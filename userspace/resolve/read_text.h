// SPDX-License-Identifier: Apache-2.0
#pragma once

// Small whole-file reads for metadata and sysfs attributes.

#include <cstddef>
#include <string>

#include "util/result.h"

namespace mountleak {

// The file's contents, or an Error naming the file ("reading <path>: ...")
// whose errno_value tells a missing file (ENOENT) from an unreadable one.
// Files longer than max_bytes are an error (EFBIG) rather than a surprise
// allocation: nothing we read legitimately comes close.
Result<std::string> read_text_file(const std::string& path, std::size_t max_bytes = 16u << 20);

// A sysfs attribute: the same, with the trailing newline removed.
Result<std::string> read_attribute(const std::string& path);

}  // namespace mountleak
