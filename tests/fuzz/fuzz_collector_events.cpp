// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the collector behind `trace`: a scripted node (four
// mount namespaces whose mountinfo comes from the input) and a sequence of
// kernel events (any bytes as a ring buffer record, through the decoder the
// tracer uses), ticks, process exits and
// lost-event resyncs cut from the input. A container controls the events
// its processes cause and much of its own mount table. Host paths point at
// the fixture in tests/data/collector (read only, no /proc there). Nothing
// may crash or hang; every line the collector emits parses back with no
// raw newline, names a known event, and the statistics agree with what was
// fed and emitted.
//
// Input: one options byte, then operations, each an opcode byte:
//   0 event (2 bytes little-endian length, at most 1023; that many bytes,
//           a record as the ring buffer hands it over)
//   1 tick  (1 byte: how far the clock moves, in 50 ms steps)
//   2 table (1 byte: namespace 0-3; 2 bytes little-endian length; mountinfo text)
//   3 exit  (1 byte: namespace 0-3 whose process exits, or comes back)
//   4 lost  (1 byte: how many events the kernel dropped)
//   5 query (the model's tracked mounts)

#include <linux/types.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "collector/collector.h"
#include "fuzz_check.h"
#include "model/mountinfo.h"
#include "output/json_line.h"
#include "output/record_json.h"
#include "sources/event_decode.h"

namespace {

using mountleak::fuzz::check;
using namespace std::chrono_literals;

constexpr uint64_t kInodes[] = {4026531840, 4026532300, 4026532411, 4026532522};  // [0] is the host's
constexpr int kPids[] = {1, 4242, 5150, 6001};

// The node as the input scripts it.
class FuzzNode : public mountleak::NamespaceSource {
 public:
  std::map<uint64_t, mountleak::MountNamespace> namespaces;
  std::map<int, uint64_t> pid_ns;

  void set(size_t i, std::vector<mountleak::MountEntry> mounts) {
    mountleak::MountNamespace& ns = namespaces[kInodes[i]];
    ns.inode = kInodes[i];
    ns.pids = {kPids[i]};
    ns.mounts = std::move(mounts);
    pid_ns[kPids[i]] = kInodes[i];
  }
  mountleak::Result<mountleak::NodeSnapshot> snapshot(const mountleak::SnapshotLimits&) override {
    mountleak::NodeSnapshot s;
    // The host's, and those a live process is in.
    if (namespaces.count(kInodes[0])) s.namespaces[kInodes[0]] = namespaces.at(kInodes[0]);
    for (const auto& [pid, inode] : pid_ns)
      if (namespaces.count(inode)) s.namespaces[inode] = namespaces.at(inode);
    s.host_mntns = kInodes[0];
    s.method = "mountinfo";
    return s;
  }
  mountleak::Result<mountleak::MountNamespace> read(int pid, size_t) override {
    auto it = pid_ns.find(pid);
    if (it == pid_ns.end() || !namespaces.count(it->second)) return mountleak::Error{"no such process", ESRCH};
    return namespaces.at(it->second);
  }
  std::optional<uint64_t> namespace_of(int pid) override {
    auto it = pid_ns.find(pid);
    if (it == pid_ns.end() || !namespaces.count(it->second)) return std::nullopt;
    return it->second;
  }
  std::map<uint64_t, std::vector<int>> members() override {
    std::map<uint64_t, std::vector<int>> out;
    for (const auto& [pid, inode] : pid_ns)
      if (namespaces.count(inode)) out[inode].push_back(pid);
    return out;
  }
};

// Every line as `trace` would write it, checked.
class CheckedOutput : public mountleak::RecordSink {
 public:
  explicit CheckedOutput(bool raw) : raw_(raw) {}
  bool wants_raw() const override { return raw_; }
  void write(const mountleak::Record& record) override {
    const bool raw = record.raw();
    check(!raw || raw_);
    const std::string line = mountleak::json_line(mountleak::record_json(record));
    check(line.find('\n') == std::string::npos);
    const auto back = nlohmann::json::parse(line);  // throws, and aborts, if invalid
    check(back.is_object() && back.contains("event") && back["event"].is_string());
    const std::string kind = back["event"];
    if (raw) {
      ++raw_lines;
      check(kind != "leak" && kind != "busy" && kind != "lost");
      return;
    }
    ++findings;
    static const std::set<std::string> kKinds = {"mntns_copy", "hostpath_risk", "leak", "leak_resolved",
                                                 "busy",       "lost",          "resync"};
    check(kKinds.count(kind) == 1);
    check(back.contains("time") && back["time"].is_string());
    if (kind == "leak_resolved") {  // the device as the leak named it, and why it is over; no holders
      check(back["device"].is_object() && back["reason"].is_string());
      return;
    }
    if (kind != "lost" && kind != "resync") {
      check(back["device"].is_object() && back["holders"].is_array());
      if (kind != "busy") check(!back["holders"].empty());
    }
  }
  uint64_t raw_lines = 0;
  uint64_t findings = 0;

