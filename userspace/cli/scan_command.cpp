// SPDX-License-Identifier: Apache-2.0
#include "cli/scan_command.h"

#include <fmt/core.h>

#include <map>

#include "cli/common_options.h"
#include "cli/option_checks.h"
#include "findings/record.h"
#include "output/holders_table.h"
#include "output/json_line.h"
#include "output/printable.h"
#include "output/record_json.h"
#include "scanner/scan.h"
#include "sources/host_root_path.h"
#include "util/capabilities.h"

namespace mountleak {

namespace {

struct ScanOptions {
  CommonOptions common;
  ScanRequest request;
};

ScanSummary summary_of(const ScanReport& report) {
  ScanSummary s;
  s.method = report.method;
  s.method_note = report.method_note;
  s.host_mntns = report.host_mntns;
  s.host_mntns_source = report.host_mntns_source;
  s.devices = report.devices.size();
  if (report.risks_asked) s.risks = report.risks.size();
  s.needs_action = report.needs_action();
  s.counters = report.counters;
  s.issues = report.issues;
  s.warnings = report.warnings;
  s.layout = report.layout;
  return s;
}

// "statmount", or "mountinfo (why not statmount)".
std::string method_phrase(const ScanReport& report) {
  if (report.method_note.empty()) return report.method;
  return report.method + " (" + printable(report.method_note) + ")";
}

void print_json_line(const Event& event) {
  fmt::print("{}\n", json_line(record_json(Record{std::chrono::system_clock::now(), event})));
}

void print_warnings(const ScanReport& report) {
  for (const auto& w : report.warnings) fmt::print(stderr, "warning: {}\n", printable(w));
  for (const auto& i : report.issues)
    fmt::print(stderr, "warning: {}:{}: {} (line skipped)\n", printable(i.origin), i.line, printable(i.reason));
}

void print_risks(const ScanReport& report, OutputFormat output) {
  if (output == OutputFormat::kJson) {
    for (const auto& r : report.risks) print_json_line(r);
    print_json_line(summary_of(report));
    return;
  }
  print_warnings(report);
  if (report.risks.empty()) {
    fmt::print("No hostPath risk: no mount namespace binds the kubelet root, a directory above it or one it "
               "mounts volumes under with private propagation ({} mount namespaces read via {}).\n",
               report.counters.namespaces, method_phrase(report));
    return;
  }
  if (report.layout && report.layout->host_root != "/")
    fmt::print("Paths are {}.\n", printable(report.layout->paths_note()));
  // Short: node-problem-detector's condition message is the first 400 bytes.
  fmt::print("{} hostPath risk(s): private binds that keep volumes busy after the kubelet unmounts them\n",
             report.risks.size());
  fmt::print("{}", risks_heading());
  for (const auto& r : report.risks) fmt::print("{}", terminal_safe(risk_block(r)));
}

int run_scan_command(ScanOptions& options) {
  ScanRequest& req = options.request;
  if (!req.risks && req.devices.empty() && req.images.empty() && req.paths.empty()) req.all = true;
  // Without these a scan would read less than the whole node and could say
  // "no leaks" where it was not allowed to look.
  if (auto caps = check_capabilities("mountleak scan", scan_needs()); !caps) {
    fmt::print(stderr, "{}\n", caps.error().message);
    return kExitError;
  }
  if (auto root = check_host_root(options.common.paths, req.host_mntns); !root) {
    fmt::print(stderr, "mountleak scan: {}\n", root.error().message);
    return kExitError;
  }
  auto report = req.risks ? run_risk_scan(options.common.paths, req) : run_scan(options.common.paths, req);
  if (!report) {
    fmt::print(stderr, "mountleak scan: {}\n", report.error().message);
    return kExitError;
  }
  if (req.risks) {
    print_risks(*report, options.common.output);
    return report->needs_action() ? kExitFindings : kExitOk;
  }
  if (options.common.output == OutputFormat::kJson) {
    for (const auto& d : report->devices) print_json_line(HoldersFound{d});
    print_json_line(summary_of(*report));
  } else {
    print_warnings(*report);
    if (report->devices.empty())
      fmt::print("No {} found ({} mount namespaces read via {}).\n",
                 req.all ? "leaked or shared tracked devices" : "holders",
                 report->counters.namespaces, method_phrase(*report));
    if (report->layout && report->layout->host_root != "/")
      fmt::print("Paths are {}.\n", printable(report->layout->paths_note()));
    for (const auto& d : report->devices) fmt::print("{}\n", terminal_safe(device_block(d)));
    if (!report->devices.empty())
      fmt::print("({} mount namespaces read via {}.)\n", report->counters.namespaces, method_phrase(*report));
  }
  return report->needs_action() ? kExitFindings : kExitOk;
}

}  // namespace

void register_scan_command(CLI::App& app, CommandAction& action) {
  auto options = std::make_shared<ScanOptions>();
  CLI::App* cmd = app.add_subcommand("scan", "Find who holds a block device and name its container and pod, without eBPF");
  cmd->footer("Find every holder of a block device and name its container and pod, without eBPF.\n"
      "Reads each mount namespace's mount table once (listmount/statmount where the\n"
      "kernel can, else its mountinfo; see --mount-table), plus open file descriptors.\n"
      "With no selector, --all is assumed.\n\n"
      "--risks asks another question: which containers WILL leak. It lists every mount\n"
      "namespace that binds the kubelet root, a directory above it (/, /var, /var/lib) or one\n"
      "the kubelet mounts volumes under (pods, plugins) with private propagation, whether or\n"
      "not a volume is mounted there now, with its container, pod and the manifest fix\n"
      "(mountPropagation: HostToContainer). The node-problem-detector check for \"this node\n"
      "will leak\"; `mountleak lint` asks the same of manifests.\n\n"
      "Exit status: 0 nothing to do, 1 something holds a device that should be free\n"
      "(a leaked copy or an open descriptor), or with --risks a risk was found, 2 error.\n\n"
      "Examples:\n"
      "  mountleak scan --device /dev/rbd4\n"
      "  mountleak scan --image replicapool/csi-vol-0001\n"
      "  mountleak scan --path /var/lib/kubelet/pods -o json\n"
      "  mountleak scan --risks                       (containers that will leak)\n"
      "  mountleak scan --host-root /host --all          (from a DaemonSet)");
  add_common_options(*cmd, options->common);
  ScanRequest& req = options->request;
  cmd->add_option("-d,--device", req.devices, "Device: /dev/rbd4, rbd4 or MAJ:MIN (repeatable)")
      ->check(non_empty("device"));
  cmd->add_option("--image", req.images, "RBD image POOL/IMAGE, found through /sys/bus/rbd (repeatable)");
  cmd->add_option("--path", req.paths, "Every tracked device mounted under this directory (repeatable)")
      ->check(absolute_path());
  CLI::Option* all = cmd->add_flag("--all", req.all,
                                   "Every tracked device held by a private copy or an open descriptor, or "
                                   "shared by more than one namespace");
  cmd->add_flag("--risks", req.risks,
                "Instead of devices: every container binding the kubelet root (or a directory above "
                "it, or one it mounts volumes under) with private propagation, device or not")
      ->excludes(all)
      ->excludes("--device")
      ->excludes("--image")
      ->excludes("--path");
  cmd->add_option("--host-mntns", req.host_mntns,
                  "The host's mount namespace: a PID or an ns file [default: PID 1's, else our own]")
      ->check(pid_or_absolute_path());
  cmd->add_flag("!--no-fds", req.scan_fds, "Do not look for open file descriptors");
  static const std::map<std::string, MountTableMethod> kMountTables = {
      {"auto", MountTableMethod::kAuto}, {"statmount", MountTableMethod::kStatmount},
      {"mountinfo", MountTableMethod::kMountinfo}};
  cmd->add_option_function<std::string>(
         "--mount-table", [&req](const std::string& v) { req.mount_table = kMountTables.at(v); },
         "How each mount namespace's table is read: statmount (listmount(2)/statmount(2), no text to "
         "parse; exit 2 if this kernel cannot), mountinfo (/proc/PID/mountinfo text), or auto: "
         "statmount where the kernel has every field needed (6.15+), else mountinfo. Both give the "
         "same findings; scan_summary's method says which was used and method_note why not statmount")
      ->check(CLI::IsMember({"auto", "statmount", "mountinfo"}).description(""))
      ->type_name("auto|statmount|mountinfo")
      ->default_str("auto");
  add_cmdline_option(*cmd, req.cmdline);
  cmd->add_option("--ceph-conf", req.ceph.conf_path,
                  "Ask this cluster about rbd devices' watchers and lockers "
                  "[default: <host-root>/etc/ceph/ceph.conf if it exists]");
  cmd->add_option("--ceph-keyring", req.ceph.keyring_path, "Keyring for --ceph-id [default: as the conf says]");
  cmd->add_option("--ceph-id", req.ceph.client, "Ceph client name")->capture_default_str();
  cmd->add_flag("!--no-ceph", req.ask_ceph, "Do not ask the Ceph cluster");
  cmd->callback([options, &action] { action = [options] { return run_scan_command(*options); }; });
}

}  // namespace mountleak
