// SPDX-License-Identifier: Apache-2.0
#include "postmortem/replay.h"

namespace mountleak {

namespace {

constexpr size_t kMaxBadExamples = 10;
// Recorded answers held while waiting for the next event: a log of nothing
// but answers (edited, or hostile) is fed in slices rather than held whole.
constexpr size_t kMaxBatch = 65536;

Clock::time_point steady_of(std::chrono::system_clock::time_point t) {
  return Clock::time_point(std::chrono::duration_cast<Clock::duration>(t.time_since_epoch()));
}

bool starts_run(const ReplayLine& line) {
  const auto* fact = std::get_if<NodeFact>(&line.what);
  const auto* snap = fact ? std::get_if<RecordedSnapshot>(fact) : nullptr;
  return snap && snap->start;
}

}  // namespace

Replayer::~Replayer() = default;

void Replayer::feed_line(std::string_view text, const std::string& where) {
  ++counters_.lines;
  auto line = parse_replay_line(text);
  if (!line) {
    ++counters_.bad_lines;
    if (counters_.bad_examples.size() < kMaxBadExamples)
      counters_.bad_examples.push_back(where + ": " + line.error().message);
    return;
  }
  if (*line) feed(std::move(**line));
}

void Replayer::feed(ReplayLine line) {
  if (std::holds_alternative<KernelEvent>(line.what)) {
    flush();
    pending_event_ = std::move(line);
    return;
  }
  if (std::holds_alternative<NodeFact>(line.what)) ++counters_.facts;
  batch_.push_back(std::move(line));
  if (batch_.size() >= kMaxBatch) flush();
}

void Replayer::advance(std::chrono::system_clock::time_point t) {
  if (t > wall_) wall_ = t;
}

void Replayer::load_until_next_start(size_t from) {
  for (size_t i = from; i < batch_.size() && !(i > from && starts_run(batch_[i])); ++i)
    if (const auto* fact = std::get_if<NodeFact>(&batch_[i].what)) node_.load(*fact);
}

void Replayer::flush() {
  // The answers that follow the event first: it may ask for them at once.
  if (!batch_.empty() && !starts_run(batch_.front())) load_until_next_start(0);
  if (pending_event_) {
    if (collector_) {
      advance(pending_event_->time);
      collector_->on_event(std::get<KernelEvent>(pending_event_->what));
      ++counters_.events;
    } else {
      ++counters_.unreplayable;
    }
    pending_event_.reset();
  }
  std::optional<std::chrono::system_clock::time_point> last_tick;
  for (size_t i = 0; i < batch_.size(); ++i) {
    ReplayLine& line = batch_[i];
    if (starts_run(line)) {
      end_run();
      node_.clear();
      load_until_next_start(i);
      advance(line.time);
      start_run(std::get<RecordedSnapshot>(std::get<NodeFact>(line.what)));
      last_tick = line.time;
      continue;
    }
    if (!collector_) continue;
    advance(line.time);
    if (const auto* lost = std::get_if<Lost>(&line.what)) {
      collector_->on_lost(lost->count);
    } else if (last_tick != line.time) {
      // Each recorded answer is what a live tick read at that moment.
      collector_->tick(steady_of(wall_));
      last_tick = line.time;
    }
  }
  batch_.clear();
}

void Replayer::start_run(const RecordedSnapshot& snapshot) {
  ++counters_.runs;
  CollectorOptions o;
  if (snapshot.settings) {
    const RecordedSettings& s = *snapshot.settings;
    o.settle = std::chrono::milliseconds(s.settle_ms);
    o.max_delay = std::chrono::milliseconds(s.max_delay_ms);
    o.young = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::milliseconds(s.young_ms));
    o.liveness_period = std::chrono::milliseconds(s.liveness_period_ms);
    o.reconcile_propagation = s.reconcile_propagation;
    o.discover_in_sweep = s.discover_in_sweep;
    if (s.max_namespaces) o.max_namespaces = s.max_namespaces;
    if (s.max_mounts) o.max_mounts = s.max_mounts;
    if (s.max_mountinfo_bytes) o.max_mountinfo_bytes = s.max_mountinfo_bytes;
    o.resync_min_interval = std::chrono::milliseconds(s.resync_min_interval_ms);
    o.resync_max_interval = std::chrono::milliseconds(s.resync_max_interval_ms);
  }
  o.lookups = &node_;
  o.now = [this] { return steady_of(wall_); };
  o.wall_now = [this] { return wall_; };
  collector_ = std::make_unique<Collector>(paths_, o, node_, out_);
  if (auto started = collector_->start(); !started) {
    if (counters_.bad_examples.size() < kMaxBadExamples)
      counters_.bad_examples.push_back("a run's first snapshot: " + started.error().message);
    collector_.reset();
  }
}

void Replayer::end_run() {
  if (!collector_) return;
  // As trace does when it stops: what is pending is re-read (from the last
  // answers recorded), as if its events had settled.
  advance(wall_ + std::chrono::seconds(1));
  collector_->tick(steady_of(wall_));
  counters_.findings += collector_->stats().findings;
  counters_.unanswered = node_.unanswered();
  collector_.reset();
}

void Replayer::finish() {
  flush();
  end_run();
  counters_.unanswered = node_.unanswered();
  counters_.unanswered_examples = node_.unanswered_examples();
}

}  // namespace mountleak
