// SPDX-License-Identifier: Apache-2.0
#include "output/metrics_exporter.h"

namespace mountleak {

namespace {
constexpr auto kPeriod = std::chrono::seconds(1);
constexpr auto kAfterFinding = std::chrono::milliseconds(100);
}  // namespace

Result<std::unique_ptr<MetricsExporter>> MetricsExporter::start(const MetricsOptions& options, std::string version) {
  std::unique_ptr<MetricsExporter> exporter(new MetricsExporter(std::move(version)));
  if (!options.textfile.empty()) {
    auto textfile = MetricsTextfile::open(options.textfile);
    if (!textfile) return textfile.error();
    exporter->textfile_.emplace(std::move(*textfile));
  }
  if (!options.listen.empty()) {
    auto address = parse_listen_address(options.listen);
    if (!address) return address.error();
    auto server = MetricsServer::listen(*address);
    if (!server) return server.error();
    exporter->server_ = std::move(*server);
    exporter->listen_text_ = address->text;
  }
  // Until trace is ready a scrape sees mountleak_up 0 rather than nothing.
  if (auto published = exporter->publish(); !published) return published.error();
  return exporter;
}

Status MetricsExporter::serve() { return server_ ? server_->serve() : ok_status(); }

Status MetricsExporter::tick(const TraceCounters& counters) {
  const auto now = std::chrono::steady_clock::now();
  const bool findings_changed = sink_.generation() != published_generation_;
  if (now - last_ < (findings_changed ? kAfterFinding : kPeriod)) return ok_status();
  sink_.sample(counters);
  return publish();
}

Status MetricsExporter::stop(const TraceCounters& counters) {
  sink_.sample(counters);
  sink_.set_up(false);
  return publish();
}

Status MetricsExporter::publish() {
  last_ = std::chrono::steady_clock::now();
  published_generation_ = sink_.generation();
  std::string page = sink_.render();
  Status written = ok_status();
  if (textfile_) written = textfile_->write(page);
  if (server_) server_->publish(std::move(page));
  return written;
}

}  // namespace mountleak
