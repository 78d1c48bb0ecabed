// SPDX-License-Identifier: Apache-2.0
#include "cli/trace_command.h"

#include <signal.h>
#include <stdio_ext.h>

#include <fmt/core.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <vector>

#include "cli/common_options.h"
#include "cli/option_checks.h"
#include "cli/passive_watcher.h"
#include "cli/trace_metrics.h"
#include "collector/collector.h"
#include "output/event_log.h"
#include "output/log_sink.h"
#include "output/stream_sink.h"
#include "postmortem/recorded_writer.h"
#include "release/leak_releaser.h"
#include "sources/bpf/kernel_features.h"
#include "sources/bpf/late_modules.h"
#include "sources/bpf/tracefs.h"
#include "sources/bpf/tracer.h"
#include "sources/host_root_path.h"
#include "sources/kernel_info.h"
#include "sources/procfs_namespace_source.h"
#include "util/capabilities.h"

namespace mountleak {

namespace {

std::atomic<bool> g_stop{false};
std::atomic<bool> g_reopen_log{false};
// Until the main loop runs, nothing is buffered that a stop must write:
// programs and links are descriptors the kernel drops at exit, and the log
// has synced all it was given. Loading BPF cannot be interrupted, so a stop
// signal then ends the process at once rather than after the load.
std::atomic<bool> g_starting{true};

void on_stop_signal(int) {
  if (g_starting) _exit(0);
  g_stop = true;
}
void on_hangup(int) { g_reopen_log = true; }

// Installed before anything is loaded or read, so that SIGINT and
// SIGTERM are answered at every stage. No SA_RESTART: a blocking call
// returns EINTR and the loop looks at g_stop.
void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sa.sa_handler = on_hangup;
  sigaction(SIGHUP, &sa, nullptr);
  // A reader that goes away (`| head -1`) is an EPIPE to handle, not a death.
  sa.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &sa, nullptr);
}

// A year: longer is a typo, and the deadline arithmetic stays far from overflow.
constexpr double kMaxDurationSeconds = 365.0 * 24 * 3600;
// 1 GiB: the ring buffer is locked kernel memory, and its size in bytes
// must fit the kernel's 32 bits.
constexpr uint32_t kMaxRingbufKb = 1024 * 1024;
// A log that rotates at less than a few lines' worth keeps almost nothing;
// one of more than a TiB is a typo.
constexpr uint64_t kMinLogMaxSize = 4 * 1024;
constexpr uint64_t kMaxLogMaxSize = uint64_t{1} << 40;
constexpr unsigned kMaxLogKeep = 1000;

struct TraceOptions {
  CommonOptions common;
  double duration = 0;  // seconds; 0 = until SIGINT/SIGTERM
  std::string log_path;
  LogRotation log_rotation;
  bool all_events = false;
  uint32_t ringbuf_kb = 8192;
  int settle_ms = 50;
  bool reconcile_propagation = true;
  std::string host_mntns;
  CmdlinePolicy cmdline = CmdlinePolicy::kRedacted;
  // Bounds (see CollectorOptions and TracerOptions for why each exists).
  size_t max_namespaces = CollectorOptions{}.max_namespaces;
  size_t max_mounts = CollectorOptions{}.max_mounts;
  size_t max_mountinfo_bytes = CollectorOptions{}.max_mountinfo_bytes;
  uint32_t max_events_per_poll = TracerOptions{}.max_events_per_poll;
  double resync_min_interval = 1;
  double resync_max_interval = 60;
  MetricsOptions metrics;
  bool release_leaks = false;
  std::vector<std::string> release_scope;  // checked by release_scope_selector()
  bool module_watch = false;
};

// How long a stop may spend reading what is left in the ring buffer, and
// re-reading namespaces: a stop signal is answered within a second.
constexpr auto kFinalSlice = std::chrono::milliseconds(100);
// How long a stop waits for a release child still running before killing
// it: within the second a stop signal is answered in.
constexpr auto kReleaseStopGrace = std::chrono::milliseconds(500);

