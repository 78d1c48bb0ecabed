// SPDX-License-Identifier: Apache-2.0
#include "postmortem/log_records.h"

#include <fmt/core.h>

#include "postmortem/log_entry_parser.h"

namespace mountleak {

namespace {

// More than this many unparsed lines are only counted: a log of garbage
// should not become a screen of warnings.
constexpr uint64_t kUnparsedNamed = 10;

// Calls that failed changed nothing; a busy is kept (it is the failure).
bool failed_call(const LoggedKernelEvent& e) { return e.ret < 0 && e.kind != "busy_raw"; }

// Whether a kernel event can be a step of some device's history
// (device_history.h). Most raw events in a log are a container runtime's
// own mounts of proc, tmpfs and overlay: a mount that binds nothing,
// changes no propagation and mounts no path (a device node is a path) is
// no device's story, and keeping it would only cost memory.
bool may_matter(const LoggedKernelEvent& e) {
  if (e.kind == "mntns" || e.kind == "setns" || e.kind == "umount" || e.kind == "mount_setattr" ||
      e.kind == "propagate_mount")
    return true;
  if (e.kind != "mount") return false;  // busy_raw (its finding tells), the new mount API, ...
  if (!e.source.empty() && e.source[0] == '/') return true;
  for (const char* flag : {"MS_BIND", "MS_PRIVATE", "MS_SLAVE", "MS_SHARED", "MS_UNBINDABLE"})
    if (e.flags.find(flag) != std::string::npos) return true;
  return false;
}

}  // namespace

void add_log_line(LogRecords& log, std::string_view line, const std::string& where) {
  ++log.lines;
  auto entry = parse_log_entry(line);
  if (!entry) {
    if (++log.unparsed <= kUnparsedNamed)
      log.warnings.push_back(fmt::format("{}: {}; skipped", where, entry.error().message));
    return;
  }
  if (const auto* notice = std::get_if<LoggedNotice>(&entry->record)) {
    if (notice->kind == "log_torn_tail") ++log.torn_tails;
    if (notice->kind == "lost") log.lost_events += notice->count;
  }
  if (const auto* e = std::get_if<LoggedKernelEvent>(&entry->record)) {
    if (failed_call(*e)) {
      ++log.failed_calls;
      return;
    }
    if (!may_matter(*e)) {
      ++log.raw_not_needed;
      return;
    }
  }
  if (!entry->time) return;  // log_torn_tail: counted, no place in a history
  if (const auto* r = std::get_if<LoggedReady>(&entry->record)) log.readies.push_back(*r);
  log.entries.push_back(std::move(*entry));
}

uint64_t host_mntns_of(const LogRecords& log) {
  if (!log.readies.empty()) return log.readies.back().host_mntns;
  for (const auto& e : log.entries)
    if (const auto* f = std::get_if<LoggedFinding>(&e.record))
      for (const auto& h : f->holders)
        if (h.role == "host" && h.mntns) return h.mntns;
  return 0;
}

Result<LogRecords> load_log_records(const std::vector<std::string>& files, LogReadLimits limits) {
  LogRecords log;
  auto status = read_log(
      files,
      [&](const LogLine& line) { add_log_line(log, line.text, fmt::format("{}: line {}", line.file, line.number)); },
      log.warnings, limits);
  if (!status) return status.error();
  if (log.unparsed > kUnparsedNamed)
    log.warnings.push_back(fmt::format("{} more lines that do not parse were skipped", log.unparsed - kUnparsedNamed));
  return log;
}

}  // namespace mountleak
