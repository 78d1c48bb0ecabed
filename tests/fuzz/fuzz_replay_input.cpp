// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for `mountleak replay`'s input: any bytes as the lines of
// a trace log, through the whole replay (each line parsed into a raw event,
// a recorded fact or a loss, checked field by field, and fed to a collector
// answering from what the lines recorded), not just the line parser. The log
// quotes containers nobody vetted and may be corrupt or edited. Nothing may
// crash or hang; every line replay emits renders to one JSON line that
// parses back; every line fed is counted, read or unreadable.

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fuzz_check.h"
#include "output/json_line.h"
#include "output/record_json.h"
#include "postmortem/replay.h"

namespace {

using mountleak::fuzz::check;

class CheckedOutput : public mountleak::RecordSink {
 public:
  bool wants_raw() const override { return false; }
  void write(const mountleak::Record& record) override {
    check(!record.raw() && !record.fact());
    const std::string line = mountleak::json_line(mountleak::record_json(record));
    check(line.find('\n') == std::string::npos);
    check(!nlohmann::json::parse(line, nullptr, false).is_discarded());
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  CheckedOutput out;
  mountleak::Replayer replayer(out);
  uint64_t lines = 0;
  while (!input.empty()) {
    const size_t nl = input.find('\n');
    replayer.feed_line(input.substr(0, nl), "fuzz:" + std::to_string(lines + 1));
    ++lines;
    input = nl == std::string_view::npos ? std::string_view{} : input.substr(nl + 1);
  }
  replayer.finish();
  const mountleak::ReplayCounters& c = replayer.counters();
  check(c.lines == lines);
  check(c.bad_lines <= c.lines);
  check(c.bad_examples.size() <= 10);
  return 0;
}
