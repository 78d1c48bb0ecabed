// SPDX-License-Identifier: Apache-2.0
#pragma once

// The node as a log recorded it (postmortem/recorded_writer.h wrote it):
// a NamespaceSource and NodeLookups that answer the collector from the
// recorded facts instead of /proc and sysfs, so that `replay` runs the same
// collector, without BPF and without the node.
//
// Answers are queued per question (a pid's table, a set of pids' owner, a
// device) in the order they were recorded, and each question asked takes
// the next one: the replayed collector asks them in the same order as the
// live one, because its clock follows the records' times. A question asked
// once more than the log answered gets the last answer again; one the log
// never answered gets "not known" and is counted (`unanswered`): the log
// was cut, or written by a mountleak that did not record that.

#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "collector/node_lookups.h"
#include "findings/recorded_facts.h"
#include "sources/namespace_source.h"

namespace mountleak {

class RecordedNode : public NamespaceSource, public NodeLookups {
 public:
  // Keeps a recorded answer until the collector asks for it.
  void load(const NodeFact& fact);
  // A new run of trace: every answer of the one before is dropped.
  void clear();

  uint64_t unanswered() const { return unanswered_; }
  // The first few of them, said ("the mount table of pid 42").
  const std::vector<std::string>& unanswered_examples() const { return unanswered_examples_; }
  uint64_t dropped() const { return dropped_; }

  // NamespaceSource
  Result<NodeSnapshot> snapshot(const SnapshotLimits& limits) override;
  Result<MountNamespace> read(int pid, size_t max_mountinfo_bytes) override;
  std::optional<uint64_t> namespace_of(int pid) override;
  std::map<uint64_t, std::vector<int>> members() override;
  std::optional<DescriptorPin> held_open(uint64_t inode, const DescriptorPin* last) override;

  // NodeLookups
  Attribution attribute(const std::vector<int>& pids) override;
  const ProcessInfo* process(int) override { return nullptr; }  // only scan's fd holders ask
  void set_host_mntns(uint64_t) override {}
  void forget_processes() override {}
  bool tracked(DevId dev) override;
  DeviceRef describe_device(DevId dev) override;
  HostLayout host_layout(const std::vector<MountEntry>& host_mounts) override;
  std::optional<BusyDevice> busy_device(const KernelEvent& e,
                                        const std::function<std::optional<BusyDevice>()>& resolve) override;
  std::vector<FdHolder> open_holders(DevId dev, const std::vector<DevId>& along,
                                     const std::map<uint64_t, MountNamespace>& namespaces) override;

 private:
  // The answers to one question, oldest first, and the last one taken.
  template <class T>
  struct Answers {
    std::deque<T> queued;
    std::optional<T> last;
  };
  template <class T>
  void keep(Answers<T>& answers, T value);
  template <class T, class What>
  const T* take(Answers<T>& answers, const What& what);
  void not_answered(const std::string& what);

  std::deque<RecordedSnapshot> snapshots_;
  std::map<int, Answers<RecordedRead>> reads_;
  std::map<int, Answers<std::optional<uint64_t>>> namespace_of_;
  std::map<std::vector<int>, Answers<Attribution>> attributions_;
  std::map<DevId, Answers<bool>> tracked_;
  std::map<DevId, Answers<DeviceRef>> devices_;
  Answers<RecordedHostLayout> layouts_;
  std::map<std::pair<uint32_t, uint64_t>, RecordedBusyDevice> busy_;
  std::map<DevId, Answers<std::vector<FdHolder>>> open_holders_;
  std::map<uint64_t, Answers<RecordedHeldOpen>> held_open_;
  // members() as the recorded changes make it, the host's namespace left out.
  std::map<uint64_t, std::vector<int>> members_;
  uint64_t unanswered_ = 0;
  std::vector<std::string> unanswered_examples_;
  uint64_t dropped_ = 0;
};

}  // namespace mountleak