 private:
  bool raw_;
};

// A host with a tracked volume (7:0 is "loop0" in the fixture's sysfs).
constexpr std::string_view kHostTable =
    "1 0 254:0 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n"
    "10 1 7:0 / /var/lib/kubelet/plugins/kubernetes.io/rbd/mounts/pool-image-a rw,relatime shared:5 - ext4 "
    "/dev/loop0 rw\n";

std::vector<mountleak::MountEntry> table(std::string_view text) {
  return mountleak::parse_mountinfo(text, "fuzz").mounts;
}

struct Reader {
  const uint8_t* data;
  size_t size;
  size_t at = 0;
  bool done() const { return at >= size; }
  uint8_t byte() { return at < size ? data[at++] : 0; }
  std::string_view bytes(size_t n) {
    n = std::min(n, size - std::min(at, size));
    std::string_view out(reinterpret_cast<const char*>(data) + at, n);
    at += n;
    return out;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const mountleak::HostPaths paths = [] {
    mountleak::HostPaths p;
    p.host_root = std::string(MOUNTLEAK_TEST_DATA) + "/collector";
    p.device_globs = {"loop*"};
    return p;
  }();
  Reader in{data, size};
  const uint8_t options_byte = in.byte();

  FuzzNode node;
  node.set(0, table(kHostTable));
  CheckedOutput out((options_byte & 1) != 0);
  mountleak::CollectorOptions options;
  options.reconcile_propagation = (options_byte & 2) == 0;
  mountleak::Collector collector(paths, options, node, out);
  check(collector.start().ok());

  auto clock = mountleak::Clock::now();
  uint64_t events = 0;
  while (!in.done()) {
    switch (in.byte() % 6) {
      case 0: {
        size_t length = in.byte();
        length |= static_cast<size_t>(in.byte() & 0x3) << 8;
        std::string_view raw = in.bytes(length);
        // What the decoder refuses never reaches the collector (the tracer
        // counts it in short_samples).
        if (auto decoded = mountleak::decode_event(raw.data(), raw.size())) {
          collector.on_event(*decoded);
          ++events;
        }
        break;
      }
      case 1:
        clock += (in.byte() + 1) * 50ms;
        collector.tick(clock);
        break;
      case 2: {
        size_t i = in.byte() % 4;
        size_t length = in.byte();
        length |= static_cast<size_t>(in.byte()) << 8;
        node.set(i, table(in.bytes(length)));
        break;
      }
      case 3: {
        size_t i = in.byte() % 4;
        if (!node.pid_ns.erase(kPids[i]) && node.namespaces.count(kInodes[i])) node.pid_ns[kPids[i]] = kInodes[i];
        break;
      }
      case 4:
        collector.on_lost(in.byte());
        break;
      case 5: {
        mountleak::Stats stats;
        stats.tracked_mounts = collector.tracked_mounts();
        const auto tracked = mountleak::event_json(stats)["tracked_mounts"];
        // Mount points are bytes: what is not UTF-8 comes back encoded.
        check(nlohmann::json::parse(mountleak::json_line(tracked)) == mountleak::with_bytes_encoded(tracked));
        std::set<std::string> devices;
        for (const auto& m : tracked) {
          check(collector.model().has(m["mntns"].get<uint64_t>()));
          devices.insert(m["device"].get<std::string>());
        }
        check(collector.tracked_device_count() == devices.size());
        break;
      }
    }
  }
  // Settle whatever is pending.
  clock += 10s;
  collector.tick(clock);

  check(collector.stats().events == events);
  check(out.raw_lines == (out.wants_raw() ? events : 0));
  check(collector.stats().findings == out.findings);
  return 0;
}
