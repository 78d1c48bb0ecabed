// SPDX-License-Identifier: Apache-2.0
#include "collector/ingest.h"

#include <sched.h>

namespace mountleak {

void Ingest::on_event(const KernelEvent& e, Clock::time_point now) {
  // Namespaces are joined by the task that made the call: a thread that
  // unshared alone is in e.mntns while its process (e.pid) is not. Who did
  // it is still named by the process.
  const int pid = static_cast<int>(e.pid);
  const int task = static_cast<int>(e.tid ? e.tid : e.pid);
  LiveModel& model = node_.model;
  switch (e.kind) {
    case EventKind::kMntns: {
      const auto* from = std::get_if<NamespaceSwitch>(&e.payload);
      const uint64_t old_mntns = from ? from->old_mntns : 0;
      // The passive tier's exec hook: a task seen in a namespace other than
      // its parent's (flags 0), which may have been made long before. Only a
      // namespace the model does not know is taken as new.
      if (from && !(from->flags & CLONE_NEWNS) && model.has(e.mntns)) {
        model.add_pid(e.mntns, task);
        break;
      }
      // Namespace inodes are recycled as soon as a namespace dies: a
      // "new" inode may carry a dead namespace's state. Start clean.
      forget_namespace_(e.mntns);
      if (!bounds_.admit_namespace(e.mntns, task, old_mntns)) break;
      young_[e.mntns] = YoungNamespace{now, old_mntns, {pid, e.comm}};
      dirty_.mark(e.mntns, now);
      break;
    }
    case EventKind::kSetns:
      if (model.has(e.mntns))
        model.add_pid(e.mntns, task);
      else if (bounds_.admit_namespace(e.mntns, task, 0))
        dirty_.mark(e.mntns, now);
      break;
    case EventKind::kMount:
    case EventKind::kUmount:
    case EventKind::kOpenTree:
    case EventKind::kMoveMount:
    case EventKind::kFsmount:
    case EventKind::kMountSetattr:
      if (!bounds_.admit_namespace(e.mntns, task, 0)) break;
      last_trigger_[e.mntns] = Trigger{pid, e.comm};
      dirty_.mark(e.mntns, now);
      break;
    case EventKind::kPropagateMount:
    case EventKind::kPropagateUmount:
      // The kernel changed another namespace's table; the event's task is
      // not in it. Only a namespace we know can be re-read.
      if (model.has(e.mntns)) dirty_.mark(e.mntns, now);
      break;
    case EventKind::kMountTableChanged:
      // Nothing says who changed it; only a namespace we know is read.
      if (model.has(e.mntns)) dirty_.mark(e.mntns, now);
      break;
    case EventKind::kBusy:
      break;
  }
}

const Ingest::Trigger* Ingest::last_trigger(uint64_t inode) const {
  auto it = last_trigger_.find(inode);
  return it == last_trigger_.end() ? nullptr : &it->second;
}

const Ingest::YoungNamespace* Ingest::young(uint64_t inode, Clock::time_point now) const {
  auto it = young_.find(inode);
  if (it == young_.end() || now - it->second.created > node_.options.young) return nullptr;
  return &it->second;
}

void Ingest::expire_young(Clock::time_point now) {
  std::erase_if(young_, [&](const auto& y) { return now - y.second.created > node_.options.young; });
}

void Ingest::forget(uint64_t inode) {
  last_trigger_.erase(inode);
  young_.erase(inode);
}

}  // namespace mountleak
