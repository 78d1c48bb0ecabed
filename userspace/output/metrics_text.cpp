// SPDX-License-Identifier: Apache-2.0
#include "output/metrics_text.h"

#include "output/printable.h"

namespace mountleak {

std::string metrics_label_value(std::string_view raw) {
  std::string safe = printable(raw);
  if (safe.size() > kMaxLabelValueBytes) {
    // printable() leaves only ASCII escapes and whole UTF-8 sequences: step
    // back over continuation bytes to cut between characters.
    size_t cut = kMaxLabelValueBytes - 3;
    while (cut > 0 && (static_cast<unsigned char>(safe[cut]) & 0xC0) == 0x80) --cut;
    safe.resize(cut);
    safe += "...";
  }
  std::string out;
  out.reserve(safe.size() + 8);
  for (char c : safe) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;  // printable() leaves none; the format's rule all the same
      default: out += c;
    }
  }
  return out;
}

void MetricsPage::family(std::string_view name, std::string_view type, std::string_view help) {
  text_ += "# HELP ";
  text_ += name;
  text_ += ' ';
  text_ += help;
  text_ += "\n# TYPE ";
  text_ += name;
  text_ += ' ';
  text_ += type;
  text_ += '\n';
}

void MetricsPage::sample(std::string_view name, const MetricLabels& labels, uint64_t value) {
  text_ += name;
  if (!labels.empty()) {
    text_ += '{';
    bool first = true;
    for (const auto& [label, value_text] : labels) {
      if (!first) text_ += ',';
      first = false;
      text_ += label;
      text_ += "=\"";
      text_ += metrics_label_value(value_text);
      text_ += '"';
    }
    text_ += '}';
  }
  text_ += ' ';
  text_ += std::to_string(value);
  text_ += '\n';
}

}  // namespace mountleak
