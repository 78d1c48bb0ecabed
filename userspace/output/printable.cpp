// SPDX-License-Identifier: Apache-2.0
#include "output/printable.h"

#include <cstdint>

namespace mountleak {

size_t utf8_sequence_length(std::string_view text, size_t i) {
  auto byte = [&](size_t k) { return static_cast<uint8_t>(text[k]); };
  const uint8_t b0 = byte(i);
  if (b0 < 0x80) return 1;
  size_t len;
  uint32_t cp;
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    len = 2, cp = b0 & 0x1f;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    len = 3, cp = b0 & 0x0f;
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    len = 4, cp = b0 & 0x07;
  } else {
    return 0;  // a continuation byte, an overlong lead (C0, C1) or F5..FF
  }
  if (i + len > text.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3f);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff) return 0;  // overlong, too big
  if (cp >= 0xd800 && cp <= 0xdfff) return 0;                                               // surrogates
  return len;
}

bool valid_utf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    size_t n = utf8_sequence_length(text, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

namespace {

void hex_escape(std::string& out, uint8_t b) {
  static const char kHex[] = "0123456789abcdef";
  out += "\\x";
  out += kHex[b >> 4];
  out += kHex[b & 0xf];
}

std::string escaped(std::string_view text, bool keep_newlines) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const auto b = static_cast<uint8_t>(text[i]);
    size_t n = utf8_sequence_length(text, i);
    bool c1 = n == 2 && b == 0xc2 && static_cast<uint8_t>(text[i + 1]) < 0xa0;  // U+0080..U+009F
    if (n == 0 || c1) {
      hex_escape(out, b);  // one byte at a time: the rest may start a valid sequence
      ++i;
      if (c1) hex_escape(out, static_cast<uint8_t>(text[i++]));
      continue;
    }
    if (n == 1 && b == '\n' && keep_newlines) {
      out += '\n';
    } else if (n == 1 && (b < 0x20 || b == 0x7f)) {
      hex_escape(out, b);
    } else if (n == 1 && b == '\\' && !keep_newlines) {
      out += "\\\\";
    } else {
      out.append(text.substr(i, n));
    }
    i += n;
  }
  return out;
}

}  // namespace

std::string printable(std::string_view text) { return escaped(text, false); }

std::string terminal_safe(std::string_view block) { return escaped(block, true); }

}  // namespace mountleak
