// SPDX-License-Identifier: Apache-2.0
#pragma once

// trace's findings as Prometheus metrics: a RecordSink that keeps counters
// and the leaks that exist now, and renders them as one exposition page.
// Counters only the tracer and collector know (events by kind, losses,
// resyncs) are handed in with sample(). Labels are low-cardinality by
// design: never a pid, a namespace inode or a time.
//
//   mountleak_leak_info{device,image,pv,holder_pod_namespace,holder_pod,holder_container} 1
//
// is one series per holder of each leak that exists now, added at `leak`
// and removed at `leak_resolved`. A hostile node can make many leaks: at
// most `max_leak_series` such series are kept; past it a leak is still
// counted in mountleak_leaked_devices, and the series left out in
// mountleak_leak_info_omitted.

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "findings/record.h"

namespace mountleak {

// What the loop samples from the tracer and the collector.
struct TraceCounters {
  std::vector<std::pair<std::string, uint64_t>> events_by_kind;  // every kind, zeros too
  uint64_t events_lost = 0;
  uint64_t resyncs = 0;
  uint64_t hostpath_risks = 0;  // namespaces alive with a hostpath_risk
};

// One mountleak_leak_info series' labels.
struct LeakSeries {
  std::string device, image, pv, pod_namespace, pod, container;
  auto operator<=>(const LeakSeries&) const = default;
};

// The labels a leak's holders give, one per distinct holder container
// (every holder but the host's own mounts and copies that follow it).
std::vector<LeakSeries> leak_series(const Leak& leak);

class MetricsSink : public RecordSink {
 public:
  static constexpr size_t kDefaultMaxLeakSeries = 1000;

  explicit MetricsSink(std::string version, size_t max_leak_series = kDefaultMaxLeakSeries)
      : version_(std::move(version)), max_leak_series_(max_leak_series) {}

  void write(const Record& record) override;
  bool wants_raw() const override { return false; }

  void sample(const TraceCounters& counters) { counters_ = counters; }
  // mountleak_up: 1 from ready until the tracer stops.
  void set_up(bool up) { up_ = up; }

  // Bumped by every record that changes what the page shows, so a
  // publisher can show a leak at once rather than at its next period.
  uint64_t generation() const { return generation_; }
  std::string render() const;

 private:
  struct LeakEntry {
    std::vector<LeakSeries> series;  // those within the bound
    size_t omitted = 0;
  };
  void add_leak(const Leak& leak);

  std::string version_;
  size_t max_leak_series_;
  bool up_ = false;
  uint64_t generation_ = 0;
  TraceCounters counters_;
  std::map<std::string, uint64_t> findings_;  // kind -> count
  std::vector<std::pair<std::string, std::string>> hook_tiers_;
  std::map<DevId, LeakEntry> leaks_;
  size_t leak_series_count_ = 0;
};

}  // namespace mountleak
