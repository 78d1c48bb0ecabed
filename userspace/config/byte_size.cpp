// SPDX-License-Identifier: Apache-2.0
#include "config/byte_size.h"

#include <charconv>
#include <limits>
#include <string>

namespace mountleak {

Result<uint64_t> parse_byte_size(std::string_view text) {
  const std::string quoted = "'" + std::string(text) + "'";
  uint64_t number = 0;
  auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (end == text.data()) return Error{quoted + " is not a size (digits, then K, M or G if wanted: 100M)", EINVAL};
  if (err == std::errc::result_out_of_range) return Error{quoted + " is too large", ERANGE};
  std::string_view suffix(end, text.data() + text.size() - end);
  int shift = 0;
  if (suffix == "K" || suffix == "k") shift = 10;
  else if (suffix == "M" || suffix == "m") shift = 20;
  else if (suffix == "G" || suffix == "g") shift = 30;
  else if (!suffix.empty())
    return Error{quoted + " has an unknown unit '" + std::string(suffix) + "' (K, M or G, or none for bytes)", EINVAL};
  if (number > (std::numeric_limits<uint64_t>::max() >> shift)) return Error{quoted + " is too large", ERANGE};
  return number << shift;
}

}  // namespace mountleak
