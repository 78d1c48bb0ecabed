// SPDX-License-Identifier: Apache-2.0
#include "cli/trace_metrics.h"

#include "output/raw_event_json.h"

namespace mountleak {

void add_metrics_options(CLI::App& cmd, MetricsOptions& options) {
  const char* group = "Metrics (Prometheus; off unless asked for)";
  cmd.add_option("--metrics", options.listen,
                 "Serve Prometheus metrics at http://ADDR:PORT/metrics. PORT or :PORT listens on 127.0.0.1 "
                 "only; any other address must be written out (0.0.0.0:9745, [::]:9745), since every pod on "
                 "the node can reach it")
      ->type_name("ADDR:PORT")
      ->group(group);
  cmd.add_option("--metrics-textfile", options.textfile,
                 "Also write the metrics to FILE (*.prom) for node-exporter's textfile collector, each time "
                 "as a new file renamed over FILE")
      ->type_name("FILE")
      ->group(group);
}

static_assert(static_cast<size_t>(EventKind::kPropagateUmount) < kEventKindSlots,
              "CollectorStats::events_by_kind has no room for every EventKind");

TraceCounters trace_counters(const BpfTracer& tracer, const Collector& collector) {
  TraceCounters out;
  const CollectorStats& stats = collector.stats();
  for (auto kind = static_cast<size_t>(EventKind::kMntns); kind <= static_cast<size_t>(EventKind::kPropagateUmount);
       ++kind)
    out.events_by_kind.emplace_back(std::string(event_kind_name(static_cast<EventKind>(kind))),
                                    stats.events_by_kind[kind]);
  out.events_lost = tracer.counters().lost();
  out.resyncs = stats.resyncs;
  out.hostpath_risks = collector.hostpath_risks_now();
  return out;
}

}  // namespace mountleak