Stats final_stats(const BpfTracer& tracer, Collector& collector, EventLog* log, const LeakReleaser* releaser) {
  Stats stats;
  // First: naming the tracked mounts may ask sysfs, and with --log each
  // answer is a line, which the log's own counters below must include.
  stats.bounds = collector.bounds();
  stats.tracked_mounts = collector.tracked_mounts();
  if (log) log->flush(true);  // lines are counted once written
  const KernelCounters k = tracer.counters();
  const CollectorStats& c = collector.stats();
  const EventLogCounters l = log ? log->counters() : EventLogCounters{};
  stats.counters = {{"kernel_emitted", k.emitted},
                    {"kernel_dropped_ringbuf", k.dropped_ringbuf},
                    {"kernel_dropped_pending", k.dropped_pending},
                    {"kernel_missed_entry", k.missed_entry},
                    {"short_samples", k.short_samples},
                    {"sink_failures", k.sink_failures},
                    {"poll_budget_hits", k.poll_budget_hits},
                    {"events", c.events},
                    {"reconciles", c.reconciles},
                    {"reconcile_failures", c.reconcile_failures},
                    {"namespaces_gone", c.namespaces_gone},
                    {"findings", c.findings},
                    {"resyncs", c.resyncs},
                    {"unresolved_busy", c.unresolved_busy},
                    {"busy_path_timeouts", c.busy_path_timeouts},
                    {"lookups_stuck", c.lookups_stuck},
                    {"busy_repeated", c.busy_repeated},
                    {"namespaces_found_by_sweep", c.namespaces_found_by_sweep},
                    {"namespaces_left_out", c.namespaces_left_out},
                    {"namespaces_trimmed", c.namespaces_trimmed},
                    {"mountinfo_too_large", c.mountinfo_too_large},
                    {"reconcile_slices_spent", c.reconcile_slices_spent},
                    {"resyncs_deferred", c.resyncs_deferred},
                    {"log_lines", l.lines},
                    {"log_write_errors", l.write_errors},
                    {"log_rotations", l.rotations},
                    {"log_rotations_refused", l.rotations_refused}};
  if (releaser) {
    const LeakReleaserCounters& r = releaser->counters();
    stats.counters.insert(stats.counters.end(), {{"releases_done", r.done},
                                                 {"releases_failed", r.failed},
                                                 {"releases_refused", r.refused},
                                                 {"releases_kept", r.kept}});
  }
  return stats;
}

Ready ready_event(const BpfTracer& tracer, Collector& collector, const CommonOptions& common,
                  const TracefsStatus& tracefs) {
  Ready ready;
  ready.hooks = tracer.hooks();
  ready.kernel = read_kernel_info(common.paths).release;
  ready.tracefs = tracefs.detail;
  ready.host_mntns = collector.model().host_mntns();
  ready.namespaces = collector.model().namespaces().size();
  ready.tracked_devices = collector.tracked_device_count();
  ready.devices = common.paths.device_globs;
  ready.refused = tracer.refusals();
  ready.attached_in = tracer.attached_in();
  ready.warnings = collector.warnings();
  ready.host_layout = collector.host_layout();
  ready.capabilities = effective_capabilities();
  ready.pid = getpid();
  return ready;
}

RecordedSettings recorded_settings(const CollectorOptions& o) {
  RecordedSettings s;
  s.settle_ms = o.settle.count();
  s.max_delay_ms = o.max_delay.count();
  s.young_ms = std::chrono::duration_cast<std::chrono::milliseconds>(o.young).count();
  s.liveness_period_ms = o.liveness_period.count();
  s.reconcile_propagation = o.reconcile_propagation;
  s.discover_in_sweep = o.discover_in_sweep;
  s.max_namespaces = o.max_namespaces;
  s.max_mounts = o.max_mounts;
  s.max_mountinfo_bytes = o.max_mountinfo_bytes;
  s.resync_min_interval_ms = o.resync_min_interval.count();
  s.resync_max_interval_ms = o.resync_max_interval.count();
  return s;
}

