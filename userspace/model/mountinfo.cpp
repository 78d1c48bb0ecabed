// SPDX-License-Identifier: Apache-2.0
#include "model/mountinfo.h"

#include <algorithm>
#include <charconv>
#include <cstring>

namespace mountleak {

namespace {

// Walks the space-separated fields of one line. The kernel separates fields
// by exactly one space and escapes spaces inside fields, so two spaces in a
// row mean an empty field (a mount source can legitimately be empty).
class FieldCursor {
 public:
  explicit FieldCursor(std::string_view line) : rest_(line) {}

  bool next(std::string_view& field) {
    if (done_) return false;
    const char* sp = static_cast<const char*>(std::memchr(rest_.data(), ' ', rest_.size()));
    if (sp == nullptr) {
      field = rest_;
      rest_ = {};
      done_ = true;
      return true;
    }
    const size_t len = static_cast<size_t>(sp - rest_.data());
    field = rest_.substr(0, len);
    rest_.remove_prefix(len + 1);
    return true;
  }

  // Everything after the last field returned; false when the line ended.
  bool take_rest(std::string_view& rest) {
    if (done_) return false;
    rest = rest_;
    rest_ = {};
    done_ = true;
    return true;
  }

 private:
  std::string_view rest_;
  bool done_ = false;
};

template <class T>
bool parse_decimal(std::string_view s, T& out) {
  if (s.empty()) return false;
  auto [end, err] = std::from_chars(s.data(), s.data() + s.size(), out);
  return err == std::errc() && end == s.data() + s.size();
}

bool is_octal(char c) { return c >= '0' && c <= '7'; }

// Assigns the unescaped field to out, reusing out's buffer.
void unescape_into(std::string_view field, std::string& out) {
  if (std::memchr(field.data(), '\\', field.size()) == nullptr) {
    out.assign(field);
    return;
  }
  out.clear();
  out.reserve(field.size());
  for (size_t i = 0; i < field.size(); ++i) {
    const char c = field[i];
    if (c == '\\' && i + 3 < field.size() && field[i + 1] >= '0' && field[i + 1] <= '3' &&
        is_octal(field[i + 2]) && is_octal(field[i + 3])) {
      out.push_back(static_cast<char>(((field[i + 1] - '0') << 6) | ((field[i + 2] - '0') << 3) |
                                      (field[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(c);
    }
  }
}

// Reads one optional field into the entry; returns a reason on failure.
const char* apply_optional_field(std::string_view f, MountEntry& e, MountVerbatim* v) {
  constexpr std::string_view kShared = "shared:";
  constexpr std::string_view kMaster = "master:";
  constexpr std::string_view kPropagateFrom = "propagate_from:";
  if (f.starts_with(kShared)) {
    if (!parse_decimal(f.substr(kShared.size()), e.shared_group) || e.shared_group == 0)
      return "bad peer group in shared:N";
  } else if (f.starts_with(kMaster)) {
    if (!parse_decimal(f.substr(kMaster.size()), e.master_group) || e.master_group == 0)
      return "bad peer group in master:N";
  } else if (f.starts_with(kPropagateFrom)) {
    if (!parse_decimal(f.substr(kPropagateFrom.size()), e.propagate_from) || e.propagate_from == 0)
      return "bad peer group in propagate_from:N";
  } else if (f == "unbindable") {
    e.unbindable = true;
  }
  // Unknown fields are kept verbatim (when asked) and otherwise ignored, as
  // proc(5) asks.
  if (v) v->optional_fields.emplace_back(f);
  return nullptr;
}

// Parses one non-empty line into e (and v, when given); returns nullptr or
// the reason it failed.
const char* parse_line(std::string_view line, MountEntry& e, MountVerbatim* v) {
  FieldCursor cur(line);
  std::string_view f;

  if (!cur.next(f) || !parse_decimal(f, e.mount_id)) return "bad mount ID (field 1)";
  if (!cur.next(f) || !parse_decimal(f, e.parent_id)) return "bad parent ID (field 2)";
  if (!cur.next(f)) return "missing device (field 3)";
  auto dev = DevId::parse(f);
  if (!dev) return "bad device MAJ:MIN (field 3)";
  e.dev = *dev;
  if (!cur.next(f) || f.empty()) return "missing root (field 4)";
  unescape_into(f, e.root);
  if (!cur.next(f) || f.empty()) return "missing mount point (field 5)";
  unescape_into(f, e.mount_point);
  if (!cur.next(f) || f.empty()) return "missing mount options (field 6)";
  if (v) v->mount_options.assign(f);

  for (;;) {
    if (!cur.next(f)) return "no \" - \" separator after the optional fields";
    if (f == "-") break;
    if (f.empty()) return "empty optional field";
    if (const char* why = apply_optional_field(f, e, v)) return why;
  }

  if (!cur.next(f) || f.empty()) return "missing filesystem type";
  unescape_into(f, e.fs_type);
  if (!cur.next(f)) return "missing mount source";
  unescape_into(f, e.source);
  // Super options run to the end of the line; a filesystem's show_options()
  // is not obliged to escape spaces, so they are not split further.
  if (!cur.take_rest(f)) return "missing super options";
  if (v) v->super_options.assign(f);
  return nullptr;
}

}  // namespace

std::string_view propagation_name(Propagation p) {
  switch (p) {
    case Propagation::kPrivate:
      return "private";
    case Propagation::kShared:
      return "shared";
    case Propagation::kSlave:
      return "slave";
    case Propagation::kSharedAndSlave:
      return "shared+slave";
    case Propagation::kUnbindable:
      return "unbindable";
  }
  return "unknown";
}

Propagation MountEntry::propagation() const {
  if (unbindable) return Propagation::kUnbindable;
  if (shared_group != 0 && master_group != 0) return Propagation::kSharedAndSlave;
  if (shared_group != 0) return Propagation::kShared;
  if (master_group != 0) return Propagation::kSlave;
  return Propagation::kPrivate;
}

MountTable parse_mountinfo(std::string_view text, std::string_view origin, MountDetail detail) {
  MountTable table;
  const bool verbatim = detail == MountDetail::kVerbatim;
  const auto lines = static_cast<size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
  table.mounts.reserve(lines);
  if (verbatim) table.verbatim.reserve(lines);

  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const char* nl = static_cast<const char*>(std::memchr(text.data(), '\n', text.size()));
    const size_t len = nl ? static_cast<size_t>(nl - text.data()) : text.size();
    const std::string_view line = text.substr(0, len);
    text.remove_prefix(nl ? len + 1 : len);

    if (line.empty()) {
      table.issues.push_back({std::string(origin), line_no, "empty line"});
      continue;
    }
    MountEntry& entry = table.mounts.emplace_back();
    MountVerbatim* v = verbatim ? &table.verbatim.emplace_back() : nullptr;
    if (const char* why = parse_line(line, entry, v)) {
      table.mounts.pop_back();
      if (verbatim) table.verbatim.pop_back();
      table.issues.push_back({std::string(origin), line_no, why});
    }
  }
  table.lines = line_no;
  return table;
}

std::string unescape_mount_field(std::string_view field) {
  std::string out;
  unescape_into(field, out);
  return out;
}

std::string escape_mount_field(std::string_view field) {
  std::string out;
  out.reserve(field.size());
  for (const char c : field) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\\') {
      const auto u = static_cast<unsigned char>(c);
      out.push_back('\\');
      out.push_back(static_cast<char>('0' + ((u >> 6) & 7)));
      out.push_back(static_cast<char>('0' + ((u >> 3) & 7)));
      out.push_back(static_cast<char>('0' + (u & 7)));
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::vector<std::string> split_mount_options(std::string_view options) {
  std::vector<std::string> out;
  if (options.empty()) return out;
  for (;;) {
    const size_t comma = options.find(',');
    out.push_back(unescape_mount_field(options.substr(0, comma)));
    if (comma == std::string_view::npos) break;
    options.remove_prefix(comma + 1);
  }
  return out;
}

std::string format_mountinfo_line(const MountEntry& e, const MountVerbatim* v) {
  std::string line;
  line.reserve(64 + e.root.size() + e.mount_point.size() + e.source.size() +
               (v ? v->mount_options.size() + v->super_options.size() : 0));
  line += std::to_string(e.mount_id);
  line += ' ';
  line += std::to_string(e.parent_id);
  line += ' ';
  line += e.dev.str();
  line += ' ';
  line += escape_mount_field(e.root);
  line += ' ';
  line += escape_mount_field(e.mount_point);
  line += ' ';
  line += v ? v->mount_options : "rw";
  if (v && !v->optional_fields.empty()) {
    for (const auto& f : v->optional_fields) {
      line += ' ';
      line += f;
    }
  } else {
    // Without the verbatim fields, propagation is stated by the numeric
    // members alone.
    if (e.shared_group != 0) line += " shared:" + std::to_string(e.shared_group);
    if (e.master_group != 0) line += " master:" + std::to_string(e.master_group);
    if (e.propagate_from != 0) line += " propagate_from:" + std::to_string(e.propagate_from);
    if (e.unbindable) line += " unbindable";
  }
  line += " - ";
  line += escape_mount_field(e.fs_type);
  line += ' ';
  line += escape_mount_field(e.source);
  line += ' ';
  line += v ? v->super_options : "rw";
  return line;
}

}  // namespace mountleak
