// SPDX-License-Identifier: Apache-2.0
#include "output/stream_sink.h"

#include <cerrno>

#include "output/json_line.h"
#include "output/live_view.h"
#include "output/printable.h"
#include "output/record_json.h"

namespace mountleak {

void StreamSink::write(const Record& record) {
  if (errno_ != 0) return;
  const std::string text = render(record);
  std::fwrite(text.data(), 1, text.size(), stream_);
  // Findings are seen at once; raw events may wait for the loop's flush.
  if (!record.raw()) flush();
}

void StreamSink::flush() {
  if (errno_ == 0 && std::fflush(stream_) != 0) errno_ = errno ? errno : EIO;
}

std::string JsonLinesSink::render(const Record& record) { return json_line(record_json(record)) + '\n'; }

std::string LiveViewSink::render(const Record& record) { return terminal_safe(live_view_text(record)); }

}  // namespace mountleak
