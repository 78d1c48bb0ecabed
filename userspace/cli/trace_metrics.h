// SPDX-License-Identifier: Apache-2.0
#pragma once

// trace's metrics options (--metrics, --metrics-textfile) and the counters
// its loop samples for them, apart from trace_command.cpp so that file only
// wires them in.

#include <CLI/CLI.hpp>

#include "collector/collector.h"
#include "output/metrics_exporter.h"
#include "sources/bpf/tracer.h"

namespace mountleak {

void add_metrics_options(CLI::App& cmd, MetricsOptions& options);

// What the tracer and collector counted, as the metrics page shows it.
TraceCounters trace_counters(const BpfTracer& tracer, const Collector& collector);

}  // namespace mountleak
