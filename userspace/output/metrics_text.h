// SPDX-License-Identifier: Apache-2.0
#pragma once

// Prometheus' text exposition format (version 0.0.4), written by hand: it is
// a few lines of grammar, and Debian 12 packages no client library for C++.
// Label values come from containers (pod and container names, mount paths),
// so each goes through printable() and then the format's own escapes, and is
// cut to a bounded length: a value can neither end its quotes, nor break
// the line, nor carry bytes that are not UTF-8.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mountleak {

// The longest label value written, in bytes before the format's escapes; a
// longer one is cut at a character boundary and ends in "...".
constexpr size_t kMaxLabelValueBytes = 256;

// `raw` as a label value between the quotes: printable() (control bytes and
// invalid UTF-8 as \xNN, a backslash doubled), cut to kMaxLabelValueBytes,
// then the format's escapes: backslash as \\, double quote as \", line feed
// as \n.
std::string metrics_label_value(std::string_view raw);

using MetricLabels = std::vector<std::pair<std::string_view, std::string>>;

// One page of metrics: each family's HELP and TYPE, then its samples. Names
// and help texts are mountleak's own constants; only label values are data.
class MetricsPage {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help);
  void sample(std::string_view name, const MetricLabels& labels, uint64_t value);
  void sample(std::string_view name, uint64_t value) { sample(name, {}, value); }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

}  // namespace mountleak
