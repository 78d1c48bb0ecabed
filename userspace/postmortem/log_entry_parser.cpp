// SPDX-License-Identifier: Apache-2.0
#include "postmortem/log_entry_parser.h"

#include <nlohmann/json.hpp>

#include <limits>

#include "output/json_line.h"

namespace mountleak {

namespace {

using Json = nlohmann::json;

const Json* member(const Json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

// A string field's exact bytes: from "<key>_b64" when trace had to encode
// them (json_line.h), else the string itself; "" when absent or not a
// string.
std::string text(const Json& obj, const char* key) {
  if (const Json* b64 = member(obj, (std::string(key) + "_b64").c_str()); b64 && b64->is_string())
    if (auto bytes = decode_base64(b64->get_ref<const std::string&>())) return *bytes;
  const Json* v = member(obj, key);
  return v && v->is_string() ? v->get<std::string>() : std::string();
}

std::optional<std::string> optional_text(const Json& obj, const char* key) {
  const Json* v = member(obj, key);
  if (!v || !v->is_string()) return std::nullopt;
  return text(obj, key);
}

// A number as an unsigned 64-bit value; 0 when absent, negative, or not an
// integer.
uint64_t unsigned_number(const Json& obj, const char* key) {
  const Json* v = member(obj, key);
  if (!v) return 0;
  if (v->is_number_unsigned()) return v->get<uint64_t>();
  if (v->is_number_integer()) {
    const int64_t n = v->get<int64_t>();
    return n < 0 ? 0 : static_cast<uint64_t>(n);
  }
  return 0;
}

int64_t signed_number(const Json& obj, const char* key) {
  const Json* v = member(obj, key);
  if (!v) return 0;
  if (v->is_number_integer() && !v->is_number_unsigned()) return v->get<int64_t>();
  if (v->is_number_unsigned()) {
    const uint64_t n = v->get<uint64_t>();
    return n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ? 0 : static_cast<int64_t>(n);
  }
  return 0;
}

bool boolean(const Json& obj, const char* key) {
  const Json* v = member(obj, key);
  return v && v->is_boolean() && v->get<bool>();
}

// A field that is a number in some kinds and text in others ("flags").
std::string number_or_text(const Json& obj, const char* key) {
  const Json* v = member(obj, key);
  if (!v) return {};
  if (v->is_string()) return text(obj, key);
  if (v->is_number_unsigned()) return std::to_string(v->get<uint64_t>());
  if (v->is_number_integer()) return std::to_string(v->get<int64_t>());
  return {};
}

std::vector<std::string> texts(const Json& obj, const char* key) {
  std::vector<std::string> out;
  const Json* v = member(obj, key);
  if (!v || !v->is_array()) return out;
  const Json* b64 = member(obj, (std::string(key) + "_b64").c_str());
  for (size_t i = 0; i < v->size(); ++i) {
    const Json& element = (*v)[i];
    if (!element.is_string()) continue;
    std::optional<std::string> bytes;
    if (b64 && b64->is_array() && i < b64->size() && (*b64)[i].is_string())
      bytes = decode_base64((*b64)[i].get_ref<const std::string&>());
    out.push_back(bytes ? *bytes : element.get<std::string>());
  }
  return out;
}

// argv as trace logs it (an array); a lone string is taken as argv[0].
std::vector<std::string> command_line(const Json& obj) {
  const Json* v = member(obj, "cmdline");
  if (v && v->is_string()) return {text(obj, "cmdline")};
  return texts(obj, "cmdline");
}

LoggedOwner owner_of(const Json& obj) {
  LoggedOwner o;
  if (const Json* c = member(obj, "container"); c && c->is_object())
    o.container = LoggedContainer{text(*c, "runtime"), text(*c, "id"), text(*c, "name")};
  if (const Json* p = member(obj, "pod"); p && p->is_object())
    o.pod = LoggedPod{text(*p, "namespace"), text(*p, "name"), text(*p, "uid")};
  return o;
}

LoggedHolder holder_of(const Json& h) {
  LoggedHolder out;
  out.role = text(h, "role");
  out.mntns = unsigned_number(h, "mntns");
  out.mountpoint = text(h, "mountpoint");
  out.mountpoints = texts(h, "mountpoints");
  out.root = text(h, "root");
  out.propagation = text(h, "propagation");
  if (const Json* ps = member(h, "processes"); ps && ps->is_array())
    for (const Json& p : *ps)
      if (p.is_object()) out.processes.push_back({signed_number(p, "pid"), text(p, "comm"), command_line(p)});
  out.owner = owner_of(h);
  out.via = text(h, "via");
  out.hint = text(h, "hint");
  return out;
}

std::optional<LoggedCulprit> culprit_of(const Json& obj, const char* key) {
  const Json* c = member(obj, key);
  if (!c || !c->is_object()) return std::nullopt;
  return LoggedCulprit{signed_number(*c, "pid"), text(*c, "comm"), command_line(*c), owner_of(*c)};
}

LoggedDevice device_of(const Json& obj) {
  LoggedDevice d;
  const Json* j = member(obj, "device");
  if (!j || !j->is_object()) return d;
  d.path = text(*j, "path");
  const uint64_t major = unsigned_number(*j, "major"), minor = unsigned_number(*j, "minor");
  // dev_t has 12 bits of major and 20 of minor; anything larger is not a device.
  d.major = major < (1u << 12) ? static_cast<uint32_t>(major) : 0;
  d.minor = minor < (1u << 20) ? static_cast<uint32_t>(minor) : 0;
  d.name = text(*j, "name");
  if (const Json* rbd = member(*j, "rbd"); rbd && rbd->is_object()) {
    d.rbd_pool = text(*rbd, "pool");
    d.rbd_image = text(*rbd, "image");
  }
  d.backing_file = text(*j, "backing_file");
  return d;
}

LoggedFinding finding_of(FindingKind kind, const Json& j) {
  LoggedFinding f;
  f.kind = kind;
  f.device = device_of(j);
  if (const Json* hs = member(j, "holders"); hs && hs->is_array())
    for (const Json& h : *hs)
      if (h.is_object()) f.holders.push_back(holder_of(h));
  f.mntns = unsigned_number(j, "mntns");
  f.degraded = texts(j, "degraded");
  switch (kind) {
    case FindingKind::kMntnsCopy:
      f.from_mntns = unsigned_number(j, "from_mntns");
      f.culprit = culprit_of(j, "creator");
      break;
    case FindingKind::kHostpathRisk:
      f.culprit = culprit_of(j, "process");
      if (const Json* b = member(j, "bind"); b && b->is_object())
        f.bind = LoggedBind{optional_text(*b, "source"), text(*b, "source_unknown"), boolean(*b, "kubelet_root"),
                            text(*b, "mountpoint"), text(*b, "propagation")};
      break;
    case FindingKind::kLeak:
      f.culprit = culprit_of(j, "unmounted_by");
      f.found_by_resync = text(j, "found_by") == "resync";
      break;
    case FindingKind::kBusy:
      f.culprit = culprit_of(j, "process");
      f.busy_source = text(j, "source");
      f.busy_path = text(j, "path");
      break;
  }
  return f;
}

LoggedKernelEvent kernel_event_of(const std::string& kind, const Json& j) {
  LoggedKernelEvent e;
  e.kind = kind;
  e.ts_ns = unsigned_number(j, "ts_ns");
  e.pid = signed_number(j, "pid");
  e.ppid = signed_number(j, "ppid");
  e.comm = text(j, "comm");
  e.mntns = unsigned_number(j, "mntns");
  e.old_mntns = unsigned_number(j, "old_mntns");
  e.ret = signed_number(j, "ret");
  e.source = text(j, "source");
  e.target = text(j, "target");
  if (e.target.empty()) e.target = text(j, "mountpoint_name");  // propagate_*: the last component
  e.fstype = text(j, "fstype");
  e.flags = number_or_text(j, "flags");
  e.path = text(j, "path");
  e.from = text(j, "from");
  e.to = text(j, "to");
  e.propagation = text(j, "propagation");
  e.dev = text(j, "dev");
  return e;
}

bool is_kernel_event(const std::string& kind) {
  static const char* const kKinds[] = {"mntns",         "setns",    "mount",           "umount",
                                       "open_tree",     "move_mount", "fsmount",       "mount_setattr",
                                       "busy_raw",      "propagate_mount", "propagate_umount"};
  for (const char* k : kKinds)
    if (kind == k) return true;
  return false;
}

}  // namespace

Result<LogEntry> parse_log_entry(std::string_view line) {
  // No exceptions: a damaged line is a value, not an unwinding.
  Json j = Json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Error{"not JSON"};
  if (!j.is_object()) return Error{"not a JSON object"};
  const Json* event = member(j, "event");
  if (!event || !event->is_string()) return Error{"no \"event\" naming its kind"};
  const std::string kind = event->get<std::string>();

  LogEntry entry;
  if (const Json* t = member(j, "time"); t && t->is_string()) {
    entry.time = parse_rfc3339(t->get_ref<const std::string&>());
    if (!entry.time) return Error{"\"time\" is not an RFC 3339 time"};
  } else if (kind != "log_torn_tail") {
    return Error{"no \"time\""};
  }

  if (kind == "mntns_copy")
    entry.record = finding_of(FindingKind::kMntnsCopy, j);
  else if (kind == "hostpath_risk")
    entry.record = finding_of(FindingKind::kHostpathRisk, j);
  else if (kind == "leak")
    entry.record = finding_of(FindingKind::kLeak, j);
  else if (kind == "busy")
    entry.record = finding_of(FindingKind::kBusy, j);
  else if (is_kernel_event(kind))
    entry.record = kernel_event_of(kind, j);
  else if (kind == "ready")
    entry.record = LoggedReady{unsigned_number(j, "host_mntns"), signed_number(j, "pid")};
  else
    entry.record = LoggedNotice{kind, kind == "lost" ? unsigned_number(j, "count") : 0};
  return entry;
}

}  // namespace mountleak
