// SPDX-License-Identifier: Apache-2.0
// `mountleak demo`: the field report's node built for real in a sandbox (a
// loop device stands in for /dev/rbd0, the kubelet's layout under a temp
// dir, containers as processes in their own mount namespaces and cgroups),
// the leak made step by step while `mountleak trace` watches, then found
// again by `scan`, and everything removed. A first run that shows in a
// minute what mountleak is for.

#include "cli/demo_command.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/core.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <thread>

#include "cli/demo_tracer.h"
#include "fixture/private_namespace.h"
#include "fixture/seed_node.h"

namespace mountleak {

namespace {

using namespace std::chrono_literals;
using fixture::ContainerKind;
using fixture::ContainerSpec;
using fixture::SeedNode;

struct DemoOptions {
  std::string log_path;  // empty: a temp file, removed at the end
  bool trace = true;
};

std::atomic<bool> g_interrupted{false};
void on_interrupt(int) { g_interrupted = true; }

constexpr auto kFindingTimeout = 15s;

class Demo {
 public:
  explicit Demo(const DemoOptions& options) : options_(options) {}
  int run();

 private:
  void step(const std::string& title, const std::string& detail = "");
  void expect(const std::string& kind, const std::string& why);
  Status start_trace();
  int run_scan(const std::string& title);
  // Removes the sandbox and says how the demo went: the exit status.
  int finish();
  void fail(const std::string& what) {
    fmt::print("   !! {}\n", what);
    ++failures_;
  }
  bool stopped() const { return g_interrupted.load(); }

