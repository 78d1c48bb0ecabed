// SPDX-License-Identifier: Apache-2.0
#include "postmortem/recorded_node.h"

#include <cerrno>

#include "postmortem/recorded_writer.h"

namespace mountleak {

namespace {
// Answers waiting for one question: a log that records far more than its
// events ask for (edited, or hostile) cannot make replay hold all of it.
constexpr size_t kMaxQueued = 1024;
// Questions remembered at once (pids, devices, sets of pids).
constexpr size_t kMaxQuestions = size_t{1} << 20;
}  // namespace

template <class T>
void RecordedNode::keep(Answers<T>& answers, T value) {
  if (answers.queued.size() >= kMaxQueued) {
    answers.queued.pop_front();
    ++dropped_;
  }
  answers.queued.push_back(std::move(value));
}

void RecordedNode::not_answered(const std::string& what) {
  ++unanswered_;
  if (unanswered_examples_.size() < 10) unanswered_examples_.push_back(what);
}

template <class T, class What>
const T* RecordedNode::take(Answers<T>& answers, const What& what) {
  if (!answers.queued.empty()) {
    answers.last = std::move(answers.queued.front());
    answers.queued.pop_front();
  }
  if (!answers.last) not_answered(what());
  return answers.last ? &*answers.last : nullptr;
}

void RecordedNode::clear() {
  snapshots_.clear();
  reads_.clear();
  namespace_of_.clear();
  held_open_.clear();
  attributions_.clear();
  tracked_.clear();
  devices_.clear();
  layouts_ = {};
  busy_.clear();
  members_.clear();
}

void RecordedNode::load(const NodeFact& fact) {
  const size_t questions = reads_.size() + namespace_of_.size() + attributions_.size() + tracked_.size() +
                           devices_.size() + busy_.size() + held_open_.size();
  if (questions >= kMaxQuestions) {
    ++dropped_;
    return;
  }
  if (const auto* s = std::get_if<RecordedSnapshot>(&fact)) {
    if (snapshots_.size() >= kMaxQueued) {
      snapshots_.pop_front();
      ++dropped_;
    }
    snapshots_.push_back(*s);
  } else if (const auto* r = std::get_if<RecordedRead>(&fact)) {
    keep(reads_[r->pid], *r);
  } else if (const auto* m = std::get_if<RecordedMembers>(&fact)) {
    if (m->full) members_.clear();
    for (uint64_t inode : m->gone) members_.erase(inode);
    for (const auto& [inode, pids] : m->set) members_[inode] = pids;
  } else if (const auto* n = std::get_if<RecordedNamespaceOf>(&fact)) {
    keep(namespace_of_[n->pid], n->inode);
  } else if (const auto* a = std::get_if<RecordedAttribution>(&fact)) {
    auto& answers = attributions_[a->question()];
    if (!a->same) {
      keep(answers, a->who);
    } else if (const Attribution* before = !answers.queued.empty() ? &answers.queued.back()
                                           : answers.last           ? &*answers.last
                                                                    : nullptr) {
      keep(answers, Attribution(*before));
    } else {
      ++dropped_;  // "the same as before", with nothing before
    }
  } else if (const auto* d = std::get_if<RecordedDevice>(&fact)) {
    if (d->tracked) keep(tracked_[d->dev], *d->tracked);
    if (d->described) keep(devices_[d->dev], *d->described);
  } else if (const auto* h = std::get_if<RecordedHostLayout>(&fact)) {
    keep(layouts_, *h);
  } else if (const auto* b = std::get_if<RecordedBusyDevice>(&fact)) {
    busy_[{b->pid, b->ts_ns}] = *b;
  } else if (const auto* o = std::get_if<RecordedOpenHolders>(&fact)) {
    keep(open_holders_[o->dev], o->found);
  } else if (const auto* h = std::get_if<RecordedHeldOpen>(&fact)) {
    keep(held_open_[h->inode], *h);
  }
}

Result<NodeSnapshot> RecordedNode::snapshot(const SnapshotLimits&) {
  if (snapshots_.empty()) {
    not_answered("a snapshot of the node (a resync)");
    return Error{"the log records no snapshot here"};
  }
  RecordedSnapshot s = std::move(snapshots_.front());
  snapshots_.pop_front();
  if (!s.error.empty()) return Error{s.error};
  // Which processes are where starts again from what the snapshot saw.
  members_ = members_baseline(s.snapshot);
  s.snapshot.method = "recorded";
  return std::move(s.snapshot);
}

Result<MountNamespace> RecordedNode::read(int pid, size_t) {
  const RecordedRead* r = take(reads_[pid], [&] { return "the mount table of pid " + std::to_string(pid); });
  if (!r) return Error{"not in the log: the mount table of pid " + std::to_string(pid), ESRCH};
  if (r->error_errno != 0) return Error{r->error, r->error_errno};
  MountNamespace ns = r->ns;
  ns.pids = {pid};
  return ns;
}

std::optional<uint64_t> RecordedNode::namespace_of(int pid) {
  auto& answers = namespace_of_[pid];
  if (answers.queued.empty() && !answers.last) {
    // Not asked live: what the recorded members say.
    for (const auto& [inode, pids] : members_)
      for (int p : pids)
        if (p == pid) return inode;
  }
  const std::optional<uint64_t>* inode =
      take(answers, [&] { return "the mount namespace of pid " + std::to_string(pid); });
  return inode ? *inode : std::nullopt;
}

std::map<uint64_t, std::vector<int>> RecordedNode::members() { return members_; }

std::optional<DescriptorPin> RecordedNode::held_open(uint64_t inode, const DescriptorPin*) {
  const RecordedHeldOpen* h = take(held_open_[inode], [&] {
    return "the descriptor holding mount namespace " + std::to_string(inode) + " open";
  });
  if (!h || h->pid == 0) return std::nullopt;
  return DescriptorPin{inode, h->pid, h->fd};
}

Attribution RecordedNode::attribute(const std::vector<int>& pids) {
  auto what = [&] {
    std::string list;
    for (int p : pids) list += (list.empty() ? "" : ",") + std::to_string(p);
    return "who pids " + list + " are";
  };
  if (const Attribution* who = take(attributions_[pids], what)) return *who;
  Attribution unknown;
  unknown.pids = pids;
  unknown.note = "not in the log";
  return unknown;
}

bool RecordedNode::tracked(DevId dev) {
  const bool* answer = take(tracked_[dev], [&] { return "whether device " + dev.str() + " is tracked"; });
  return answer && *answer;
}

DeviceRef RecordedNode::describe_device(DevId dev) {
  if (const DeviceRef* d = take(devices_[dev], [&] { return "what device " + dev.str() + " is"; })) return *d;
  DeviceRef unknown;
  unknown.dev = dev;
  return unknown;
}

HostLayout RecordedNode::host_layout(const std::vector<MountEntry>& host_mounts) {
  HostLayout layout{HostView(host_mounts), {}, "/"};
  if (const RecordedHostLayout* h = take(layouts_, [] { return std::string("the host's layout"); })) {
    layout.kubelet = h->kubelet;
    layout.host_root = h->host_root;
  }
  return layout;
}

std::optional<BusyDevice> RecordedNode::busy_device(const KernelEvent& e,
                                                    const std::function<std::optional<BusyDevice>()>&) {
  // Never looked up here: the path named a place on the node, not on this machine.
  auto it = busy_.find({e.pid, e.ts_ns});
  if (it == busy_.end()) {
    not_answered("the device of pid " + std::to_string(e.pid) + "'s busy event");
    return std::nullopt;
  }
  std::optional<BusyDevice> out;
  if (it->second.dev) out = BusyDevice{*it->second.dev, it->second.from};
  busy_.erase(it);
  return out;
}

std::vector<FdHolder> RecordedNode::open_holders(DevId dev, const std::vector<DevId>&,
                                                 const std::map<uint64_t, MountNamespace>&) {
  const auto* found =
      take(open_holders_[dev], [&] { return "the processes holding device " + dev.str() + " open"; });
  return found ? *found : std::vector<FdHolder>();
}

}  // namespace mountleak
