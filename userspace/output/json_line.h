// SPDX-License-Identifier: Apache-2.0
#pragma once

// One JSON line for stdout or the log, valid for any bytes the node gave us.
//
// Paths, process names and command lines are bytes, not text: a container
// can name a process or a mount point with bytes that are not UTF-8, which
// JSON cannot carry. Such a string is written with each invalid byte
// replaced by U+FFFD, and the exact bytes go beside it, base64-encoded, in
// "<key>_b64" (for a string in an array, "<key>_b64" is an array of the
// same length, null where the element was valid). Valid strings are
// untouched, so consumers that never meet such bytes see nothing new.

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace mountleak {

// `event` with every invalid string encoded as described above.
nlohmann::json with_bytes_encoded(const nlohmann::json& event);

// with_bytes_encoded(event) as one line, without the newline. Never throws
// for bad bytes.
std::string json_line(const nlohmann::json& event);

// RFC 4648 base64 with padding.
std::string base64(std::string_view bytes);
// The inverse, for reading "<key>_b64" back (report, replay): the bytes, or
// nothing when `text` is not padded base64.
std::optional<std::string> decode_base64(std::string_view text);

// Every invalid byte replaced by U+FFFD.
std::string with_replacement_characters(std::string_view bytes);

}  // namespace mountleak
