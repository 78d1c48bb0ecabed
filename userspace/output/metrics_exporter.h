// SPDX-License-Identifier: Apache-2.0
#pragma once

// trace's metrics end to end: the sink that counts records, and where its
// page goes (the HTTP endpoint, the textfile, or both). The page is
// rendered on the tracer's thread, at most once a second, and at once
// (within 100 ms) after a finding, so a leak shows up and goes away in the
// next scrape; the server thread only copies the page last rendered.

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "output/metrics_server.h"
#include "output/metrics_sink.h"
#include "output/metrics_textfile.h"

namespace mountleak {

struct MetricsOptions {
  std::string listen;    // --metrics, "" for none
  std::string textfile;  // --metrics-textfile, "" for none
  bool enabled() const { return !listen.empty() || !textfile.empty(); }
};

class MetricsExporter {
 public:
  // Binds the socket and opens the textfile's directory now, so that a
  // wrong address or directory stops trace before anything is loaded.
  static Result<std::unique_ptr<MetricsExporter>> start(const MetricsOptions& options, std::string version);
  // Starts the server's thread: after trace dropped its capabilities, which
  // it can only do while it has a single thread.
  Status serve();

  MetricsSink& sink() { return sink_; }
  // Where the endpoint listens ("" without one), for the operator.
  std::string listening() const { return listen_text_; }

  // Each turn of trace's loop: takes the counters and publishes when due.
  // A textfile write that fails is returned (the caller says it once); the
  // next turn tries again.
  Status tick(const TraceCounters& counters);
  // The last page: mountleak_up 0, so a textfile left behind says the
  // tracer is gone.
  Status stop(const TraceCounters& counters);

 private:
  explicit MetricsExporter(std::string version) : sink_(std::move(version)) {}
  Status publish();

  MetricsSink sink_;
  std::unique_ptr<MetricsServer> server_;
  std::optional<MetricsTextfile> textfile_;
  std::string listen_text_;
  std::chrono::steady_clock::time_point last_{};
  uint64_t published_generation_ = ~uint64_t{0};
};

}  // namespace mountleak