// What an asked-for tier could not give here: a hook with a candidate on
// that tier left without one (the passive tier has none for the busy hooks:
// those are off by design, not missing).
std::string unserved_on_tier(const BpfTracer& tracer, TierChoice tier) {
  if (tier == TierChoice::kAuto) return "";
  std::string out;
  for (const HookChoice& choice : tracer.hooks()) {
    if (choice.tier) continue;
    for (const Hook& hook : mountleak_hooks())
      if (hook.name == choice.hook && has_candidate_on(hook, tier))
        out += (out.empty() ? "" : "; ") + choice.hook + ": " + choice.reason;
  }
  return out;
}

// Reads what the ring buffer holds now, but in a storm not for longer than
// `slice`: producers can outrun any reader.
void drain(BpfTracer& tracer, std::chrono::milliseconds slice) {
  const auto until = Clock::now() + slice;
  for (;;) {
    auto n = tracer.poll(0);
    if (!n || !tracer.more_waiting() || Clock::now() >= until) return;
  }
}

int run_trace(const TraceOptions& options) {
  const CommonOptions& common = options.common;
  install_signal_handlers();
  set_libbpf_verbose(common.verbose);
  if ((options.ringbuf_kb & (options.ringbuf_kb - 1)) || options.ringbuf_kb < 4) {
    fmt::print(stderr, "mountleak trace: --ringbuf-kb must be a power of two, at least 4\n");
    return kExitError;
  }
  if (options.resync_min_interval > options.resync_max_interval) {
    fmt::print(stderr, "mountleak trace: --resync-min-interval is longer than --resync-max-interval\n");
    return kExitError;
  }
  if (auto caps = check_capabilities("mountleak trace",
                                     options.release_leaks ? trace_release_needs() : trace_needs());
      !caps) {
    fmt::print(stderr, "{}\n", caps.error().message);
    return kExitError;
  }
  // Before anything is loaded: in a chroot every host path would be the
  // wrong one.
  if (auto root = check_host_root(common.paths, options.host_mntns); !root) {
    fmt::print(stderr, "mountleak trace: {}\n", root.error().message);
    return kExitError;
  }

  std::optional<EventLog> log;
  if (!options.log_path.empty()) {
    auto opened = EventLog::open(options.log_path, options.log_rotation);
    if (!opened) {
      fmt::print(stderr, "mountleak trace: {}\n", opened.error().message);
      return kExitError;
    }
    log.emplace(std::move(*opened));
  }
  // stdout in the chosen format, and the post-mortem log with everything.
  std::unique_ptr<StreamSink> stdout_sink;
  if (common.output == OutputFormat::kJson)
    stdout_sink = std::make_unique<JsonLinesSink>(stdout, options.all_events);
  else
    stdout_sink = std::make_unique<LiveViewSink>(stdout, options.all_events);
  std::optional<LogSink> log_sink;
  if (log) log_sink.emplace(*log);
  std::vector<RecordSink*> sinks{stdout_sink.get()};
  if (log_sink) sinks.push_back(&*log_sink);
  // Before anything is loaded: a port taken or a wrong directory stops here.
  std::unique_ptr<MetricsExporter> metrics;
  if (options.metrics.enabled()) {
    auto started = MetricsExporter::start(options.metrics, "0.1.0");
    if (!started) {
      fmt::print(stderr, "mountleak trace: {}\n", started.error().message);
      return kExitError;
    }
    metrics = std::move(*started);
    sinks.push_back(&metrics->sink());
    if (!metrics->listening().empty())
      fmt::print(stderr, "mountleak trace: metrics at http://{}/metrics\n", metrics->listening());
  }
  bool metrics_error_said = false;
  auto metrics_said = [&](const Status& s) {
    if (s || metrics_error_said) return;
    metrics_error_said = true;  // once: the next turns try again, quietly
    fmt::print(stderr, "mountleak trace: {}\n", s.error().message);
  };
  SinkSet out(sinks);
  auto flush = [&] {
    stdout_sink->flush();
    if (log) log->flush();
  };

  const TracefsStatus& tracefs = find_tracefs();
  KernelProber prober(BpfObjectSource{common.bpf_object}, common.paths.sys());
  RestrictedFeatures features(prober, common.disabled_features());

  CollectorOptions copts;
  copts.settle = std::chrono::milliseconds(options.settle_ms);
  copts.reconcile_propagation = options.reconcile_propagation;
  copts.discover_in_sweep = common.tier == TierChoice::kPassive;
  copts.cmdline = options.cmdline;
  copts.max_namespaces = options.max_namespaces;
  copts.max_mounts = options.max_mounts;
  copts.max_mountinfo_bytes = options.max_mountinfo_bytes;
  copts.resync_min_interval = std::chrono::milliseconds(static_cast<int64_t>(options.resync_min_interval * 1000));
  copts.resync_max_interval = std::chrono::milliseconds(static_cast<int64_t>(options.resync_max_interval * 1000));
  copts.interrupted = [] { return g_stop.load(); };
  ProcfsNamespaceSource procfs(common.paths, options.host_mntns);
  NamespaceSource* source = &procfs;
  // With --log, what the collector reads from the node goes into the log
  // too, so that `mountleak replay` can answer from it.
  LiveNodeLookups live_lookups(common.paths, options.cmdline);
  std::optional<RecordingNamespaceSource> recording_source;
  std::optional<RecordingNodeLookups> recording_lookups;
  copts.lookups = &live_lookups;
  if (out.wants_facts()) {
    recording_source.emplace(procfs, out, recorded_settings(copts));
    recording_lookups.emplace(live_lookups, out);
    recording_source->answers_during_snapshot(&*recording_lookups);
    source = &*recording_source;
    copts.lookups = &*recording_lookups;
  }
  Collector collector(common.paths, copts, *source, out);

  // --release-leaks: the releaser hears every record, acts on leaks, and
  // writes what it did to the same sinks.
  std::optional<LeakReleaser> releaser;
  if (options.release_leaks) {
    std::vector<ScopeSelector> scope;
    for (const auto& text : options.release_scope) scope.push_back(*parse_scope_selector(text));
    auto members_of = [&collector](const std::vector<Holder>& holders) {
      NamespaceMembers members;
      const LiveModel& model = collector.model();
      for (const Holder& h : holders) {
        const MountNamespace* ns = model.find(h.mntns);
        if (!ns || !ns->pinned_only) continue;
        members.pinned_from[h.mntns] = ns->pinned_from;
        if (const MountNamespace* from = model.find(ns->pinned_from)) members.pids[ns->pinned_from] = from->pids;
      }
      return members;
    };
    releaser.emplace(common.paths.proc(), std::move(scope), members_of, out);
    out.add(&*releaser);
  }

  // Attach first, then read the node: anything that changes in between is
  // both in the snapshot and in the ring buffer, and applying it twice is
  // harmless, while the other order could miss it.
  TracerOptions topts{BpfObjectSource{common.bpf_object}, options.ringbuf_kb * 1024u,
                      options.max_events_per_poll, common.tier};
  auto tracer = BpfTracer::start(topts, features, collector);
  if (!tracer) {
    const std::string asked =
        common.tier == TierChoice::kAuto ? "" : " --tier " + std::string(tier_choice_name(common.tier));
    fmt::print(stderr, "mountleak trace{}: {}\n  (tracefs: {}; `mountleak probe` shows what this kernel offers; "
                       "`mountleak scan` works without eBPF)\n",
               asked, tracer.error().message, tracefs.detail);
    return kExitError;
  }
  if (auto unserved = unserved_on_tier(**tracer, common.tier); !unserved.empty()) {
    fmt::print(stderr, "mountleak trace: --tier {}: {}\n  (`mountleak probe --tier {}` shows each hook)\n",
               tier_choice_name(common.tier), unserved, tier_choice_name(common.tier));
    return kExitError;
  }
  if (auto started = collector.start(); !started) {
    fmt::print(stderr, "mountleak trace: reading the node: {}\n", started.error().message);
    return kExitError;
  }
  // The passive tier: each namespace's mount table watched from here on
  // (and read once more once it is).
  std::optional<PassiveWatcher> passive;
  if (common.tier == TierChoice::kPassive) {
    auto started = PassiveWatcher::start(common.paths.proc());
    if (!started) {
      fmt::print(stderr, "mountleak trace: watching mount tables: {}\n", started.error().message);
      return kExitError;
    }
    passive.emplace(std::move(*started));
    passive->tick(collector, Clock::now());
  }
  // Attached, the ring buffer mapped, the node read: what remains is reading
  // /proc and files, which is all a compromised tracer should be able to do.
  // --watch-modules: a hook waiting for its kernel module (or on one that
  // can go) moves when the module comes (goes); loading its programs then
  // needs what loading needed at start (CAP_SYS_ADMIN among them, to find
  // the module's BTF), so those capabilities stay while modules are
  // watched. Hence opt-in: by default trace keeps only what reading /proc
  // needs, and a module loaded later waits for a restart.
  const std::set<std::string> modules = options.module_watch ? (*tracer)->watched_modules() : std::set<std::string>{};
  std::optional<LateModules> late_modules;
  if (!modules.empty()) late_modules.emplace(**tracer, common.paths.sys(), modules);
  const auto keeps = options.release_leaks ? trace_release_keeps() : trace_keeps();
  const auto keeps_watching = with_module_watch(keeps);
  if (auto dropped = keep_only_capabilities(modules.empty() ? keeps : std::span<const CapabilityNeed>(keeps_watching));
      !dropped) {
    fmt::print(stderr, "mountleak trace: {}\n", dropped.error().message);
    return kExitError;
  }
  if (metrics)
    if (auto served = metrics->serve(); !served) {
      fmt::print(stderr, "mountleak trace: {}\n", served.error().message);
      return kExitError;
    }

  Ready ready = ready_event(**tracer, collector, common, tracefs);
  ready.watched_modules.assign(modules.begin(), modules.end());
  ready.tier_asked = common.tier;
  out.write(Record{std::chrono::system_clock::now(), std::move(ready)});

  g_starting = false;
  auto deadline = Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(options.duration * 1000));
  uint64_t lost_seen = 0;
  int status = kExitOk;
  while (!g_stop && (options.duration <= 0 || Clock::now() < deadline)) {
    auto polled = (*tracer)->poll(20);
    if (!polled) {
      fmt::print(stderr, "mountleak trace: {}\n", polled.error().message);
      status = kExitError;
      break;
    }
    uint64_t lost = (*tracer)->counters().lost();
    if (lost > lost_seen) {
      drain(**tracer, kPollSlice);  // what did arrive first: the resync starts from the newest state
      collector.on_lost(lost - lost_seen);
      lost_seen = lost;
    }
    if (passive) passive->tick(collector, Clock::now());
    collector.tick(Clock::now());
    if (late_modules)
      for (HookMoved& moved : late_modules->tick(Clock::now())) {
        if (moved.error.empty()) collector.on_hook_moved();
        out.write(Record{std::chrono::system_clock::now(), std::move(moved)});
      }
    if (releaser) releaser->tick();
    if (metrics) metrics_said(metrics->tick(trace_counters(**tracer, collector)));
    flush();
    if (stdout_sink->stream_errno() != 0) break;
    if (g_reopen_log.exchange(false) && log)
      if (auto reopened = log->reopen(); !reopened)
        fmt::print(stderr, "mountleak trace: {} (still writing to the file open before)\n",
                   reopened.error().message);
  }
  // Drain, catch up on any late loss, and settle what is pending, so the
  // final stats describe the node as it is.
  drain(**tracer, kFinalSlice);
  if (uint64_t lost = (*tracer)->counters().lost(); lost > lost_seen) collector.on_lost(lost - lost_seen);
  if (passive) passive->tick(collector, Clock::now());
  collector.tick(Clock::now() + std::chrono::seconds(1), kFinalSlice);
  if (releaser) releaser->stop(kReleaseStopGrace);
  Stats stats = final_stats(**tracer, collector, log ? &*log : nullptr, releaser ? &*releaser : nullptr);
  if (passive)
    for (auto& counter : passive->counters()) stats.counters.push_back(std::move(counter));
  out.write(Record{std::chrono::system_clock::now(), std::move(stats)});
  if (metrics) metrics_said(metrics->stop(trace_counters(**tracer, collector)));
  flush();
  if (log) log->flush(true);
  // A reader that left (`| head -1`) is a clean stop; any other failure of
  // stdout (closed, a full disk) lost output, and says so.
  if (const int err = stdout_sink->stream_errno(); err != 0) {
    __fpurge(stdout);  // what could not be written is dropped, not retried at exit
    clearerr(stdout);
    if (err != EPIPE) {
      fmt::print(stderr, "mountleak trace: writing to stdout: {}\n", std::strerror(err));
      return kExitError;
    }
  }
  return status;
}

