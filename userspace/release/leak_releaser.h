// SPDX-License-Identifier: Apache-2.0
#pragma once

// `trace --release-leaks`: each `leak` finding's holders judged as
// `mountleak release` judges them (release_plan.h: only private copies,
// never the host, the owner pod, followers, open files or stacked devices),
// limited by --release-scope, and the leaked copies unmounted at once by the
// same child mount_release.h forks. Every holder's fate is a Release record.
//
// It listens to the collector's records like any sink, so `replay`, which
// builds no releaser, never unmounts anything.
//
// The event loop never waits for a child: a copy on a hung file system
// would hold it for the whole unmount deadline (10 s), and the ring buffer
// would overflow meanwhile. Children are started and reaped from tick(),
// at most kMaxRunningReleases at once; the rest wait their turn, up to
// kMaxWaitingReleases, beyond which a step is refused and said.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "findings/record.h"
#include "release/mount_release.h"
#include "release/release_plan.h"
#include "release/release_scope.h"

namespace mountleak {

inline constexpr size_t kMaxRunningReleases = 2;
inline constexpr size_t kMaxWaitingReleases = 256;

struct LeakReleaserCounters {
  uint64_t done = 0;
  uint64_t failed = 0;
  uint64_t refused = 0;  // out of scope, no way in, too many waiting
  uint64_t kept = 0;     // owner, follower: nothing is wrong
};

class LeakReleaser : public RecordSink {
 public:
  // The namespaces' members a leak's holders need to be entered (pids of
  // the namespace a pin is in), from the collector's model.
  using MembersOf = std::function<NamespaceMembers(const std::vector<Holder>&)>;

  LeakReleaser(std::string proc, std::vector<ScopeSelector> scope, MembersOf members, RecordSink& out,
               std::chrono::milliseconds deadline = kUnmountDeadline);
  ~LeakReleaser() override;

  // A Leak: its holders planned and queued; anything else is not ours.
  void write(const Record& record) override;
  bool wants_raw() const override { return false; }

  // Reaps finished children, starts waiting steps while there is room, and
  // writes a Release record for each step that is final. Never blocks.
  void tick();
  // Trace is stopping: waits up to `grace` for the running children, kills
  // those still running (said as failed), and reports what never started.
  void stop(std::chrono::milliseconds grace);

  size_t running() const { return running_.size(); }
  const LeakReleaserCounters& counters() const { return counters_; }

 private:
  struct Running {
    ReleaseStep step;
    PendingUnmount child;
  };
  void report(ReleaseStep step);

  std::string proc_;
  std::vector<ScopeSelector> scope_;
  MembersOf members_;
  RecordSink& out_;
  std::chrono::milliseconds deadline_;
  std::deque<ReleaseStep> final_;    // decided without a child, not yet written
  std::deque<ReleaseStep> waiting_;  // planned, waiting for room
  std::vector<Running> running_;
  LeakReleaserCounters counters_;
};

}  // namespace mountleak
