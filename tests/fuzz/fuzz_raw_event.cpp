// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the kernel events as JSON lines (`trace
// --all-events`, `--log`): any bytes as a ring buffer record, through the
// decoder the tracer uses; a record is refused unless its kind is known and
// header and length both say that kind's size. A container
// controls its comm and every path it passes to mount(2) and friends, the
// flags too; a broken BPF object could send anything. The line has no raw
// newline and parses back, strings stay within their fields and keep their
// bytes (in *_b64 when not UTF-8), numbers come back unchanged, and the
// mount flag names decode to the flags given.

#include <linux/types.h>
#include <sys/mount.h>

#include <linux/types.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "fuzz_check.h"
#include "mountleak/events.h"
#include "output/json_line.h"
#include "output/printable.h"
#include "output/raw_event_json.h"
#include "sources/event_decode.h"

namespace {

using mountleak::fuzz::check;

std::string c_string(const char* s, size_t max) { return std::string(s, strnlen(s, max)); }

// A string field as written: the bytes themselves, or U+FFFD and a
// base64 sibling when they are not UTF-8.
void check_string(const nlohmann::json& line, const std::string& key, const std::string& bytes) {
  check(line.contains(key) && line[key].is_string());
  if (mountleak::valid_utf8(bytes)) {
    check(line[key] == bytes);
    check(!line.contains(key + "_b64"));
  } else {
    check(line[key] == mountleak::with_replacement_characters(bytes));
    check(line[key + "_b64"] == mountleak::base64(bytes));
  }
}

// "MS_BIND|MS_REC|0x..." back to bits; every name known, none twice, the
// hex part last.
uint64_t decode_flags(const std::string& text) {
  static constexpr std::pair<uint64_t, std::string_view> kNames[] = {
      {MS_RDONLY, "MS_RDONLY"},       {MS_NOSUID, "MS_NOSUID"},           {MS_NODEV, "MS_NODEV"},
      {MS_NOEXEC, "MS_NOEXEC"},       {MS_SYNCHRONOUS, "MS_SYNCHRONOUS"}, {MS_REMOUNT, "MS_REMOUNT"},
      {MS_MANDLOCK, "MS_MANDLOCK"},   {MS_DIRSYNC, "MS_DIRSYNC"},         {MS_NOATIME, "MS_NOATIME"},
      {MS_NODIRATIME, "MS_NODIRATIME"}, {MS_BIND, "MS_BIND"},             {MS_MOVE, "MS_MOVE"},
      {MS_REC, "MS_REC"},             {MS_SILENT, "MS_SILENT"},           {MS_UNBINDABLE, "MS_UNBINDABLE"},
      {MS_PRIVATE, "MS_PRIVATE"},     {MS_SLAVE, "MS_SLAVE"},             {MS_SHARED, "MS_SHARED"},
      {MS_RELATIME, "MS_RELATIME"},   {MS_STRICTATIME, "MS_STRICTATIME"}, {MS_LAZYTIME, "MS_LAZYTIME"}};
  uint64_t bits = 0;
  bool hex_seen = false;
  std::string_view rest = text;
  while (!rest.empty()) {
    size_t bar = rest.find('|');
    std::string_view token = rest.substr(0, bar);
    check(!token.empty() && !hex_seen);
    uint64_t bit = 0;
    if (token.starts_with("0x")) {
      hex_seen = true;
      bit = std::strtoull(std::string(token).c_str(), nullptr, 16);
      check(bit != 0 && token.size() > 2);
      for (char c : token.substr(2)) check((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
    } else {
      for (const auto& [b, name] : kNames)
        if (token == name) bit = b;
      check(bit != 0);
    }
    check((bits & bit) == 0);
    bits |= bit;
    rest = bar == std::string_view::npos ? std::string_view{} : rest.substr(bar + 1);
    check(bar == std::string_view::npos || !rest.empty());
  }
  return bits;
}

// What mount(2) does with the legacy magic in bits 16-31: the kernel's
// ~MS_MGC_MSK is an unsigned int, so the bits above 31 go with it.
uint64_t without_magic(uint64_t flags) {
  return (flags & 0xffff0000u) == 0xc0ed0000u ? flags & 0xffffu : flags;
}

// The record size of each kind, as the BPF side reserves it; 0: unknown.
size_t record_size(uint32_t kind) {
  switch (kind) {
    case ML_EV_MNTNS:
    case ML_EV_SETNS: return sizeof(ml_namespace_event);
    case ML_EV_MOUNT: return sizeof(ml_mount_event);
    case ML_EV_UMOUNT: return sizeof(ml_umount_event);
    case ML_EV_OPEN_TREE: return sizeof(ml_open_tree_event);
    case ML_EV_MOVE_MOUNT: return sizeof(ml_move_mount_event);
    case ML_EV_FSMOUNT: return sizeof(ml_fsmount_event);
    case ML_EV_MOUNT_SETATTR: return sizeof(ml_mount_setattr_event);
    case ML_EV_PROPAGATE_MOUNT:
    case ML_EV_PROPAGATE_UMOUNT: return sizeof(ml_propagate_event);
    case ML_EV_BUSY: return sizeof(ml_busy_event);
  }
  return 0;
}

// The record as its kind's struct, copied (the input is not aligned).
template <typename Record>
Record as(const uint8_t* data) {
  Record r;
  std::memcpy(&r, data, sizeof r);
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto decoded = mountleak::decode_event(data, size);
  if (size < sizeof(ml_event_header)) {
    check(!decoded);
    return 0;
  }
  const auto h = as<ml_event_header>(data);
  // The flag text of any value, not only a mount's (here: the cgroup id's bits).
  check(decode_flags(mountleak::mount_flags_text(h.cgroup_id)) == without_magic(h.cgroup_id));
  const size_t expected = record_size(h.kind);
  // An unknown kind or a size that is not the kind's is refused, never guessed.
  check(decoded.has_value() == (expected != 0 && h.size == expected && size == expected));
  if (!decoded) return 0;

  const std::string line = mountleak::json_line(mountleak::raw_event_json(*decoded));
  check(line.find('\n') == std::string::npos);
  const auto back = nlohmann::json::parse(line);  // throws, and aborts, if invalid
  check(back.is_object());

  check(back["event"] == mountleak::event_kind_name(decoded->kind));
  check(back["ts_ns"] == h.ts_ns && back["pid"] == h.pid && back["tid"] == h.tid && back["ppid"] == h.ppid);
  check(back["mntns"] == h.mntns && back["cgroup_id"] == h.cgroup_id && back["ret"] == h.ret);
  check(back["tier"] == (h.tier == ML_TIER_KERNEL ? "kernel" : "tracepoint"));
  check_string(back, "comm", c_string(h.comm, sizeof(h.comm)));

  switch (h.kind) {
    case ML_EV_MNTNS:
    case ML_EV_SETNS: {
      const auto e = as<ml_namespace_event>(data);
      check(back["old_mntns"] == e.old_mntns && back["flags"] == e.flags);
      break;
    }
    case ML_EV_MOUNT: {
      const auto e = as<ml_mount_event>(data);
      check_string(back, "source", c_string(e.source, sizeof(e.source)));
      check_string(back, "target", c_string(e.target, sizeof(e.target)));
      check_string(back, "fstype", c_string(e.fstype, sizeof(e.fstype)));
      check(decode_flags(back["flags"]) == without_magic(e.flags));
      break;
    }
    case ML_EV_UMOUNT: {
      const auto e = as<ml_umount_event>(data);
      check_string(back, "target", c_string(e.target, sizeof(e.target)));
      check(back["flags"] == e.flags);
      break;
    }
    case ML_EV_OPEN_TREE: {
      const auto e = as<ml_open_tree_event>(data);
      check_string(back, "path", c_string(e.path, sizeof(e.path)));
      check(back["dfd"] == e.dfd && back["flags"] == e.flags);
      break;
    }
    case ML_EV_MOVE_MOUNT: {
      const auto e = as<ml_move_mount_event>(data);
      check_string(back, "from", c_string(e.from, sizeof(e.from)));
      check_string(back, "to", c_string(e.to, sizeof(e.to)));
      check(back["from_dfd"] == e.from_dfd && back["to_dfd"] == e.to_dfd);
      break;
    }
    case ML_EV_FSMOUNT: {
      const auto e = as<ml_fsmount_event>(data);
      check(back["fs_fd"] == e.fs_fd && back["flags"] == e.flags && back["attr_flags"] == e.attr_flags);
      break;
    }
    case ML_EV_MOUNT_SETATTR: {
      const auto e = as<ml_mount_setattr_event>(data);
      check_string(back, "path", c_string(e.path, sizeof(e.path)));
      check(back["attr_set"] == e.attr_set);
      check(decode_flags(back["propagation"]) == without_magic(e.propagation));
      break;
    }
    case ML_EV_PROPAGATE_MOUNT:
    case ML_EV_PROPAGATE_UMOUNT: {
      const auto e = as<ml_propagate_event>(data);
      check_string(back, "mountpoint_name", c_string(e.mountpoint_name, sizeof(e.mountpoint_name)));
      check(back["dev"] == std::to_string(e.dev >> 20) + ":" + std::to_string(e.dev & 0xfffff));
      break;
    }
    case ML_EV_BUSY: {
      const auto e = as<ml_busy_event>(data);
      const std::string file = c_string(e.file, sizeof(e.file));
      check(back["source"] == mountleak::busy_source_name(std::get<mountleak::BusyFailure>(decoded->payload).source));
      check_string(back, "path", c_string(e.path, sizeof(e.path)));
      check(file.empty() ? !back.contains("file") : back["file"] == mountleak::with_replacement_characters(file));
      check(back["flags"] == e.flags && back["arg"] == e.arg && back["arg2"] == e.dev);
      break;
    }
    default:
      check(false);
  }
  return 0;
}
