// SPDX-License-Identifier: Apache-2.0
#include "output/json_line.h"

#include <cstdint>

#include "output/printable.h"

namespace mountleak {

std::string base64(std::string_view bytes) {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t chunk = static_cast<uint8_t>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) chunk |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) chunk |= static_cast<uint8_t>(bytes[i + 2]);
    out += kAlphabet[(chunk >> 18) & 63];
    out += kAlphabet[(chunk >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(chunk >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kAlphabet[chunk & 63] : '=';
  }
  return out;
}

namespace {

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

std::optional<std::string> decode_base64(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    uint32_t v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = text[i + k];
      if (c == '=' && i + 4 == text.size() && k >= 2) {
        v[k] = 0;
        ++pad;
        continue;
      }
      const int value = base64_value(c);
      if (pad > 0 || value < 0) return std::nullopt;  // data after padding, or not base64
      v[k] = static_cast<uint32_t>(value);
    }
    const uint32_t chunk = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
    out += static_cast<char>(chunk >> 16);
    if (pad < 2) out += static_cast<char>((chunk >> 8) & 0xff);
    if (pad < 1) out += static_cast<char>(chunk & 0xff);
  }
  return out;
}

std::string with_replacement_characters(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (size_t i = 0; i < bytes.size();) {
    size_t n = utf8_sequence_length(bytes, i);
    if (n == 0) {
      out += "\xef\xbf\xbd";
      ++i;
    } else {
      out.append(bytes.substr(i, n));
      i += n;
    }
  }
  return out;
}

namespace {

bool invalid_string(const nlohmann::json& j) {
  return j.is_string() && !valid_utf8(j.get_ref<const std::string&>());
}

void encode(nlohmann::json& j);

// An array's invalid strings, encoded in place; their bytes, or null, in
// the returned sibling (null when there were none).
nlohmann::json encode_array(nlohmann::json& array) {
  nlohmann::json bytes = nlohmann::json::array();
  bool any = false;
  for (auto& element : array) {
    if (invalid_string(element)) {
      const std::string& raw = element.get_ref<const std::string&>();
      bytes.push_back(base64(raw));
      element = with_replacement_characters(raw);
      any = true;
    } else {
      bytes.push_back(nullptr);
      encode(element);
    }
  }
  return any ? bytes : nlohmann::json(nullptr);
}

void encode(nlohmann::json& j) {
  if (j.is_array()) {
    encode_array(j);  // an array inside an array has no key for a sibling: replaced only
    return;
  }
  if (!j.is_object()) return;
  nlohmann::json siblings = nlohmann::json::object();
  nlohmann::json renamed = nlohmann::json::object();
  for (auto it = j.begin(); it != j.end(); ++it) {
    nlohmann::json& value = it.value();
    if (invalid_string(value)) {
      const std::string& raw = value.get_ref<const std::string&>();
      siblings[it.key() + "_b64"] = base64(raw);
      value = with_replacement_characters(raw);
    } else if (value.is_array()) {
      if (auto bytes = encode_array(value); !bytes.is_null()) siblings[it.key() + "_b64"] = std::move(bytes);
    } else {
      encode(value);
    }
    // A key is a string from the node too (a container's annotation name).
    if (!valid_utf8(it.key())) renamed[it.key()] = with_replacement_characters(it.key());
  }
  for (auto& [key, value] : siblings.items()) j[with_replacement_characters(key)] = std::move(value);
  for (auto& [old_key, new_key] : renamed.items()) {
    nlohmann::json value = std::move(j[old_key]);
    j.erase(old_key);
    j[new_key.get<std::string>()] = std::move(value);
  }
}

}  // namespace

nlohmann::json with_bytes_encoded(const nlohmann::json& event) {
  nlohmann::json copy = event;
  encode(copy);
  return copy;
}

std::string json_line(const nlohmann::json& event) {
  // Almost every event is valid UTF-8: one strict dump, which throws on the
  // first invalid byte (type_error 316), and only then the copy that
  // encodes. The replace handler is a last guard; with_bytes_encoded
  // leaves nothing for it to replace.
  try {
    return event.dump();
  } catch (const nlohmann::json::type_error&) {
    return with_bytes_encoded(event).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
}

}  // namespace mountleak
