// SPDX-License-Identifier: Apache-2.0
#include "postmortem/replay_fields.h"

#include <limits>

#include "output/json_line.h"

namespace mountleak::replay_fields {

namespace {

Error bad(const char* key, const std::string& why) { return Error{std::string("field ") + key + ": " + why}; }

// One string element, preferring the exact bytes from `b64` when given.
Result<std::string> string_value(const nlohmann::json& v, const nlohmann::json* b64, const char* key, size_t max) {
  if (b64 && b64->is_string()) {
    auto bytes = from_base64(b64->get_ref<const std::string&>(), max);
    if (!bytes) return bad(key, "bad or too long base64");
    return *bytes;
  }
  if (!v.is_string()) return bad(key, "not a string");
  const std::string& s = v.get_ref<const std::string&>();
  if (s.size() > max) return bad(key, "longer than " + std::to_string(max) + " bytes");
  return s;
}

}  // namespace

std::optional<std::string> from_base64(std::string_view text, size_t max) {
  if (text.size() / 4 * 3 > max + 2) return std::nullopt;  // refused before it is decoded
  auto bytes = decode_base64(text);
  if (!bytes || bytes->size() > max) return std::nullopt;
  return bytes;
}

Result<uint64_t> unsigned_field(const nlohmann::json& j, const char* key, uint64_t max) {
  auto it = j.find(key);
  if (it == j.end()) return bad(key, "missing");
  if (it->is_number_unsigned()) {
    const uint64_t v = it->get<uint64_t>();
    if (v > max) return bad(key, "out of range");
    return v;
  }
  if (it->is_number_integer() && it->get<int64_t>() >= 0 && static_cast<uint64_t>(it->get<int64_t>()) <= max)
    return static_cast<uint64_t>(it->get<int64_t>());
  return bad(key, "not an unsigned integer in range");
}

Result<int64_t> signed_field(const nlohmann::json& j, const char* key, int64_t min, int64_t max) {
  auto it = j.find(key);
  if (it == j.end()) return bad(key, "missing");
  if (it->is_number_integer() && !it->is_number_unsigned()) {
    const int64_t v = it->get<int64_t>();
    if (v < min || v > max) return bad(key, "out of range");
    return v;
  }
  if (it->is_number_unsigned()) {
    const uint64_t v = it->get<uint64_t>();
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) || static_cast<int64_t>(v) > max ||
        static_cast<int64_t>(v) < min)
      return bad(key, "out of range");
    return static_cast<int64_t>(v);
  }
  return bad(key, "not an integer");
}

Result<bool> bool_field(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_boolean()) return bad(key, "missing or not true/false");
  return it->get<bool>();
}

Result<std::string> string_field(const nlohmann::json& j, const char* key, size_t max, bool optional) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (optional) return std::string();
    return bad(key, "missing");
  }
  auto b64 = j.find(std::string(key) + "_b64");
  return string_value(*it, b64 != j.end() ? &*b64 : nullptr, key, max);
}

Result<std::vector<std::string>> string_array(const nlohmann::json& j, const char* key, bool optional) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (optional) return std::vector<std::string>{};
    return bad(key, "missing");
  }
  if (!it->is_array() || it->size() > kMaxArray) return bad(key, "not an array, or too long");
  auto b64 = j.find(std::string(key) + "_b64");
  const bool have_b64 = b64 != j.end() && b64->is_array() && b64->size() == it->size();
  std::vector<std::string> out;
  out.reserve(it->size());
  for (size_t i = 0; i < it->size(); ++i) {
    auto s = string_value((*it)[i], have_b64 ? &(*b64)[i] : nullptr, key, kMaxString);
    if (!s) return s.error();
    out.push_back(std::move(*s));
  }
  return out;
}

Result<std::vector<int>> pid_array(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_array() || it->size() > kMaxArray) return bad(key, "missing, not an array, or too long");
  std::vector<int> out;
  out.reserve(it->size());
  for (const auto& v : *it) {
    if (!v.is_number_integer() || v.get<int64_t>() <= 0 || v.get<int64_t>() > static_cast<int64_t>(kMaxPid))
      return bad(key, "not a pid");
    out.push_back(static_cast<int>(v.get<int64_t>()));
  }
  return out;
}

Result<DevId> dev_field(const nlohmann::json& j, const char* key) {
  auto text = string_field(j, key, 32);
  if (!text) return text.error();
  auto dev = DevId::parse(*text);
  if (!dev) return bad(key, "not MAJ:MIN");
  return *dev;
}

}  // namespace mountleak::replay_fields
