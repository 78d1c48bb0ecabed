// SPDX-License-Identifier: Apache-2.0
#include "output/metrics_sink.h"

#include <set>

#include "findings/kubelet_volume.h"
#include "output/metrics_text.h"
#include "sources/kernel_tiers.h"

namespace mountleak {

namespace {

// The finding kinds, each shown from the start (0), so that rate() and
// increase() see the first one.
constexpr const char* kFindingKinds[] = {"mntns_copy", "hostpath_risk", "leak", "leak_resolved", "busy"};

struct FindingKind {
  const char* operator()(const MntnsCopy&) const { return "mntns_copy"; }
  const char* operator()(const HostpathRisk&) const { return "hostpath_risk"; }
  const char* operator()(const Leak&) const { return "leak"; }
  const char* operator()(const LeakResolved&) const { return "leak_resolved"; }
  const char* operator()(const Busy&) const { return "busy"; }
  template <class Other>
  const char* operator()(const Other&) const {
    return nullptr;
  }
};

std::string device_label(const DeviceRef& d) {
  if (!d.kernel_name.empty()) return d.kernel_name;
  if (auto slash = d.path.rfind('/'); slash != std::string::npos && slash + 1 < d.path.size())
    return d.path.substr(slash + 1);
  return d.dev.str();
}

std::string image_label(const DeviceRef& d) {
  if (!d.rbd || d.rbd->image.empty()) return "";
  std::string spec = d.rbd->pool + "/";
  if (!d.rbd->rados_namespace.empty()) spec += d.rbd->rados_namespace + "/";
  return spec + d.rbd->image;
}

}  // namespace

std::vector<LeakSeries> leak_series(const Leak& leak) {
  const std::string device = device_label(leak.device);
  const std::string image = image_label(leak.device);
  // Every copy of the device names its volume the same way; the host's own
  // paths are gone by now, so the holders' paths are what is left.
  std::vector<std::string> paths;
  for (const Holder& h : leak.holders)
    paths.insert(paths.end(), h.mountpoints.begin(), h.mountpoints.end());
  const std::string pv = pv_from_kubelet_paths(paths);
  std::set<LeakSeries> out;
  for (const Holder& h : leak.holders) {
    if (h.role == HolderRole::kHost || h.role == HolderRole::kFollower) continue;
    LeakSeries s{device, image, pv, "", "", ""};
    if (h.who.pod) {
      s.pod_namespace = h.who.pod->namespace_;
      s.pod = h.who.pod->name;
    }
    if (h.who.container) s.container = h.who.container->name.empty() ? h.who.container->id : h.who.container->name;
    out.insert(std::move(s));
  }
  return {out.begin(), out.end()};
}

void MetricsSink::add_leak(const Leak& leak) {
  LeakEntry& entry = leaks_[leak.device.dev];
  leak_series_count_ -= entry.series.size();
  entry = {};
  for (auto& s : leak_series(leak)) {
    if (leak_series_count_ < max_leak_series_) {
      entry.series.push_back(std::move(s));
      ++leak_series_count_;
    } else {
      ++entry.omitted;
    }
  }
}

void MetricsSink::write(const Record& record) {
  if (const char* kind = std::visit(FindingKind{}, record.event)) {
    ++findings_[kind];
    ++generation_;
  }
  if (const auto* leak = std::get_if<Leak>(&record.event)) {
    add_leak(*leak);
  } else if (const auto* resolved = std::get_if<LeakResolved>(&record.event)) {
    if (auto it = leaks_.find(resolved->device.dev); it != leaks_.end()) {
      leak_series_count_ -= it->second.series.size();
      leaks_.erase(it);
    }
  } else if (const auto* ready = std::get_if<Ready>(&record.event)) {
    hook_tiers_.clear();
    for (const HookChoice& h : ready->hooks)
      hook_tiers_.emplace_back(h.hook, h.tier ? std::string(tier_name(*h.tier)) : "none");
    up_ = true;
    ++generation_;
  } else if (const auto* moved = std::get_if<HookMoved>(&record.event); moved && moved->error.empty()) {
    for (auto& [hook, tier] : hook_tiers_)
      if (hook == moved->hook) tier = moved->to.tier ? std::string(tier_name(*moved->to.tier)) : "none";
    ++generation_;
  }
}

std::string MetricsSink::render() const {
  MetricsPage page;
  page.family("mountleak_up", "gauge", "1 while mountleak trace is attached and watching; 0 once it stops.");
  page.sample("mountleak_up", up_ ? 1 : 0);
  page.family("mountleak_build_info", "gauge", "mountleak's version, always 1.");
  page.sample("mountleak_build_info", {{"version", version_}}, 1);
  page.family("mountleak_hook_tier_info", "gauge",
              "The tier each hook runs on (kernel, tracepoint, or none when no program could serve it), always 1.");
  for (const auto& [hook, tier] : hook_tiers_) page.sample("mountleak_hook_tier_info", {{"hook", hook}, {"tier", tier}}, 1);

  page.family("mountleak_findings_total", "counter", "Findings reported, by kind.");
  for (const char* kind : kFindingKinds) {
    auto it = findings_.find(kind);
    page.sample("mountleak_findings_total", {{"kind", kind}}, it == findings_.end() ? 0 : it->second);
  }
  page.family("mountleak_events_total", "counter", "Kernel events read from the ring buffer, by kind.");
  for (const auto& [kind, n] : counters_.events_by_kind) page.sample("mountleak_events_total", {{"kind", kind}}, n);
  page.family("mountleak_events_lost_total", "counter",
              "Kernel events dropped before mountleak read them (ring buffer full); each loss starts a resync.");
  page.sample("mountleak_events_lost_total", counters_.events_lost);
  page.family("mountleak_resyncs_total", "counter", "Times the model was rebuilt from a full read of /proc.");
  page.sample("mountleak_resyncs_total", counters_.resyncs);

  page.family("mountleak_leaked_devices", "gauge",
              "Tracked devices the host unmounted while copies in other mount namespaces still hold them, now.");
  page.sample("mountleak_leaked_devices", leaks_.size());
  page.family("mountleak_leak_info", "gauge",
              "One series per holder of each leak that exists now, always 1; gone when the leak is resolved.");
  size_t omitted = 0;
  for (const auto& [dev, entry] : leaks_) {
    omitted += entry.omitted;
    for (const LeakSeries& s : entry.series)
      page.sample("mountleak_leak_info",
                  {{"device", s.device},
                   {"image", s.image},
                   {"pv", s.pv},
                   {"holder_pod_namespace", s.pod_namespace},
                   {"holder_pod", s.pod},
                   {"holder_container", s.container}},
                  1);
  }
  page.family("mountleak_leak_info_omitted", "gauge",
              "mountleak_leak_info series left out because the series bound was reached; their leaks are still counted.");
  page.sample("mountleak_leak_info_omitted", omitted);
  page.family("mountleak_hostpath_risks", "gauge",
              "Mount namespaces alive now where a hostPath bind with private propagation holds copies of tracked mounts.");
  page.sample("mountleak_hostpath_risks", counters_.hostpath_risks);
  return page.text();
}

}  // namespace mountleak
