// SPDX-License-Identifier: Apache-2.0
// `mountleak replay`: a sequence recorded as `trace --log` records it (raw
// events and what the collector read from a scripted node), replayed
// through a collector of its own with no node at all, gives the findings
// the live collector made; and hostile lines are counted, never fatal.

#include "postmortem/replay.h"

#include <sys/mount.h>

#include <gtest/gtest.h>

#include "output/json_line.h"
#include "output/record_json.h"
#include "output/recorded_facts_json.h"
#include "postmortem/recorded_facts_parse.h"
#include "postmortem/recorded_node.h"
#include "postmortem/recorded_writer.h"
#include "postmortem/replay_raw_event.h"
#include "scripted_node.h"

namespace mountleak {
namespace {

using namespace std::chrono_literals;
using namespace testing::scripted;
using testing::mount_entry;

// Every record as the log writes it: raw events and recorded facts too.
class LogLines : public RecordSink {
 public:
  std::vector<std::string> lines;
  bool wants_raw() const override { return true; }
  bool wants_facts() const override { return true; }
  void write(const Record& record) override { lines.push_back(json_line(record_json(record))); }
};

// Findings only, without what differs between two runs by design (when the
// line was written, how long a busy event waited).
std::vector<nlohmann::json> findings(const RecordedOutput& out) {
  std::vector<nlohmann::json> f;
  for (auto e : out.events) {
    e.erase("time");
    e.erase("latency_us");
    f.push_back(e);
  }
  return f;
}

class ReplayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    paths_.host_root = std::string(MOUNTLEAK_TEST_DATA) + "/collector";
    paths_.device_globs = {"loop*"};
    node_.set(kHostNs, kHostPid, host_with_volume());
    CollectorOptions o;
    o.now = [this] { return Clock::time_point(std::chrono::duration_cast<Clock::duration>(wall_.time_since_epoch())); };
    o.wall_now = [this] { return wall_; };
    RecordedSettings settings;
    settings.max_namespaces = o.max_namespaces;
    settings.max_mounts = o.max_mounts;
    settings.max_mountinfo_bytes = o.max_mountinfo_bytes;
    auto clock = [this] { return wall_; };
    live_lookups_ = std::make_unique<LiveNodeLookups>(paths_, CmdlinePolicy::kRedacted);
    recording_lookups_ = std::make_unique<RecordingNodeLookups>(*live_lookups_, log_, clock);
    recording_source_ = std::make_unique<RecordingNamespaceSource>(node_, log_, settings, clock);
    o.lookups = recording_lookups_.get();
    live_out_ = std::make_unique<SinkSet>(std::vector<RecordSink*>{&live_, &log_});
    collector_ = std::make_unique<Collector>(paths_, o, *recording_source_, *live_out_);
    ASSERT_TRUE(collector_->start().ok());
  }
  void step(std::chrono::milliseconds d) { wall_ += d; }
  void tick() { collector_->tick(Clock::time_point(std::chrono::duration_cast<Clock::duration>(wall_.time_since_epoch()))); }
  static std::vector<MountEntry> container() {
    return {mount_entry(50, 49, DevId{0, 99}, "/", "/"),
            mount_entry(51, 50, kRoot, "/var/lib/kubelet", "/var/lib/kubelet"),
            mount_entry(52, 51, kRbd, "/", "/var/lib/kubelet/plugins/rbd/mounts/pool-image-a")};
  }
  // A log collector with a private bind of the kubelet root, then the
  // host's unmount: risk, copy and leak.
  void seed_scenario() {
    step(10ms);
    collector_->on_event(event(EventKind::kMntns, kContainerPid, kContainerNs, kHostNs));
    node_.set(kContainerNs, kContainerPid, container());
    step(5ms);
    KernelEvent bind = event(EventKind::kMount, kContainerPid, kContainerNs);
    bind.payload = MountCall{"/var/lib/kubelet", "/var/lib/kubelet", "", MS_BIND | MS_REC};
    collector_->on_event(bind);
    for (int i = 0; i < 5; ++i) {
      step(20ms);
      tick();
    }
    step(3ms);
    host_unmounts_volume();
  }
  // The host unmounts the volume; the collector settles.
  void host_unmounts_volume() {
    node_.set(kHostNs, kHostPid, host_root());
    KernelEvent umount = event(EventKind::kUmount, kHostPid, kHostNs);
    umount.payload = UmountCall{"/var/lib/kubelet/plugins/rbd/mounts/pool-image-a", 0};
    collector_->on_event(umount);
    for (int i = 0; i < 5; ++i) {
      step(20ms);
      tick();
    }
  }
  // Nothing of the node is left: the replay answers from the log alone,
  // every line parses, every question is answered, the findings are the
  // live run's.
  ReplayCounters replay_from_the_log_alone(RecordedOutput& replayed) {
    node_.namespaces.clear();
    node_.pid_ns.clear();
    node_.descriptors.clear();
    ReplayCounters c = replay(log_.lines, replayed);
    EXPECT_EQ(c.bad_lines, 0u) << (c.bad_examples.empty() ? "" : c.bad_examples[0]);
    EXPECT_EQ(c.unanswered, 0u);
    EXPECT_EQ(findings(replayed), findings(live_));
    return c;
  }
  ReplayCounters replay(const std::vector<std::string>& lines, RecordedOutput& out) {
    Replayer replayer(out);
    for (size_t i = 0; i < lines.size(); ++i) replayer.feed_line(lines[i], "log:" + std::to_string(i + 1));
    replayer.finish();
    return replayer.counters();
  }

