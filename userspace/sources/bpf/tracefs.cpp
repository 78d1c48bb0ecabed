// SPDX-License-Identifier: Apache-2.0
#include "sources/bpf/tracefs.h"

#include <sys/mount.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

namespace mountleak {

namespace {
constexpr const char* kTracefs = "/sys/kernel/tracing";
constexpr const char* kDebugTracing = "/sys/kernel/debug/tracing";

bool has_events(const std::string& dir) { return access((dir + "/events").c_str(), F_OK) == 0; }

std::atomic<bool> g_mounted_by_us{false};
}  // namespace

TracefsStatus ensure_tracefs() {
  // libbpf looks in these two places, in this order.
  if (has_events(kTracefs)) return {true, std::string("mounted at ") + kTracefs};
  if (has_events(kDebugTracing)) return {true, std::string("mounted at ") + kDebugTracing};
  if (mount("tracefs", kTracefs, "tracefs", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
    int err = errno;
    return {false, std::string("not mounted, and mounting it at ") + kTracefs +
                       " failed: " + std::strerror(err)};
  }
  g_mounted_by_us = true;
  return {true, std::string("was not mounted; mountleak mounted it at ") + kTracefs + " to attach, then unmounted it"};
}

bool release_tracefs() {
  if (!g_mounted_by_us.exchange(false)) return false;
  return umount2(kTracefs, MNT_DETACH) == 0;
}

}  // namespace mountleak
