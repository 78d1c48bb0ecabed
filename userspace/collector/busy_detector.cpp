// SPDX-License-Identifier: Apache-2.0
#include "collector/busy_detector.h"

#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <fstream>

#include "resolve/dm_sysfs.h"
#include "sources/process_path.h"

namespace mountleak {

namespace {

uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + ts.tv_nsec;
}

std::string strip_trailing_slash(std::string p) {
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

// False when the process is known to be chrooted: readlink of
// /proc/PID/root is then a path, not "/". The kernel answers it from the
// process's own root, without any file system. A process already gone has
// no root left to look a path up in; its mount table is all there is.
bool root_is_namespace_root(const std::string& proc, int pid) {
  char buf[2];
  const std::string link = proc + "/" + std::to_string(pid) + "/root";
  const ssize_t n = ::readlink(link.c_str(), buf, sizeof buf);
  return n < 0 || (n == 1 && buf[0] == '/');
}

// A kernel dev_t: 12 bits of major above 20 bits of minor.
DevId kernel_dev(uint64_t dev) {
  return DevId{static_cast<uint32_t>(dev >> 20), static_cast<uint32_t>(dev & 0xfffff)};
}

std::optional<DevId> read_dev_pair(const std::string& dir) {
  std::ifstream maj(dir + "/major"), min(dir + "/minor");
  uint32_t a = 0, b = 0;
  if (!(maj >> a) || !(min >> b)) return std::nullopt;
  return DevId{a, b};
}

}  // namespace

void BusyDetector::judge(const KernelEvent& e, const BusyFailure& b) {
  auto busy = node_.lookups.busy_device(e, [&] { return busy_device(e, b); });
  if (!busy || !(node_.tracked(busy->dev) || on_tracked_device(b, busy->dev))) {
    ++node_.stats.unresolved_busy;
    return;
  }
  reconciler_.drop_dead_holders(busy->dev);
  // A mount is rarely what makes an unmount fail: a process with a file
  // open, a working directory or a map on the mount does.
  std::vector<DevId> along;
  for (DevId held : node_.model.held_devices())
    if (held != busy->dev && node_.tracked(held)) along.push_back(held);
  DeviceHolders d =
      node_.holders_of(busy->dev, node_.lookups.open_holders(busy->dev, along, node_.model.namespaces()));
  auto finding = node_.finding<Busy>(d, d.holders);
  finding.source = b.source;
  finding.path = b.path;
  finding.device_from = busy->from;
  finding.process = node_.culprit(static_cast<int>(e.pid), e.comm);
  finding.mntns = e.mntns;
  finding.kernel_ts_ns = e.ts_ns;
  const uint64_t written = monotonic_ns();
  finding.latency_us = written > e.ts_ns ? (written - e.ts_ns) / 1000 : 0;
  node_.emit(std::move(finding));
}

std::optional<BusyDevice> BusyDetector::busy_device(const KernelEvent& e, const BusyFailure& b) {
  // The kernel tier names the device itself.
  if (b.dev != 0) return BusyDevice{kernel_dev(b.dev), "kernel"};
  switch (b.source) {
    case BusySource::kUmount:
      return unmounted_device(e, b);
    case BusySource::kOpenExcl:
      return device_at_path(static_cast<int>(e.pid), b, true);
    case BusySource::kRbdRemove:
      return rbd_device(b);
    case BusySource::kDmRemove:
      return dm_device(b);
    case BusySource::kDetach:
    case BusySource::kNone:
      break;  // the tracepoint tier names a detached device itself too
  }
  return std::nullopt;
}

// A path from the failing process's memory: looked up inside its root, with
// a deadline. The process may have changed the string between the call and
// the moment the tracepoint read it, so the finding says how it was named.
std::optional<BusyDevice> BusyDetector::device_at_path(int pid, const BusyFailure& b,
                                                                     bool device_node) {
  auto facts = stat_in_process_root(node_.paths.proc(), pid, b.dfd, b.path);
  if (!facts) {
    if (facts.error().errno_value == ETIMEDOUT) ++node_.stats.busy_path_timeouts;
    node_.stats.lookups_stuck = reap_abandoned_children();
    return std::nullopt;
  }
  if (!device_node) return BusyDevice{facts->dev, "path"};
  if (!S_ISBLK(facts->mode)) return std::nullopt;
  return BusyDevice{facts->rdev, "path"};
}

// The mount table first, no file system asked at all; but only for a
// process whose root is its namespace's: in a chroot the same words name
// another place.
std::optional<BusyDevice> BusyDetector::unmounted_device(const KernelEvent& e, const BusyFailure& b) {
  const int pid = static_cast<int>(e.pid);
  if (!b.path.empty() && b.path.front() == '/' && root_is_namespace_root(node_.paths.proc(), pid))
    if (const MountNamespace* ns = node_.model.find(e.mntns)) {
      const std::string target = strip_trailing_slash(b.path);
      for (auto it = ns->mounts.rbegin(); it != ns->mounts.rend(); ++it)
        if (it->mount_point == target) return BusyDevice{it->dev, "mount_table"};
    }
  return device_at_path(pid, b, false);
}

// "4" or "4 force": the rbd device id.
std::optional<BusyDevice> BusyDetector::rbd_device(const BusyFailure& b) {
  const std::string& text = b.path;
  int id = -1;
  const char* end = text.data() + text.size();
  auto [stop, err] = std::from_chars(text.data(), end, id);
  if (err != std::errc() || id < 0 || (stop != end && *stop != ' ' && *stop != '\n')) return std::nullopt;
  auto dev = read_dev_pair(node_.paths.sys() + "/bus/rbd/devices/" + std::to_string(id));
  if (!dev) return std::nullopt;
  return BusyDevice{*dev, "rbd_id"};
}

// A dm device whose table sits on a tracked device (dm-linear or a crypt
// over an rbd image): its remove failing is what keeps the tracked device
// busy, so it is reported although --devices does not name dm-N itself.
bool BusyDetector::on_tracked_device(const BusyFailure& b, DevId dev) {
  if (b.source != BusySource::kDmRemove) return false;
  const DeviceRef d = node_.lookups.describe_device(dev);
  return d.dm && std::any_of(d.dm->slaves.begin(), d.dm->slaves.end(),
                             [&](const std::string& slave) { return node_.paths.tracks_device(slave); });
}

// The name (or uuid) the caller gave device-mapper's control device, read
// from its memory: only compared with what sysfs says each dm device is.
std::optional<BusyDevice> BusyDetector::dm_device(const BusyFailure& b) {
  auto dev = dm_device_named(node_.paths, b.path, b.file);
  if (!dev) return std::nullopt;
  return BusyDevice{*dev, "dm_name"};
}

}  // namespace mountleak