// What trace may cost on a node for months. Each bound reached is said
// (a degraded event naming it) and shown in stats, never silent.
void add_bound_options(CLI::App& cmd, TraceOptions& options) {
  const char* group = "Bounds (reported in stats; a degraded event says when one is reached)";
  cmd.add_option("--max-namespaces", options.max_namespaces,
                 "Mount namespaces the model holds; more are left out (their holders missing from "
                 "findings) until a resync finds room")
      ->check(CLI::Range(size_t{16}, size_t{1} << 24))
      ->capture_default_str()
      ->group(group);
  cmd.add_option("--max-mounts", options.max_mounts,
                 "Mounts the model holds across namespaces (~350 bytes each); beyond it a namespace "
                 "keeps only its mounts of tracked devices")
      ->check(CLI::Range(size_t{1024}, size_t{1} << 28))
      ->capture_default_str()
      ->group(group);
  cmd.add_option("--max-mountinfo-bytes", options.max_mountinfo_bytes,
                 "Largest mount table read; a larger one is not read, and the table read before stays")
      ->check(CLI::Range(size_t{64} << 10, size_t{1} << 30))
      ->capture_default_str()
      ->group(group);
  cmd.add_option("--max-events-per-poll", options.max_events_per_poll,
                 "Events handled before the loop turns to its ticks and signals (also at most 200 ms)")
      ->check(CLI::Range(1u, 1u << 20))
      ->capture_default_str()
      ->group(group);
  cmd.add_option("--resync-min-interval", options.resync_min_interval,
                 "Seconds between resyncs after lost events; doubles while losses keep coming")
      ->check(seconds_up_to(3600))
      ->capture_default_str()
      ->group(group);
  cmd.add_option("--resync-max-interval", options.resync_max_interval,
                 "The longest the resync interval grows to, in seconds")
      ->check(seconds_up_to(3600))
      ->capture_default_str()
      ->group(group);
}

