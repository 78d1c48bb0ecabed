// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the kernel events as JSON lines (`trace
// --all-events`, `--log`): any bytes as a struct ml_event, through the
// decoder the tracer uses. A container
// controls its comm and every path it passes to mount(2) and friends, the
// flags too; a broken BPF object could send anything. The line has no raw
// newline and parses back, strings stay within their fields and keep their
// bytes (in *_b64 when not UTF-8), numbers come back unchanged, and the
// mount flag names decode to the flags given.

#include <sys/mount.h>

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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ml_event e;
  std::memset(&e, 0, sizeof(e));
  std::memcpy(&e, data, std::min(size, sizeof(e)));

  const auto decoded = mountleak::decode_event(&e, sizeof e);
  const bool known_kind = e.kind >= ML_EV_MNTNS && e.kind <= ML_EV_PROPAGATE_UMOUNT;
  check(decoded.has_value() == known_kind);  // an unknown kind is refused, never guessed
  // The flag text of any value, not only a mount's.
  check(decode_flags(mountleak::mount_flags_text(e.arg)) == without_magic(e.arg));
  if (!decoded) return 0;

  const std::string line = mountleak::json_line(mountleak::raw_event_json(*decoded));
  check(line.find('\n') == std::string::npos);
  const auto back = nlohmann::json::parse(line);  // throws, and aborts, if invalid
  check(back.is_object());

  check(back["event"] == mountleak::event_kind_name(decoded->kind));
  check(back["ts_ns"] == e.ts_ns && back["pid"] == e.pid && back["tid"] == e.tid && back["ppid"] == e.ppid);
  check(back["mntns"] == e.mntns && back["cgroup_id"] == e.cgroup_id && back["ret"] == e.ret);
  check(back["tier"] == (e.tier == ML_TIER_KERNEL ? "kernel" : "tracepoint"));
  check_string(back, "comm", c_string(e.comm, sizeof(e.comm)));

  const std::string p1 = c_string(e.path1, sizeof(e.path1));
  const std::string p2 = c_string(e.path2, sizeof(e.path2));
  switch (e.kind) {
    case ML_EV_MOUNT:
      check_string(back, "source", p1);
      check_string(back, "target", p2);
      check_string(back, "fstype", c_string(e.fstype, sizeof(e.fstype)));
      check(decode_flags(back["flags"]) == without_magic(e.flags));
      break;
    case ML_EV_UMOUNT:
      check_string(back, "target", p1);
      check(back["flags"] == e.flags);
      break;
    case ML_EV_MOVE_MOUNT:
      check_string(back, "from", p1);
      check_string(back, "to", p2);
      check(back["from_dfd"] == e.dfd1 && back["to_dfd"] == e.dfd2);
      break;
    case ML_EV_MOUNT_SETATTR:
      check_string(back, "path", p1);
      check(back["attr_set"] == e.arg);
      check(decode_flags(back["propagation"]) == without_magic(e.arg2));
      break;
    case ML_EV_PROPAGATE_MOUNT:
    case ML_EV_PROPAGATE_UMOUNT:
      check_string(back, "mountpoint_name", p2);
      check(back["dev"] == std::to_string(e.arg2 >> 20) + ":" + std::to_string(e.arg2 & 0xfffff));
      break;
    case ML_EV_BUSY:
      check(back["source"] == mountleak::busy_source_name(std::get<mountleak::BusyFailure>(decoded->payload).source));
      check_string(back, "path", p1);
      check(p2.empty() ? !back.contains("file") : back["file"] == mountleak::with_replacement_characters(p2));
      check(back["arg2"] == e.arg2);
      break;
    default:
      break;
  }
  return 0;
}
