// SPDX-License-Identifier: Apache-2.0
#include "output/holders_json.h"

#include <fmt/chrono.h>
#include <fmt/core.h>

#include <chrono>

#include "resolve/ceph_client.h"

namespace mountleak {

namespace {
// Unknown is null, never a guess.
nlohmann::json or_null(const std::string& s) { return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s); }
}  // namespace

std::string now_rfc3339() { return rfc3339(std::chrono::system_clock::now()); }

std::string rfc3339(std::chrono::system_clock::time_point now) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(us / 1000000);
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:06d}Z", fmt::gmtime(secs), static_cast<int>(us % 1000000));
}

nlohmann::json device_json(const DeviceRef& device) {
  nlohmann::json j = {{"path", device.path},
                      {"major", device.dev.major},
                      {"minor", device.dev.minor},
                      {"name", or_null(device.kernel_name)}};
  if (device.rbd) {
    const RbdInfo& r = *device.rbd;
    j["rbd"] = {{"id", r.id},
                {"pool", or_null(r.pool)},
                {"image", or_null(r.image)},
                {"namespace", or_null(r.rados_namespace)},
                {"client_id", or_null(r.client_id)},
                {"snap", or_null(r.snap)}};
  } else {
    j["rbd"] = nullptr;
  }
  if (!device.loop_backing_file.empty()) j["backing_file"] = device.loop_backing_file;
  // A dm device: its name and the devices its table sits on, which are
  // what a `dmsetup remove` leaves busy below it.
  if (device.dm)
    j["dm"] = {{"name", or_null(device.dm->name)},
               {"uuid", or_null(device.dm->uuid)},
               {"slaves", device.dm->slaves},
               {"more_slaves", device.dm->more_slaves}};
  return j;
}

nlohmann::json attribution_json(const Attribution& who) {
  nlohmann::json j;
  j["pids"] = who.pids;
  j["processes"] = nlohmann::json::array();
  for (const auto& p : who.processes)
    j["processes"].push_back({{"pid", p.pid}, {"comm", p.comm}, {"cmdline", p.cmdline}});
  if (who.container) {
    const ContainerRef& c = *who.container;
    j["container"] = {{"runtime", or_null(c.runtime)}, {"id", c.id}, {"name", or_null(c.name)}};
    // Only for a container its runtime no longer knows, kept by its shim.
    if (c.unknown_to_runtime) {
      j["container"]["unknown_to_runtime"] = true;
      j["container"]["shim_pid"] = c.shim_pid;
      j["container"]["init_pid"] = c.init_pid ? nlohmann::json(c.init_pid) : nlohmann::json(nullptr);
    }
  } else
    j["container"] = nullptr;
  if (who.pod)
    j["pod"] = {{"namespace", or_null(who.pod->namespace_)},
                {"name", or_null(who.pod->name)},
                {"uid", or_null(who.pod->uid)}};
  else
    j["pod"] = nullptr;
  if (!who.note.empty()) j["note"] = who.note;
  return j;
}

nlohmann::json holder_json(const Holder& h) {
  nlohmann::json j = attribution_json(h.who);
  j["role"] = std::string(holder_role_name(h.role));
  j["mntns"] = h.mntns ? nlohmann::json(h.mntns) : nlohmann::json(nullptr);
  if (!h.mountpoints.empty()) {
    j["mountpoint"] = h.mountpoint;
    j["mountpoints"] = h.mountpoints;
    j["root"] = h.root;
    j["propagation"] = h.propagation;
  }
  if (!h.pinned_at.empty()) j["pinned_at"] = h.pinned_at;
  if (h.held_open_by > 0) j["held_open_by"] = {{"pid", h.held_open_by}, {"fd", h.held_open_fd}};
  if (!h.fds.empty()) {
    j["fds"] = nlohmann::json::array();
    for (const auto& fd : h.fds)
      j["fds"].push_back({{"pid", fd.pid}, {"fd", fd.fd}, {"kind", fd.kind}, {"target", fd.target}});
  }
  if (!h.stacked_device.empty()) j["stacked_device"] = h.stacked_device;
  j["via"] = or_null(h.via);
  j["hint"] = or_null(h.hint);
  return j;
}

nlohmann::json ceph_json(const DeviceHolders& d) {
  if (!d.ceph_error.empty()) return {{"error", d.ceph_error}};
  if (!d.ceph) return nullptr;
  nlohmann::json watchers = nlohmann::json::array();
  for (const auto& w : d.ceph->watchers)
    // A watcher that is not this node's own mapping is the other side of
    // "image is locked by other nodes".
    watchers.push_back({{"address", w.address},
                        {"client", "client." + std::to_string(w.global_id)},
                        {"cookie", w.cookie},
                        {"this_mapping", d.device.rbd && is_mapping_watcher(w, *d.device.rbd)}});
  nlohmann::json lockers = nlohmann::json::array();
  for (const auto& l : d.ceph->lockers)
    lockers.push_back({{"client", l.client}, {"cookie", l.cookie}, {"address", l.address}});
  return {{"watchers", watchers},
          {"lockers", lockers},
          {"lock_exclusive", d.ceph->lock_exclusive},
          {"lock_owners", d.ceph->lock_owners}};
}

nlohmann::json holders_json(const std::vector<Holder>& holders) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& h : holders) j.push_back(holder_json(h));
  return j;
}

}  // namespace mountleak