  const DemoOptions& options_;
  std::unique_ptr<SeedNode> node_;
  std::optional<DemoTracer> tracer_;
  std::string log_path_;
  std::string temp_dir_;  // holds the log when none was asked for
  int step_ = 0;
  int failures_ = 0;
};

void Demo::step(const std::string& title, const std::string& detail) {
  fmt::print("\n== {}. {}\n", ++step_, title);
  if (!detail.empty()) fmt::print("   {}\n", detail);
  std::fflush(stdout);
}

// Waits for trace's finding; a demo whose tracer stayed silent says so
// rather than pretend.
void Demo::expect(const std::string& kind, const std::string& why) {
  if (!tracer_) return;
  if (auto seen = tracer_->wait_for(kind, kFindingTimeout); !seen)
    fail(fmt::format("expected a {} finding ({}): {}", kind, why, seen.error().message));
}

Status Demo::start_trace() {
  std::vector<std::string> args = node_->cli_args();
  auto started = DemoTracer::start(args, log_path_);
  if (!started) return started.error();
  tracer_.emplace(std::move(*started));
  if (auto ready = tracer_->wait_for("ready", 60s); !ready) {
    tracer_.reset();
    return ready.error();
  }
  return ok_status();
}

int Demo::run_scan(const std::string& title) {
  step(title);
  std::vector<std::string> argv{"mountleak", "scan", "--all", "--no-ceph"};
  for (const auto& a : node_->cli_args()) argv.push_back(a);
  fmt::print("   $ mountleak scan --all --devices {} --kubelet-root {} ...\n\n", node_->kernel_name(),
             node_->kubelet_root());
  std::fflush(stdout);
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) {
    fail(fmt::format("could not run scan: {}", std::strerror(errno)));
    return -1;
  }
  if (pid == 0) {
    execv("/proc/self/exe", cargv.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int Demo::run() {
  fmt::print("mountleak demo: the leak from the field report, made for real in a sandbox and found.\n"
             "Everything lives in its own mount namespace under a temp dir, with a loop device\n"
             "standing in for /dev/rbd0, and is removed at the end.\n");
  if (auto entered = fixture::enter_private_mount_namespace(); !entered) {
    fmt::print(stderr, "mountleak demo: {}\n", entered.error().message);
    return kExitError;
  }
  fixture::SeedOptions seed;
  seed.mount_volume = false;  // trace watches the kubelet mount it
  auto node = SeedNode::create(seed);
  if (!node) {
    fmt::print(stderr, "mountleak demo: building the sandbox node: {}\n", node.error().message);
    return kExitError;
  }
  node_ = std::move(*node);
  if (options_.log_path.empty()) {
    char tmpl[] = "/tmp/mountleak-demo-XXXXXX";
    if (!mkdtemp(tmpl)) {
      fmt::print(stderr, "mountleak demo: making a temp dir: {}\n", std::strerror(errno));
      return kExitError;
    }
    temp_dir_ = tmpl;
    log_path_ = temp_dir_ + "/trace.jsonl";
  } else {
    log_path_ = options_.log_path;
  }

  const std::string volume = fmt::format("{}/{}", node_->pool(), node_->image());
  if (options_.trace) {
    step("mountleak trace starts watching the node", "Its live view follows; each finding appears the moment it is made.");
    if (auto started = start_trace(); !started)
      fmt::print("   trace could not start ({}).\n   The demo goes on without it; `mountleak scan` needs no eBPF.\n",
                 started.error().message);
  }
  if (!stopped()) {
    step(fmt::format("The kubelet maps rbd image {} (here {}) for pod {}/{}", volume, node_->device_path(),
                     node_->owner_pod().namespace_name, node_->owner_pod().name),
         "and mounts it: the global mount, then the pod's volume, then the pod's container starts.");
    Status mounted = node_->kubelet_mount_global();
    if (mounted) mounted = node_->kubelet_mount_pod_volume();
    if (!mounted) fail(mounted.error().message);
    ContainerSpec owner;
    owner.kind = ContainerKind::kVolumeOwner;
    if (auto c = node_->start_container(owner); !c) fail(c.error().message);
  }
  fixture::Container* collector = nullptr;
  if (!stopped()) {
    step("A log collector starts with hostPath /var/lib/kubelet and the default propagation",
         "Its new mount namespace takes a private copy of every mount under the kubelet root, the rbd one too.");
    ContainerSpec spec;
    spec.kind = ContainerKind::kLogCollectorPrivate;
    if (auto c = node_->start_container(spec); c)
      collector = *c;
    else
      fail(c.error().message);
    expect("hostpath_risk", "a private bind of the kubelet root");
  }
  if (!stopped()) {
    step("A second collector mounts it with mountPropagation: HostToContainer",
         "Its copy is a slave of the host's: the kubelet's unmounts reach it. No finding.");
    ContainerSpec spec;
    spec.kind = ContainerKind::kLogCollectorSlave;
    if (auto c = node_->start_container(spec); !c) fail(c.error().message);
    std::this_thread::sleep_for(1s);
  }
  if (!stopped()) {
    step(fmt::format("Pod {} moves to another node: the kubelet unmounts the volume", node_->owner_pod().name),
         "The host has no mount of the device left, but the first collector still holds its copy.");
    for (fixture::Container* c : node_->containers())
      if (c->kind == ContainerKind::kVolumeOwner) (void)node_->stop_container(*c);
    Status unmounted = node_->kubelet_unmount_pod_volume();
    if (unmounted) unmounted = node_->kubelet_unmount_global();
    if (!unmounted) fail(unmounted.error().message);
    expect("leak", "the host unmounted its last mount while a copy remains");
  }
  if (!stopped()) {
    step("`rbd unmap` now fails: device or resource busy",
         fmt::format("(A loop device stands in: opening {} exclusively fails the same way.)", node_->device_path()));
    const int fd = open(node_->device_path().c_str(), O_RDONLY | O_EXCL | O_CLOEXEC);
    if (fd >= 0) {
      close(fd);
      fail("the exclusive open succeeded: nothing holds the device");
    } else {
      fmt::print("   open({}, O_EXCL): {}\n", node_->device_path(), std::strerror(errno));
      expect("busy", "the failed exclusive open");
    }
  }
  if (!stopped()) {
    const int found = run_scan("Without eBPF, `mountleak scan` reads every mount namespace and finds the same holder");
    if (found != kExitFindings) fail(fmt::format("scan should exit 1 (a holder found), not {}", found));
  }
  if (!stopped() && collector) {
    step("The fix: set mountPropagation: HostToContainer on the collector's volume and restart it",
         "Here: the collector is stopped, and its copy goes with its mount namespace.");
    if (auto s = node_->stop_container(*collector); !s) fail(s.error().message);
    expect("leak_resolved", "the last copy went with the collector");
    const int found = run_scan("scan again: the device is free, `rbd unmap` would succeed");
    if (found != kExitOk) fail(fmt::format("scan should exit 0 (nothing holds the device), not {}", found));
  }
  if (tracer_) {
    step("trace stops (SIGINT) and prints what it counted");
    if (auto s = tracer_->stop(); !s) fail(s.error().message);
    tracer_.reset();
  }
  return finish();
}

int Demo::finish() {
  if (tracer_) (void)tracer_->stop();
  tracer_.reset();
  step("Cleaning up: containers, mounts, the loop device, cgroups and the temp dir");
  node_->teardown();
  for (const auto& e : node_->teardown_errors()) fail("cleanup: " + e);
  if (!temp_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(temp_dir_, ec);
  } else {
    fmt::print("   trace's post-mortem log is kept: {}\n"
               "   Ask it: mountleak report --log {}   (timeline, holders, lineage)\n"
               "           mountleak replay --log {}   (the findings again, offline)\n",
               log_path_, log_path_, log_path_);
  }
  if (stopped()) {
    fmt::print("\nInterrupted; everything the demo made is removed.\n");
    return kExitError;
  }
  if (failures_ > 0) {
    fmt::print("\nThe demo did not go as it should ({} problem{} above).\n", failures_, failures_ == 1 ? "" : "s");
    return kExitError;
  }
  fmt::print("\nOn a real node: `mountleak trace` (or the DaemonSet in deploy/) names the container the moment\n"
             "it takes the copy; `mountleak scan --device /dev/rbdN` finds it after the fact.\n");
  return kExitOk;
}

int run_demo(const DemoOptions& options) {
  if (geteuid() != 0) {
    fmt::print(stderr, "mountleak demo: run as root: it mounts a loop device and makes mount namespaces and "
                       "cgroups (all under a temp dir, removed at the end)\n");
    return kExitError;
  }
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  Demo demo(options);
  return demo.run();
}

}  // namespace

void register_demo_command(CLI::App& app, CommandAction& action) {
  auto options = std::make_shared<DemoOptions>();
  CLI::App* cmd = app.add_subcommand("demo", "Make the field report's leak in a sandbox and watch mountleak find it");
  cmd->footer("Builds the node of the field report for real in a sandbox: a loop device stands in for\n"
      "/dev/rbd0, the kubelet's layout lives under a temp dir, and containers are processes in\n"
      "their own mount namespaces and cgroups. Then, with `mountleak trace` watching:\n"
      "  a log collector binds /var/lib/kubelet privately    -> hostpath_risk\n"
      "  another binds it with HostToContainer               -> nothing\n"
      "  the kubelet unmounts the volume                     -> leak, naming the collector\n"
      "  the device is opened exclusively, as rbd unmap does -> busy\n"
      "  `mountleak scan` finds the same holder without eBPF\n"
      "  the collector is restarted                          -> leak over\n"
      "and everything is removed. Nothing outside its own mount namespace is touched.\n"
      "Needs root. Exit status: 0 every step went as shown, 2 otherwise (said above it).\n\n"
      "Examples:\n"
      "  mountleak demo\n"
      "  mountleak demo --log /tmp/demo.jsonl     (keep trace's log for `mountleak report`)\n"
      "  scripts/run.sh demo                      (from a fresh clone: sets up, builds, runs)");
  cmd->add_option("--log", options->log_path, "Keep trace's post-mortem log in FILE [default: a temp file, removed]");
  cmd->add_flag("!--no-trace", options->trace, "Skip the live tracer (a kernel without eBPF): scan only");
  cmd->callback([options, &action] { action = [options] { return run_demo(*options); }; });
}

}  // namespace mountleak