// --release-leaks: trace acts, so its help says exactly on what.
void add_release_options(CLI::App& cmd, TraceOptions& options) {
  const char* group = "Releasing leaks (off by default)";
  CLI::Option* release =
      cmd.add_flag("--release-leaks", options.release_leaks,
                   "At each leak, unmount its leaked copies at once, in their own mount namespaces, as `mountleak "
                   "release --yes` would (a plain umount2, deepest first: a copy in use fails with EBUSY and is "
                   "said). Never the host's mounts, the owner pod, followers, open files or stacked devices. Each "
                   "holder's fate is a `release` event. Keeps CAP_SYS_ADMIN and CAP_SYS_CHROOT while running")
          ->group(group);
  cmd.add_option("--release-scope", options.release_scope,
                 "Release only holders whose pod matches: namespace=NAME (its Kubernetes namespace) or "
                 "label=KEY=VALUE (a pod label; read from the pod's sandbox record, which CRI-O and dockershim "
                 "write and containerd does not: a containerd pod never matches a label). Repeatable: any match "
                 "will do. A holder with no pod never matches; the others are refused, \"out of "
                 "--release-scope\"")
      ->type_name("SELECTOR")
      ->check(release_scope_selector())
      ->needs(release)
      ->group(group);
}

}  // namespace