  std::chrono::system_clock::time_point wall_ = std::chrono::sys_days{std::chrono::year{2026} / 12 / 2} + 10h;
  HostPaths paths_;
  ScriptedNode node_;
  RecordedOutput live_;
  LogLines log_;
  std::unique_ptr<LiveNodeLookups> live_lookups_;
  std::unique_ptr<RecordingNodeLookups> recording_lookups_;
  std::unique_ptr<RecordingNamespaceSource> recording_source_;
  std::unique_ptr<SinkSet> live_out_;
  std::unique_ptr<Collector> collector_;
};

TEST_F(ReplayTest, RecordedSeedScenarioReplaysToTheSameFindings) {
  seed_scenario();
  ASSERT_EQ(live_.of("hostpath_risk").size(), 1u);
  ASSERT_EQ(live_.of("mntns_copy").size(), 1u);
  ASSERT_EQ(live_.of("leak").size(), 1u);

  RecordedOutput replayed;
  ReplayCounters c = replay_from_the_log_alone(replayed);
  EXPECT_EQ(c.runs, 1u);
  EXPECT_EQ(c.events, 3u);
  auto leaks = replayed.of("leak");
  ASSERT_EQ(leaks.size(), 1u);
  EXPECT_EQ(leaks[0]["holders"][0]["mntns"], kContainerNs);
  EXPECT_EQ(leaks[0]["device"]["name"], "loop0");
  // Findings keep the times the live run made them at.
  EXPECT_EQ(replayed.events.back()["time"], live_.events.back()["time"]);
}

// The container's last process leaves while another process keeps its
// namespace open by descriptor; the host then unmounts. The leak names the
// descriptor live, and the replay, which asks the log who keeps the
// namespace, names it too.
TEST_F(ReplayTest, ANamespaceKeptByADescriptorReplaysToTheSameLeak) {
  step(10ms);
  collector_->on_event(event(EventKind::kMntns, kContainerPid, kContainerNs, kHostNs));
  node_.set(kContainerNs, kContainerPid, container());
  KernelEvent bind = event(EventKind::kMount, kContainerPid, kContainerNs);
  bind.payload = MountCall{"/var/lib/kubelet", "/var/lib/kubelet", "", MS_BIND | MS_REC};
  collector_->on_event(bind);
  step(20ms);
  tick();
  node_.pid_ns.erase(kContainerPid);
  node_.descriptors[kContainerNs] = DescriptorPin{kContainerNs, 777, 9};
  for (int i = 0; i < 4; ++i) {
    step(1s);
    tick();
  }
  host_unmounts_volume();
  auto live_leaks = live_.of("leak");
  ASSERT_EQ(live_leaks.size(), 1u);
  ASSERT_EQ(live_leaks[0]["holders"][0]["held_open_by"]["pid"], 777) << live_leaks[0].dump();

  RecordedOutput replayed;
  replay_from_the_log_alone(replayed);
}

TEST_F(ReplayTest, HostileAndBrokenLinesAreCountedNotFatal) {
  seed_scenario();
  std::vector<std::string> lines = log_.lines;
  // A line cut short, one that is not JSON, a raw event with a pid out of
  // range, a recorded table that is not mountinfo, and a fact naming an
  // impossible device: each skipped and counted, the rest replayed.
  lines.insert(lines.begin() + 1, lines[1].substr(0, lines[1].size() / 2));
  lines.insert(lines.begin() + 2, "\x1b]0;pwned\x07 not json");
  lines.insert(lines.begin() + 3,
               R"({"event":"mount","time":"2026-12-02T10:00:00.000001Z","ts_ns":1,"pid":99999999,"tid":1,)"
               R"("ppid":0,"comm":"x","mntns":1,"cgroup_id":0,"ret":0,"tier":"tracepoint","source":"",)"
               R"("target":"/","fstype":"","flags":""})");
  lines.insert(lines.begin() + 4,
               R"({"event":"recorded_read","time":"2026-12-02T10:00:00.000001Z","pid":5,"inode":1,"mountinfo":"garbage\n"})");
  lines.insert(lines.begin() + 5,
               R"({"event":"recorded_device","time":"2026-12-02T99:00:00.000001Z","dev":"1:2","tracked":true})");
  RecordedOutput replayed;
  ReplayCounters c = replay(lines, replayed);
  EXPECT_EQ(c.bad_lines, 5u);
  ASSERT_EQ(c.bad_examples.size(), 5u);
  EXPECT_NE(c.bad_examples[2].find("pid"), std::string::npos) << c.bad_examples[2];
  EXPECT_NE(c.bad_examples[3].find("mountinfo"), std::string::npos) << c.bad_examples[3];
  EXPECT_NE(c.bad_examples[4].find("time"), std::string::npos) << c.bad_examples[4];
  EXPECT_EQ(replayed.of("leak").size(), 1u);
}

