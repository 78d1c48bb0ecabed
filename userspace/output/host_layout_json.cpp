// SPDX-License-Identifier: Apache-2.0
#include "output/host_layout_json.h"

namespace mountleak {

nlohmann::json bind_json(const BindOrigin& origin) {
  nlohmann::json j;
  j["source"] = origin.source.path ? nlohmann::json(*origin.source.path) : nlohmann::json(nullptr);
  if (!origin.source.path) j["source_unknown"] = origin.source.why_unknown;
  j["kubelet_root"] = origin.kubelet_root;
  j["mountpoint"] = origin.bind->mount_point;
  j["propagation"] = propagation_name(origin.bind->propagation());
  return j;
}

nlohmann::json host_view_json(const HostLayout& layout) {
  const HostDirectory& k = layout.kubelet;
  nlohmann::json kubelet = {{"configured", k.configured},
                            {"host_path", k.host_path},
                            {"device", k.place ? nlohmann::json(k.place->dev.str()) : nlohmann::json(nullptr)},
                            {"seen_as", k.spellings}};
  return {{"host_root", layout.host_root}, {"paths", layout.paths_note()}, {"kubelet_root", kubelet}};
}

}  // namespace mountleak
