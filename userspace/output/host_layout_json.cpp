// SPDX-License-Identifier: Apache-2.0
#include "output/host_layout_json.h"

namespace mountleak {

nlohmann::json host_view_json(const HostLayout& layout) {
  const HostDirectory& k = layout.kubelet;
  nlohmann::json kubelet = {{"configured", k.configured},
                            {"host_path", k.host_path},
                            {"device", k.place ? nlohmann::json(k.place->dev.str()) : nlohmann::json(nullptr)},
                            {"seen_as", k.spellings}};
  return {{"host_root", layout.host_root}, {"paths", layout.paths_note()}, {"kubelet_root", kubelet}};
}

}  // namespace mountleak
