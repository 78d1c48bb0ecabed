// SPDX-License-Identifier: Apache-2.0
#pragma once

// Fields of one log line, read back with every value checked: the log is
// the operator's, but it quotes containers nobody vetted and may have been
// edited or corrupted. A field that is missing, of the wrong type or out of
// its bounds is an error naming the field, never a crash; strings come back
// as the exact bytes (output/json_line.h's "<key>_b64" when the writer had
// to replace bytes that were not UTF-8).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/dev_id.h"
#include "util/result.h"

namespace mountleak::replay_fields {

// The longest string any field may hold (a path: PATH_MAX), and the most
// elements an array may (a namespace's pids, a command line).
inline constexpr size_t kMaxString = 4096;
inline constexpr size_t kMaxArray = 65536;
// A whole mount table as mountinfo text: trace's --max-mountinfo-bytes
// refuses larger ones (64 MiB by default).
inline constexpr size_t kMaxTable = size_t{64} << 20;

// RFC 4648 base64 with padding; nothing when malformed or longer than max.
std::optional<std::string> from_base64(std::string_view text, size_t max);

Result<uint64_t> unsigned_field(const nlohmann::json& j, const char* key, uint64_t max);
Result<int64_t> signed_field(const nlohmann::json& j, const char* key, int64_t min, int64_t max);
Result<bool> bool_field(const nlohmann::json& j, const char* key);
// A string; absent or null is "" when `optional`.
Result<std::string> string_field(const nlohmann::json& j, const char* key, size_t max = kMaxString,
                                 bool optional = false);
Result<std::vector<std::string>> string_array(const nlohmann::json& j, const char* key, bool optional = false);
Result<std::vector<int>> pid_array(const nlohmann::json& j, const char* key);
// "MAJ:MIN"
Result<DevId> dev_field(const nlohmann::json& j, const char* key);

// The largest pid Linux gives (PID_MAX_LIMIT).
inline constexpr uint64_t kMaxPid = 4194304;

}  // namespace mountleak::replay_fields
