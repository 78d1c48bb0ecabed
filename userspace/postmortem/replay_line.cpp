// SPDX-License-Identifier: Apache-2.0
#include "postmortem/replay_line.h"

#include <charconv>

#include "postmortem/recorded_facts_parse.h"
#include "postmortem/replay_fields.h"
#include "postmortem/replay_raw_event.h"

namespace mountleak {

namespace {

// Exactly `digits` decimal digits at text[pos], within [min, max].
bool number_at(std::string_view text, size_t pos, size_t digits, int min, int max, int& out) {
  if (pos + digits > text.size()) return false;
  for (size_t i = pos; i < pos + digits; ++i)
    if (text[i] < '0' || text[i] > '9') return false;
  std::from_chars(text.data() + pos, text.data() + pos + digits, out);
  return out >= min && out <= max;
}

}  // namespace

std::optional<std::chrono::system_clock::time_point> parse_log_time(std::string_view t) {
  // YYYY-MM-DDTHH:MM:SS.ffffffZ
  if (t.size() != 27 || t[4] != '-' || t[7] != '-' || t[10] != 'T' || t[13] != ':' || t[16] != ':' ||
      t[19] != '.' || t[26] != 'Z')
    return std::nullopt;
  int year, month, day, hour, minute, second, micros;
  // The collector's clock counts nanoseconds in 64 bits: up to 2262.
  if (!number_at(t, 0, 4, 1970, 2200, year) || !number_at(t, 5, 2, 1, 12, month) ||
      !number_at(t, 8, 2, 1, 31, day) || !number_at(t, 11, 2, 0, 23, hour) || !number_at(t, 14, 2, 0, 59, minute) ||
      !number_at(t, 17, 2, 0, 60, second) || !number_at(t, 20, 6, 0, 999999, micros))
    return std::nullopt;
  const std::chrono::year_month_day date{std::chrono::year{year}, std::chrono::month{unsigned(month)},
                                         std::chrono::day{unsigned(day)}};
  if (!date.ok()) return std::nullopt;
  return std::chrono::sys_days{date} + std::chrono::hours{hour} + std::chrono::minutes{minute} +
         std::chrono::seconds{second} + std::chrono::microseconds{micros};
}

Result<std::optional<ReplayLine>> parse_replay_line(std::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) return Error{"not JSON"};
  if (!j.is_object()) return Error{"not a JSON object"};
  auto event = j.find("event");
  if (event == j.end() || !event->is_string()) return Error{"no \"event\""};
  const std::string& name = event->get_ref<const std::string&>();
  const bool raw = raw_event_kind(name).has_value();
  const bool fact = is_recorded_fact(name);
  if (!raw && !fact && name != "lost") return std::optional<ReplayLine>{};

  auto time_text = replay_fields::string_field(j, "time", 64);
  if (!time_text) return time_text.error();
  auto time = parse_log_time(*time_text);
  if (!time) return Error{"field time: not an RFC 3339 time in microseconds"};

  ReplayLine line{*time, Lost{}};
  if (raw) {
    auto e = parse_raw_event(j);
    if (!e) return e.error();
    line.what = std::move(*e);
  } else if (fact) {
    auto f = parse_recorded_fact(j);
    if (!f) return f.error();
    line.what = std::move(*f);
  } else {
    auto count = replay_fields::unsigned_field(j, "count", uint64_t{1} << 48);
    if (!count) return Error{"lost: " + count.error().message};
    line.what = Lost{*count};
  }
  return std::optional<ReplayLine>{std::move(line)};
}

}  // namespace mountleak
