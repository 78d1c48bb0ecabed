// SPDX-License-Identifier: Apache-2.0
#pragma once

// Records written to a stream (trace's stdout): findings always, raw
// kernel events only when asked for. A reader that goes away (`| head -1`)
// stops the output, and says why, rather than the process.

#include <cstdio>
#include <string>

#include "findings/record.h"

namespace mountleak {

class StreamSink : public RecordSink {
 public:
  StreamSink(std::FILE* stream, bool raw_too) : stream_(stream), raw_too_(raw_too) {}
  void write(const Record& record) override;
  bool wants_raw() const override { return raw_too_; }
  void flush();
  // Why the stream stopped taking output (EPIPE: its reader left), or 0.
  int stream_errno() const { return errno_; }

 protected:
  // The text of one record, newline included.
  virtual std::string render(const Record& record) = 0;

 private:
  std::FILE* stream_;
  bool raw_too_;
  int errno_ = 0;
};

// One JSON object per line (`-o json`).
class JsonLinesSink : public StreamSink {
 public:
  using StreamSink::StreamSink;

 protected:
  std::string render(const Record& record) override;
};

// The live view (live_view.h), made safe for a terminal.
class LiveViewSink : public StreamSink {
 public:
  using StreamSink::StreamSink;

 protected:
  std::string render(const Record& record) override;
};

}  // namespace mountleak