TEST_F(ReplayTest, EventsBeforeAnySnapshotAreCountedUnreplayable) {
  seed_scenario();
  std::vector<std::string> lines;
  for (const auto& l : log_.lines)
    if (l.find("\"recorded_") == std::string::npos) lines.push_back(l);
  RecordedOutput replayed;
  ReplayCounters c = replay(lines, replayed);
  EXPECT_EQ(c.runs, 0u);
  EXPECT_EQ(c.unreplayable, 3u);
  EXPECT_TRUE(replayed.events.empty());
}

TEST_F(ReplayTest, RawEventsParseBackToWhatWasLogged) {
  seed_scenario();
  size_t raw = 0;
  for (const auto& l : log_.lines) {
    auto j = nlohmann::json::parse(l);
    if (!raw_event_kind(j["event"].get<std::string>())) continue;
    auto e = parse_raw_event(j);
    ASSERT_TRUE(e) << e.error().message << " in " << l;
    auto again = record_json(Record{std::chrono::system_clock::time_point{}, *e});
    j.erase("time");
    again.erase("time");
    EXPECT_EQ(again, j);
    ++raw;
  }
  EXPECT_EQ(raw, 3u);
  EXPECT_EQ(parse_mount_flags("MS_BIND|MS_REC|0x40000000"), MS_BIND | MS_REC | 0x40000000ull);
  EXPECT_FALSE(parse_mount_flags("MS_BIND|MS_NOPE"));
  EXPECT_TRUE(parse_log_time("2026-12-02T10:00:00.000001Z"));
  // Past what the collector's nanosecond clock holds (found by the fuzzer).
  EXPECT_FALSE(parse_log_time("9999-12-31T23:59:59.999999Z"));
  EXPECT_FALSE(parse_log_time("2026-02-30T10:00:00.000001Z"));
  EXPECT_FALSE(parse_log_time("2026-12-02T10:00:00.00001Z"));
}

// A busy event's walk over /proc, and an answer that left kernel threads
// out, parse back to what was written, and the replayed node gives them to
// the same questions.
TEST_F(ReplayTest, OpenHoldersAttributionsAndDescriptorPinsParseBack) {
  FdHolder map{42, -1, "/mnt/vol/lib.so (deleted)", DevId{7, 3}, "map", false, 4026532001};
  FdHolder fd{43, 5, "/dev/loop3", DevId{7, 3}, "fd", true, 4026531840};
  NodeFact open = RecordedOpenHolders{DevId{7, 3}, {map, fd}};
  Attribution who;
  who.pids = {1, 40};
  who.processes = {ProcessRef{1, "init", {"/sbin/init"}}, ProcessRef{40, "app", {"app"}}};
  NodeFact attribution = RecordedAttribution{who, false, {1, 2, 40}};
  NodeFact held = RecordedHeldOpen{4026532001, 42, 7};
  NodeFact not_held = RecordedHeldOpen{4026532002, 0, -1};

  RecordedNode node;
  for (const NodeFact& fact : {open, attribution, held, not_held}) {
    auto line = nlohmann::json::parse(json_line(recorded_fact_json(fact)));
    auto parsed = parse_recorded_fact(line);
    ASSERT_TRUE(parsed) << parsed.error().message << " in " << line.dump();
    EXPECT_EQ(recorded_fact_json(*parsed), recorded_fact_json(fact));
    node.load(*parsed);
  }
  auto found = node.open_holders(DevId{7, 3}, {}, {});
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].kind, "map");
  EXPECT_EQ(found[0].mntns, 4026532001u);
  EXPECT_TRUE(found[1].device_node);
  EXPECT_EQ(node.attribute({1, 2, 40}).pids, (std::vector<int>{1, 40}));
  auto pin = node.held_open(4026532001, nullptr);
  ASSERT_TRUE(pin);
  EXPECT_EQ(pin->pid, 42);
  EXPECT_EQ(pin->fd, 7);
  EXPECT_FALSE(node.held_open(4026532002, nullptr));
  EXPECT_EQ(node.unanswered(), 0u);
}

TEST_F(ReplayTest, MembersAreRecordedAsChangesOnly) {
  auto before = std::map<uint64_t, std::vector<int>>{{1, {10, 11}}, {2, {20}}};
  auto after = std::map<uint64_t, std::vector<int>>{{1, {10, 11}}, {3, {30}}};
  RecordedMembers change = members_change(before, after);
  EXPECT_EQ(change.set, (std::map<uint64_t, std::vector<int>>{{3, {30}}}));
  EXPECT_EQ(change.gone, std::vector<uint64_t>{2});
  EXPECT_TRUE(members_change(after, after).set.empty());
}

}  // namespace
}  // namespace mountleak
