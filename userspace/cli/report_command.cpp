// SPDX-License-Identifier: Apache-2.0
#include "cli/report_command.h"

#include <fmt/core.h>

#include <chrono>

#include "cli/common_options.h"
#include "output/json_line.h"
#include "output/postmortem_json.h"
#include "output/postmortem_table.h"
#include "output/printable.h"
#include "postmortem/device_report.h"
#include "postmortem/log_reader.h"
#include "postmortem/log_records.h"
#include "postmortem/log_time.h"

namespace mountleak {

namespace {

struct ReportOptions {
  std::vector<std::string> logs;
  ReportQuery query;
  std::string since, until, at;
  OutputFormat output = OutputFormat::kTable;
};

LogMicros now_micros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// RFC 3339 as the log writes it, or journalctl's "-5m" back from now.
std::optional<LogMicros> parse_time_option(const std::string& option, const std::string& text) {
  if (text.empty()) return std::nullopt;
  if (auto t = parse_rfc3339(text)) return t;
  if (auto t = parse_relative_time(text, now_micros())) return t;
  throw CLI::ValidationError(option, "'" + text +
                                         "' is not a time: give RFC 3339 with a zone (2026-12-02T12:40:00Z, "
                                         "2026-12-02T13:40:00+01:00) or a time back from now (-90s, -5m, -2h, -1d)");
}

// One path names the log and its rotations; several are read as given.
Result<std::vector<std::string>> files_to_read(const std::vector<std::string>& logs) {
  if (logs.size() == 1) return log_files(logs.front());
  return logs;
}

int run_report_command(ReportOptions& options) {
  options.query.since = parse_time_option("--since", options.since);
  options.query.until = parse_time_option("--until", options.until);
  options.query.at = parse_time_option("--at", options.at);
  if (options.query.since && options.query.until && *options.query.since > *options.query.until) {
    fmt::print(stderr, "mountleak report: --since is after --until\n");
    return kExitError;
  }
  auto files = files_to_read(options.logs);
  if (!files) {
    fmt::print(stderr, "mountleak report: {}\n", printable(files.error().message));
    return kExitError;
  }
  auto log = load_log_records(*files);
  if (!log) {
    fmt::print(stderr, "mountleak report: {}\n", printable(log.error().message));
    return kExitError;
  }
  const PostmortemReport report = build_postmortem_report(*log, options.query, *files);
  // On stderr in both formats: what was skipped, so a JSON consumer's stdout
  // stays records only and a person still sees it.
  for (const auto& w : report.warnings) fmt::print(stderr, "mountleak report: warning: {}\n", printable(w));
  if (options.output == OutputFormat::kJson) {
    for (const auto& d : report.devices) fmt::print("{}\n", json_line(device_report_json(d)));
    fmt::print("{}\n", json_line(report_summary_json(report)));
    return kExitOk;
  }
  if (report.devices.empty()) fmt::print("No finding in the log names a device asked about.\n");
  for (const auto& d : report.devices) fmt::print("{}\n", terminal_safe(device_report_block(d)));
  fmt::print("{}", terminal_safe(report_summary_lines(report)));
  return kExitOk;
}

}  // namespace

void register_report_command(CLI::App& app, CommandAction& action) {
  auto options = std::make_shared<ReportOptions>();
  CLI::App* cmd = app.add_subcommand("report", "Answer questions from a trace --log after the fact: timeline, holders, lineage");
  cmd->footer(
      "Reads what `mountleak trace --log FILE` wrote (FILE's rotations too, oldest first,\n"
      "gzip-compressed ones as well) and, for each device a finding names:\n"
      "  TIMELINE  mounted, copied into a namespace by which process and container,\n"
      "            bound with which propagation, unmounted by the host, leak, busy;\n"
      "  HOLDERS   who held it at --at (default: the end of the log, or --until);\n"
      "  LINEAGE   for each copy, the chain of namespace copies, binds and propagation\n"
      "            changes from the host's mount down to the container and pod holding it.\n"
      "Needs no privilege and no node: a log copied to a laptop answers the same.\n"
      "A torn last line (a crash mid-write) and lines that do not parse are skipped,\n"
      "counted and said on stderr.\n\n"
      "Times are RFC 3339 as the log writes them (2026-12-02T12:40:00Z, or with an offset)\n"
      "or back from now: -90s, -5m, -2h, -1d.\n\n"
      "Exit status: 0 answered, 2 error (no file of the log could be read, a bad option).\n\n"
      "Examples:\n"
      "  mountleak report --log /var/log/mountleak/trace.log\n"
      "  mountleak report --log trace.log --device /dev/rbd4 --at 2026-12-02T03:14:00Z\n"
      "  mountleak report --log trace.log --image replicapool/csi-vol-7f3a --since -2h\n"
      "  mountleak report --log trace.log --pod kube-system/fluentd-x7k2p -o json\n"
      "  mountleak report --log trace.log.2.gz --log trace.log.1 --log trace.log   (files as given)");
  cmd->add_option("--log", options->logs,
                  "The log trace wrote: one FILE is read with its rotations (FILE.N[.gz] ... FILE.1, FILE); "
                  "repeat to name files yourself, read in the order given")
      ->required()
      ->type_name("FILE");
  cmd->add_option("-d,--device", options->query.devices, "Device: /dev/rbd4, rbd4 or MAJ:MIN (repeatable)");
  cmd->add_option("--image", options->query.images, "RBD image POOL/IMAGE (repeatable)");
  cmd->add_option("--pod", options->query.pods,
                  "Devices this pod took part in, and only its holders: NAMESPACE/NAME or NAME (repeatable)");
  cmd->add_option("--since", options->since, "Timeline from this time")->type_name("TIME");
  cmd->add_option("--until", options->until, "Timeline up to this time")->type_name("TIME");
  cmd->add_option("--at", options->at, "Holders and lineage at this time [default: --until, else the log's end]")
      ->type_name("TIME");
  add_output_option(*cmd, options->output, "one object per device, then a summary");
  cmd->callback([options, &action] { action = [options] { return run_report_command(*options); }; });
}

}  // namespace mountleak
