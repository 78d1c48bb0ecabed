// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for what report makes of a whole log: the input's lines
// are parsed (postmortem/log_entry_parser), then for every device a
// finding names its history is built and its holders and lineages asked
// for at the log's first, middle and last moment. A log is damaged or
// planted at will (times going backwards, namespaces their own parents,
// binds of "/" onto "/"): nothing may crash, loop or grow without bound,
// and every lineage ends at its holder's namespace, visits none twice and
// only names steps at or before the moment asked about.

#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "postmortem/copy_lineage.h"
#include "postmortem/device_history.h"
#include "postmortem/device_selection.h"
#include "postmortem/holders_at.h"
#include "postmortem/log_entry_parser.h"

using mountleak::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  mountleak::LogRecords log;
  uint64_t host = 0;
  while (!rest.empty() && log.entries.size() < 256) {
    const size_t nl = rest.find('\n');
    auto entry = mountleak::parse_log_entry(rest.substr(0, nl));
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    if (!entry.ok() || !entry->time) continue;
    if (const auto* r = std::get_if<mountleak::LoggedReady>(&entry->record)) host = r->host_mntns;
    log.entries.push_back(std::move(*entry));
  }
  if (log.entries.empty()) return 0;
  mountleak::LogMicros first = *log.entries.front().time, last = first;
  for (const auto& e : log.entries) first = std::min(first, *e.time), last = std::max(last, *e.time);

  for (const auto& [key, device] : mountleak::devices_in(log)) {
    const auto history = mountleak::build_device_history(log, device, host);
    check(history.steps.size() <= 4 * log.entries.size());
    for (mountleak::LogMicros at : {first, first / 2 + last / 2, last}) {
      for (const auto& held : mountleak::holders_at(history, at)) {
        if (held.host) continue;
        const auto lineage = mountleak::lineage_of(history, held, at);
        check(!lineage.namespaces.empty() && lineage.namespaces.back() == held.mntns);
        check(std::set<uint64_t>(lineage.namespaces.begin(), lineage.namespaces.end()).size() ==
              lineage.namespaces.size());
        for (const auto& s : lineage.steps) check(s.time <= at);
      }
    }
  }
  return 0;
}
