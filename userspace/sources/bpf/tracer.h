// SPDX-License-Identifier: Apache-2.0
#pragma once

// Loads mountleak's programs for the hooks chosen from the tier table,
// attaches them, and drains the ring buffer into an EventSink.
//
// Lifecycle, as in libbpf-bootstrap: open (ABI check), set knobs (ring
// buffer size, which programs load), load, attach, poll. Candidates whose
// kernel functions are not in BTF are never chosen (kernel_tiers.h); a
// program the kernel still refuses, the last resort, is named from
// libbpf's log, its candidate dropped, and the next candidate for that
// hook tried, so one bad program never takes the tracer down.

#include <bpf/libbpf.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "findings/report.h"
#include "mountleak/events.h"
#include "sources/bpf/bpf_object.h"
#include "sources/event_sink.h"
#include "sources/kernel_tiers.h"
#include "util/result.h"

namespace mountleak {

struct TracerOptions {
  BpfObjectSource object;
  uint32_t ringbuf_bytes = 8u << 20;  // a power of two, at least one page
  // One poll hands at most this many events to the sink, and stops sooner
  // once kPollSlice has passed: libbpf keeps consuming for as long as
  // producers keep producing, and the caller's ticks and signal checks
  // must still come round in a storm.
  uint32_t max_events_per_poll = 4096;
  TierChoice tier = TierChoice::kAuto;  // --tier: which candidates may serve a hook
};

inline constexpr std::chrono::milliseconds kPollSlice{200};

struct KernelCounters {
  uint64_t emitted = 0;
  uint64_t dropped_ringbuf = 0;
  uint64_t dropped_pending = 0;
  uint64_t missed_entry = 0;
  // Userspace: samples that do not decode (too short for their kind, or an
  // unknown kind), and events the sink threw on.
  uint64_t short_samples = 0;
  uint64_t sink_failures = 0;
  uint64_t poll_budget_hits = 0;  // polls that stopped with events still waiting
  uint64_t lost() const { return dropped_ringbuf + dropped_pending; }
};

class BpfTracer {
 public:
  static Result<std::unique_ptr<BpfTracer>> start(const TracerOptions& options,
                                                  FeatureSource& features, EventSink& sink);
  ~BpfTracer();
  BpfTracer(const BpfTracer&) = delete;
  BpfTracer& operator=(const BpfTracer&) = delete;

  // Waits up to timeout_ms for events and hands each to the sink, within
  // the per-poll budget; returns how many were consumed.
  Result<int> poll(int timeout_ms);
  // Whether the last poll stopped at its budget, with events left waiting.
  bool more_waiting() const { return budget_spent_; }
  KernelCounters counters() const;
  const std::vector<HookChoice>& hooks() const { return hooks_; }
  // Programs the kernel refused on the way to this configuration, with why.
  const std::vector<std::string>& refusals() const { return refusals_; }
  // Each loaded fentry/fexit program and the BTF object ("vmlinux", "rbd")
  // the kernel bound it in; empty on kernels that do not say (before 6.0).
  const std::map<std::string, std::string>& attached_in() const { return attached_in_; }

  // Kernel modules whose coming or going would move a hook now (see
  // modules_that_move in kernel_tiers.h); empty when nothing can move.
  std::set<std::string> watched_modules() const;
  // `module` came (or went): every hook with a candidate on it is chosen
  // again, with the FeatureSource given to start(), which must outlive the
  // tracer. A hook whose choice changed moves: the new candidate's programs
  // are loaded in an object of their own that shares this one's maps (the
  // ring buffer, counters), attached, and only then are the old programs
  // detached, so no call goes unseen in between. One entry per hook that
  // moved or failed to; a hook whose choice is unchanged is not listed.
  std::vector<HookMoved> module_changed(const std::string& module, bool loaded);
  // Whether every hook with a candidate on `module` is where the module's
  // state says it should be now: on a candidate naming it while it is
  // loaded, on none naming it once gone. False means a retry may help (the
  // module's BTF and symbols are published as it loads).
  bool settled(const std::string& module, bool loaded) const;

 private:
  BpfTracer(EventSink& sink, uint32_t max_events_per_poll)
      : sink_(sink), max_events_per_poll_(max_events_per_poll) {}
  static int on_sample(void* ctx, void* data, size_t size);
  // True when this poll has handled its share (count or time).
  bool budget_reached();

  EventSink& sink_;
  uint32_t max_events_per_poll_;
  uint32_t handled_ = 0;  // in the current poll
  std::chrono::steady_clock::time_point slice_end_;
  bool budget_spent_ = false;
  uint64_t poll_budget_hits_ = 0;
  // Loads `choice`'s programs in a second object sharing obj_'s maps and
  // attaches them; the program the kernel refused on failure.
  struct Moved {
    BpfObjectPtr obj;
    std::vector<bpf_link*> links;
  };
  Result<Moved> load_moved(const HookChoice& choice, std::string& refused_program);

  BpfObjectPtr obj_;
  TracerOptions options_;
  FeatureSource* features_ = nullptr;
  std::set<std::string> refused_;
  // By hook: its links, and the object its programs are in when they were
  // loaded after start (null: obj_).
  std::map<std::string, std::vector<bpf_link*>> links_;
  std::map<std::string, BpfObjectPtr> moved_objects_;
  ring_buffer* ring_ = nullptr;
  int counters_fd_ = -1;
  std::vector<HookChoice> hooks_;
  std::vector<std::string> refusals_;
  std::map<std::string, std::string> attached_in_;
  uint64_t short_samples_ = 0;
  uint64_t sink_failures_ = 0;
};

}  // namespace mountleak
