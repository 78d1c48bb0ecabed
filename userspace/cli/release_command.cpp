// SPDX-License-Identifier: Apache-2.0
#include "cli/release_command.h"

#include <fmt/core.h>

#include <chrono>
#include <optional>

#include "cli/common_options.h"
#include "cli/option_checks.h"
#include "output/event_log.h"
#include "output/json_line.h"
#include "output/printable.h"
#include "output/release_output.h"
#include "release/release_run.h"
#include "sources/host_root_path.h"
#include "util/capabilities.h"

namespace mountleak {

namespace {

struct ReleaseOptionsCli {
  CommonOptions common;
  ReleaseRequest request;
  std::string log_path;
};

int run_release_command(ReleaseOptionsCli& options) {
  ReleaseRequest& req = options.request;
  ScanRequest& scan = req.scan;
  // A command that unmounts never picks its devices by default.
  if (scan.devices.empty() && scan.images.empty() && !scan.all) {
    fmt::print(stderr, "mountleak release: say which device: --device DEV, --image POOL/IMAGE or --all\n");
    return kExitError;
  }
  if (auto caps = check_capabilities("mountleak release", release_needs()); !caps) {
    fmt::print(stderr, "{}\n", caps.error().message);
    return kExitError;
  }
  if (auto root = check_host_root(options.common.paths, scan.host_mntns); !root) {
    fmt::print(stderr, "mountleak release: {}\n", root.error().message);
    return kExitError;
  }
  std::optional<EventLog> log;
  if (!options.log_path.empty()) {
    auto opened = EventLog::open(options.log_path);
    if (!opened) {
      fmt::print(stderr, "mountleak release: {}\n", opened.error().message);
      return kExitError;
    }
    log.emplace(std::move(*opened));
  }

  const bool json = options.common.output == OutputFormat::kJson;
  const bool dry_run = !req.yes;
  std::optional<DevId> shown;
  auto on_step = [&](const ReleaseStep& step) {
    const auto now = std::chrono::system_clock::now();
    const std::string line = json_line(release_step_json(step, dry_run, now));
    if (log) log->append(line, true);
    if (json) {
      fmt::print("{}\n", line);
    } else {
      if (!shown && dry_run) fmt::print("Dry run: the plan; nothing is changed without --yes.\n");
      if (!shown || *shown != step.device.dev) fmt::print("{}\n", release_device_heading(step.device));
      shown = step.device.dev;
      fmt::print("{}", terminal_safe(release_step_text(step)));
    }
    if (step.lazy && step.action == ReleaseAction::kDone && !json)
      fmt::print(stderr, "warning: {} was detached lazily in mount namespace {}: {} stays busy while files on it are open\n",
                 printable(step.unmounted.empty() ? std::string("the copy") : step.unmounted.back()),
                 step.holder.mntns, printable(step.device.path));
    std::fflush(stdout);
  };
  auto report = run_release(options.common.paths, req, on_step);
  if (!report) {
    fmt::print(stderr, "mountleak release: {}\n", report.error().message);
    return kExitError;
  }
  for (const auto& w : report->warnings) fmt::print(stderr, "warning: {}\n", printable(w));
  const auto now = std::chrono::system_clock::now();
  if (log) {
    log->append(json_line(release_summary_json(*report, now)), true);
    log->flush(true);
  }
  if (json)
    fmt::print("{}\n", json_line(release_summary_json(*report, now)));
  else
    fmt::print("{}", release_summary_text(*report));
  return report->needs_operator() ? kExitFindings : kExitOk;
}

}  // namespace

void register_release_command(CLI::App& app, CommandAction& action) {
  auto options = std::make_shared<ReleaseOptionsCli>();
  CLI::App* cmd = app.add_subcommand("release", "Unmount a device's leaked copies without restarting their holders");
  cmd->footer(
      "Unmount the private copies of a block device that other containers' mount\n"
      "namespaces keep (the `leak` holders scan names), so the device can be\n"
      "unmapped, without restarting those containers.\n\n"
      "Dry run by default: prints the plan, holder by holder. --yes carries it out.\n"
      "Only leaked copies are unmounted, in their own namespace, deepest mount point\n"
      "first, with a plain umount2() that fails with EBUSY while the copy is in use.\n"
      "Left alone, with the reason: the host's mounts (the kubelet's), the pod the\n"
      "volume belongs to, copies that follow the host (they go with its unmount),\n"
      "processes with the device or a file on it open (named: stop them), and\n"
      "devices stacked on it. There is no option to touch those.\n\n"
      "Exit status: 0 no leak of the device remains (after --yes, scanned again),\n"
      "1 a leak remains, or a holder was refused or an unmount failed, 2 error.\n\n"
      "Examples:\n"
      "  mountleak release --device /dev/rbd4                 (the plan)\n"
      "  mountleak release --device /dev/rbd4 --yes\n"
      "  mountleak release --image replicapool/csi-vol-0001 --yes -o json\n"
      "  mountleak release --all --yes --log /var/log/mountleak-release.jsonl");
  add_common_options(*cmd, options->common);
  ScanRequest& scan = options->request.scan;
  scan.ask_ceph = false;  // release needs the holders, not the cluster's view
  cmd->add_option("-d,--device", scan.devices, "Device: /dev/rbd4, rbd4 or MAJ:MIN (repeatable)")
      ->check(non_empty("device"));
  cmd->add_option("--image", scan.images, "RBD image POOL/IMAGE, found through /sys/bus/rbd (repeatable)");
  cmd->add_flag("--all", scan.all, "Every tracked device a leaked copy, an open descriptor or a stacked device holds");
  cmd->add_option("--host-mntns", scan.host_mntns,
                  "The host's mount namespace: a PID or an ns file [default: PID 1's, else our own]")
      ->check(pid_or_absolute_path());
  add_cmdline_option(*cmd, scan.cmdline);
  cmd->add_flag("-y,--yes", options->request.yes, "Carry the plan out (without it: a dry run)");
  cmd->add_flag("--lazy", options->request.lazy,
                "Detach copies that are in use (MNT_DETACH) instead of failing with EBUSY; the device stays "
                "busy until the files open on them are closed");
  cmd->add_option("--log", options->log_path,
                  "Also append every action to this log (JSON lines, as trace --log writes)");
  cmd->callback([options, &action] { action = [options] { return run_release_command(*options); }; });
}

}  // namespace mountleak
