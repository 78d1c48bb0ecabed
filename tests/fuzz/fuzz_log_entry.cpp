// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for report's log line parser (postmortem/
// log_entry_parser): a log line is whatever is in the file, edited,
// damaged or planted, and its strings were chosen by containers. Any bytes
// as a line parse or are refused without throwing; a line parsed has a
// time unless it is a log_torn_tail. And a raw mount event written the way
// trace writes it (json_line()) with the input as its comm, source and
// target reads back those exact bytes, valid UTF-8 or not; base64 round
// trips; RFC 3339 times never crash and keep their order.

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fuzz_check.h"
#include "output/json_line.h"
#include "postmortem/log_entry_parser.h"
#include "postmortem/log_time.h"

using mountleak::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);

  // Any bytes as a whole line.
  auto entry = mountleak::parse_log_entry(bytes);
  if (entry.ok()) {
    const bool torn = std::holds_alternative<mountleak::LoggedNotice>(entry->record) &&
                      std::get<mountleak::LoggedNotice>(entry->record).kind == "log_torn_tail";
    check(entry->time.has_value() || torn);
  }

  // The input as the strings of a line trace wrote.
  const nlohmann::json event = {{"event", "mount"},     {"time", "2026-12-02T12:40:00.000001Z"},
                                {"ts_ns", 1},           {"pid", 42},
                                {"comm", bytes},        {"mntns", 4026531840u},
                                {"ret", 0},             {"source", bytes},
                                {"target", "/x/" + bytes}, {"fstype", "ext4"},
                                {"flags", "MS_BIND|MS_REC"}};
  auto written = mountleak::parse_log_entry(mountleak::json_line(event));
  check(written.ok());
  const auto* mount = std::get_if<mountleak::LoggedKernelEvent>(&written->record);
  check(mount != nullptr);
  check(mount->comm == bytes && mount->source == bytes && mount->target == "/x/" + bytes);
  check(mount->mntns == 4026531840u && mount->flags == "MS_BIND|MS_REC");

  check(mountleak::decode_base64(mountleak::base64(bytes)) == bytes);
  mountleak::decode_base64(bytes);  // any text: bytes or nothing, never a crash

  // Times: a parsed one plus a second later sorts after it.
  if (auto t = mountleak::parse_rfc3339(bytes)) {
    (void)t;
  }
  if (size >= 19) {
    std::string later = bytes;
    if (auto a = mountleak::parse_rfc3339(bytes); a && later[18] >= '0' && later[18] < '9' && later[17] < '5') {
      ++later[18];
      auto b = mountleak::parse_rfc3339(later);
      check(b && *b == *a + 1000000);
    }
  }
  mountleak::parse_relative_time(bytes, 0);
  return 0;
}
