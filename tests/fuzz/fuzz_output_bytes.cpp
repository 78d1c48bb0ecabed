// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for what turns node bytes into output: any bytes as a
// JSON string value and key give a line that parses, whose *_b64 sibling
// holds the exact bytes; printable() and terminal_safe() leave no control
// byte; redact_cmdline() keeps argv's length and argv[0]; a metrics label
// value stays inside its quotes, on one line, bounded; a PV name taken from
// a path is a Kubernetes object name.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "findings/cmdline_redaction.h"
#include "findings/kubelet_volume.h"
#include "fuzz_check.h"
#include "output/json_line.h"
#include "output/metrics_text.h"
#include "output/printable.h"

namespace {

bool no_controls(std::string_view s, bool newline_ok) {
  for (unsigned char c : s)
    if ((c < 0x20 && !(newline_ok && c == '\n')) || c == 0x7f) return false;
  return mountleak::valid_utf8(s);
}

// An exposition-format label value read back as a parser would: every
// backslash starts an escape of \\, \" or \n, and no quote ends it early.
bool closed_label_value(std::string_view v) {
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '"' || v[i] == '\n') return false;
    if (v[i] == '\\') {
      if (i + 1 == v.size() || (v[i + 1] != '\\' && v[i + 1] != '"' && v[i + 1] != 'n')) return false;
      ++i;
    }
  }
  return true;
}

}  // namespace

using mountleak::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);

  nlohmann::json event = {{"event", "fuzz"}, {"comm", bytes}, {"list", {"ok", bytes}}, {"nested", {{bytes, 1}}}};
  const std::string line = mountleak::json_line(event);
  check(line.find('\n') == std::string::npos);
  const auto back = nlohmann::json::parse(line);  // throws, and aborts, if invalid
  if (mountleak::valid_utf8(bytes)) {
    check(back["comm"] == bytes);
    check(!back.contains("comm_b64"));
  } else {
    check(back["comm_b64"] == mountleak::base64(bytes));
    check(back["list_b64"][1] == mountleak::base64(bytes));
    check(back["comm"] == mountleak::with_replacement_characters(bytes));
  }

  check(no_controls(mountleak::printable(bytes), false));
  check(no_controls(mountleak::terminal_safe(bytes), true));

  const std::string label = mountleak::metrics_label_value(bytes);
  check(closed_label_value(label));
  check(mountleak::valid_utf8(label));
  check(label.size() <= 2 * mountleak::kMaxLabelValueBytes);
  for (char c : mountleak::pv_from_kubelet_path(bytes))
    check((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.');

  std::vector<std::string> argv;
  size_t start = 0;
  for (size_t i = 0; i <= bytes.size(); ++i)
    if (i == bytes.size() || bytes[i] == '\0') argv.push_back(bytes.substr(start, i - start)), start = i + 1;
  const auto redacted = mountleak::redact_cmdline(argv);
  check(redacted.size() == argv.size());
  check(redacted.empty() || redacted[0] == argv[0]);
  return 0;
}