void register_trace_command(CLI::App& app, CommandAction& action) {
  auto options = std::make_shared<TraceOptions>();
  CLI::App* cmd = app.add_subcommand("trace", "Watch mounts and EBUSY failures live (eBPF) and attribute leaks as they happen");
  cmd->footer("Watch mount namespaces, mounts and EBUSY failures live (eBPF) and attribute leaks\n"
      "to a container and pod the moment they happen:\n"
      "  mntns_copy     a new mount namespace kept private copies of tracked mounts\n"
      "  hostpath_risk  a directory holding tracked mounts was bound in with private propagation\n"
      "  leak           the host unmounted a device while copies remain\n"
      "  leak_resolved  a leak is over: its last copy went, or the host mounts it again\n"
      "  busy           rbd unmap / umount / exclusive open / detach / dmsetup remove failed with EBUSY\n"
      "  release        with --release-leaks: a leak's holder unmounted (done), left alone (kept,\n"
      "                 refused: why) or not (failed: errno), as `mountleak release -o json` says\n"
      "Runs until SIGINT/SIGTERM or --duration. Needs root and a kernel with BTF.\n\n"
      "Examples:\n"
      "  mountleak trace\n"
      "  mountleak trace -o json --log /var/log/mountleak.jsonl\n"
      "  mountleak trace --log /var/log/mountleak.jsonl --log-max-size 100M --log-keep 5\n"
      "  mountleak trace --devices 'rbd*,nbd*' --host-root /host   (from a DaemonSet)\n"
      "  mountleak trace --tier passive   (no syscall hook: ordinary syscalls cost nothing; no busy findings)\n"
      "  mountleak trace --metrics :9745   (Prometheus at http://127.0.0.1:9745/metrics)\n"
      "  mountleak trace --metrics-textfile /var/lib/node_exporter/textfile/mountleak.prom\n"
      "  mountleak trace --release-leaks --release-scope namespace=logging --release-scope label=app=fluentd\n"
      "      (at each leak, unmount the leaked copies held by pods in namespace logging or labelled app=fluentd:\n"
      "      a `release` event per holder, done / kept / refused with why / failed with errno)");
  add_common_options(*cmd, options->common);
  add_bpf_options(*cmd, options->common);
  cmd->add_option("--duration", options->duration, "Stop after this many seconds (default: run until signalled)")
      ->check(seconds_up_to(kMaxDurationSeconds));
  CLI::Option* log_opt = cmd->add_option("--log", options->log_path,
                                         "Append every event, raw ones included, as JSON lines to FILE "
                                         "(SIGHUP reopens it, for logrotate)");
  CLI::Option* max_size =
      cmd->add_option("--log-max-size", options->log_rotation.max_size,
                      "Rotate the log before a line would take it past SIZE bytes (K, M, G: 100M): FILE becomes "
                      "FILE.1, FILE.1 FILE.2, ... [default: 0, never]")
          ->transform(byte_size_or_zero(kMinLogMaxSize, kMaxLogMaxSize))
          ->needs(log_opt);
  cmd->add_option("--log-keep", options->log_rotation.keep,
                  "How many rotated logs to keep (FILE.1 newest ... FILE.N oldest)")
      ->check(CLI::Range(1u, kMaxLogKeep))
      ->capture_default_str()
      ->needs(max_size);
  cmd->add_flag("--all-events", options->all_events, "Also print raw mount, umount, mntns and setns events");
  add_cmdline_option(*cmd, options->cmdline);
  cmd->add_option("--ringbuf-kb", options->ringbuf_kb, "Ring buffer size in KiB (power of two)")
      ->check(CLI::Range(4u, kMaxRingbufKb))
      ->capture_default_str();
  cmd->add_option("--settle-ms", options->settle_ms,
                  "Quiet time before a changed namespace is re-read, so a container's setup is judged whole")
      ->check(CLI::Range(0, 60000))
      ->capture_default_str();
  cmd->add_flag("!--no-propagation-reconcile", options->reconcile_propagation,
                "Do not re-read namespaces a change propagates to (tests of the kernel tier's own "
                "propagation hook)");
  cmd->add_option("--host-mntns", options->host_mntns,
                  "The host's mount namespace: a PID or an ns file [default: PID 1's, else our own]")
      ->check(pid_or_absolute_path());
  add_bound_options(*cmd, *options);
  add_metrics_options(*cmd, options->metrics);
  add_release_options(*cmd, *options);
  cmd->add_flag("--watch-modules", options->module_watch,
                "Move a hook to its kernel-tier programs when the module they hook (rbd, dm_mod) is loaded "
                "after trace started, and back when it is removed (a hook_moved event says so). Costs "
                "capabilities: while some hook waits for its module (the ready event's module_watch lists "
                "them), trace keeps CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN instead of dropping them");
  cmd->callback([options, &action] { action = [options] { return run_trace(*options); }; });
}

}  // namespace mountleak
