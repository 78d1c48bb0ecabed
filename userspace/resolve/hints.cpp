// SPDX-License-Identifier: Apache-2.0
#include "resolve/hints.h"

#include <algorithm>

namespace mountleak {

namespace {

std::string_view trim_trailing_slashes(std::string_view p) {
  while (p.size() > 1 && p.back() == '/') p.remove_suffix(1);
  return p;
}

// True when `prefix` is `path` or one of its ancestors ("/a" covers "/a/b",
// not "/ab").
bool path_covers(std::string_view prefix, std::string_view path) {
  prefix = trim_trailing_slashes(prefix);
  path = trim_trailing_slashes(path);
  if (prefix == "/") return !path.empty() && path[0] == '/';
  if (path.substr(0, prefix.size()) != prefix) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '/';
}

bool is_bind(const OciMount& m) {
  if (m.type == "bind" || m.type == "volume") return true;
  return std::find_if(m.options.begin(), m.options.end(),
                      [](const std::string& o) { return o == "bind" || o == "rbind"; }) != m.options.end();
}

// Hints are pasted into shells; quote what a shell would split or expand.
std::string shell_quote(std::string_view s) {
  bool plain = !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("/._-~:@%+=,").find(c) != std::string_view::npos;
  });
  // A shell expands '~' at a word's start and, in bash, after '=' or ':'
  // ("a=~u"); "kubernetes.io~rbd" stays plain.
  plain = plain && s[0] != '~' && s.find("=~") == std::string_view::npos &&
          s.find(":~") == std::string_view::npos;
  if (plain) return std::string(s);
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

std::string pod_ref(const PodRef& pod) {
  if (!pod.namespace_.empty() && !pod.name.empty()) return pod.namespace_ + "/" + pod.name;
  if (!pod.name.empty()) return pod.name;
  return "with uid " + pod.uid;
}

std::string container_ref(const HolderFacts& f) {
  std::string out = "container ";
  // docker's short form: enough to type, and what `docker ps` and `crictl ps` show.
  out += f.container_name.empty() ? f.container_id.substr(0, 12) : f.container_name;
  if (f.pod) out += " (pod " + pod_ref(*f.pod) + ")";
  return out;
}

std::string process_ref(const HolderFacts& f) {
  std::string out = "process " + std::to_string(f.pid);
  if (!f.comm.empty()) out += " (" + std::string(f.comm) + ")";
  return out;
}

// How to make the bind safe, in the terms of whoever created the container.
std::string prevention(const HolderFacts& f) {
  const OciMount& via = *f.via;
  const std::string& source = via.source.empty() ? via.destination : via.source;
  if (f.pod) return "set mountPropagation: HostToContainer on its hostPath volume " + source;
  if (f.runtime == "docker")
    return "recreate it with -v " + shell_quote(source + ":" + via.destination + ":rslave");
  return "bind " + source + " with rslave propagation";
}

// The command that unmounts a leaked copy in place; "" when the device is
// not known by name.
std::string release_command(const HolderFacts& f) {
  if (!f.releasable || f.kind != HolderKind::kMount || f.device.empty()) return "";
  return "mountleak release --device " + shell_quote(f.device) + " --yes";
}

}  // namespace

std::string_view propagation_word(std::string_view p) {
  if (p == "rprivate" || p == "rslave" || p == "rshared" || p == "runbindable") p.remove_prefix(1);
  return p;
}

const OciMount* mount_covering(const std::vector<OciMount>& mounts, std::string_view container_mount_point) {
  const OciMount* best = nullptr;
  size_t best_len = 0;
  for (const auto& m : mounts) {
    if (!is_bind(m) || m.destination.empty() || !path_covers(m.destination, container_mount_point)) continue;
    size_t len = trim_trailing_slashes(m.destination).size();
    if (!best || len >= best_len) {
      best = &m;
      best_len = len;
    }
  }
  return best;
}

std::string describe_via(const OciMount& m, std::string_view observed_propagation) {
  std::string out = m.source.empty() ? (m.type.empty() ? std::string("a mount") : m.type) : m.source;
  out += is_bind(m) ? " bound into the container at " : " mounted into the container at ";
  out += m.destination;
  std::string_view observed = propagation_word(observed_propagation);
  std::string_view configured = propagation_word(m.propagation);
  std::string_view shown = observed.empty() ? configured : observed;
  if (!shown.empty()) out += " with " + std::string(shown) + " propagation";
  if (!observed.empty() && !configured.empty() && observed != configured)
    out += " (configured " + m.propagation + ")";
  return out;
}

bool leaked_through_private_bind(const OciMount* via, std::string_view observed_propagation) {
  if (!via || !is_bind(*via)) return false;
  std::string_view observed = propagation_word(observed_propagation);
  return (observed.empty() ? propagation_word(via->propagation) : observed) == "private";
}

bool is_own_pod_volume(const OciMount& via, std::string_view pod_uid) {
  if (pod_uid.empty()) return false;
  std::string marker = "/pods/" + std::string(pod_uid) + "/volumes/";
  return via.source.find(marker) != std::string::npos;
}

std::string make_hint(const HolderFacts& f) {
  const std::string device = f.device.empty() ? std::string("the device") : std::string(f.device);
  const std::string release = release_command(f);

  if (f.owner_pod && f.pod) {
    std::string out = "not a leak: " + device + " is a volume of pod " + pod_ref(*f.pod) + " itself";
    if (!f.container_name.empty()) out += " (container " + std::string(f.container_name) + ")";
    return out + "; it is released when the pod stops";
  }

  if (f.unknown_to_runtime && f.shim_pid > 0 && !f.container_id.empty()) {
    // Neither the runtime nor the kubelet will ever stop it: killing its
    // first process ends the container (it is its pid namespace's init).
    std::string out = "stop container " + std::string(f.container_id.substr(0, 12)) + ", which " +
                      (f.runtime.empty() ? std::string("its runtime") : std::string(f.runtime)) +
                      " has no record of but its shim (pid " + std::to_string(f.shim_pid) +
                      ") still runs, left behind by a daemon restart (e.g. around --live-restore): ";
    if (f.init_pid > 0)
      out += "kill -KILL " + std::to_string(f.init_pid) + ", its first process, to release " + device;
    else
      out += "kill its processes" + (f.pid > 0 ? " (" + process_ref(f) + " and the rest)" : std::string()) +
             " to release " + device;
    // Measured with containerd 1.6's runc v2 shim: it waits for its daemon
    // to tell it to go, so without one it stays after its container.
    out += ", then kill " + std::to_string(f.shim_pid) + ", the shim, which has no daemon to stop it";
    return out + "; restarting a pod will not stop it";
  }

  if (!f.container_id.empty() || !f.container_name.empty()) {
    std::string out = "restart " + container_ref(f) + " to release " + device;
    if (f.kind == HolderKind::kOpenFile) {
      if (f.pid > 0) out += ", which its " + process_ref(f) + " has open";
      return out;
    }
    if (!release.empty()) out += ", or unmount its copy without a restart: " + release;
    if (leaked_through_private_bind(f.via, f.observed_propagation))
      out += "; " + prevention(f) + " so it cannot happen again";
    return out;
  }

  if (f.kind == HolderKind::kOpenFile && f.pid > 0)
    return "stop " + process_ref(f) + ", which has " + device + " or a file on it open (it is in no container)";
  if (f.pid > 0) {
    std::string out = "unmount " + device + " in the mount namespace of " + process_ref(f) +
                      ", which is in no container: ";
    if (!release.empty()) out += release + ", or ";
    out += "nsenter -t " + std::to_string(f.pid) + " -m umount ";
    out += f.mount_point.empty() ? std::string("MOUNTPOINT") : shell_quote(f.mount_point);
    return out;
  }
  if (f.held_open_by > 0)
    return "no process is left in this mount namespace, descriptor " + std::to_string(f.held_open_fd) +
           " of process " + std::to_string(f.held_open_by) +
           " keeps it alive: stop that process, or have it close the descriptor, to release " + device;
  if (!f.nsfs_pin.empty())
    return "no process is left in this mount namespace, a bind mount of its nsfs file keeps it alive: umount " +
           shell_quote(f.nsfs_pin) + " to release " + device;
  return "no container or process found for this holder of " + device + "; it may have exited since the scan";
}

std::string make_risk_hint(const HolderFacts& f) {
  const std::string at = f.mount_point.empty() ? std::string("MOUNTPOINT") : shell_quote(f.mount_point);
  std::string source;
  if (f.via) source = f.via->source.empty() ? f.via->destination : f.via->source;
  const std::string what = source.empty() ? "the hostPath volume mounted at " + std::string(f.mount_point)
                                          : "the hostPath volume " + source;
  const std::string until =
      ": until then every volume the kubelet unmounts on this node stays busy while it runs";
  if (f.pod && (!f.container_id.empty() || !f.container_name.empty()))
    return "set mountPropagation: HostToContainer on the volumeMount of " + what + " in " + container_ref(f) +
           ", in the manifest of the workload that made the pod (`mountleak lint` checks manifests), and roll it "
           "out" + until;
  if (!f.container_id.empty() || !f.container_name.empty()) {
    if (f.via) return prevention(f) + " (" + container_ref(f) + ")" + until;
    return "recreate " + container_ref(f) + " with the bind at " + std::string(f.mount_point) +
           " made rslave" + until;
  }
  if (f.pid > 0)
    return process_ref(f) + " is in no container and its namespace binds " + at +
           " privately: start it again with slave propagation (unshare --propagation slave, or a systemd unit)" +
           until;
  if (!f.nsfs_pin.empty())
    return "no process is left in this mount namespace, a bind mount of its nsfs file keeps it alive: umount " +
           shell_quote(f.nsfs_pin);
  return "no container or process found in this namespace; it may have exited since the scan";
}

}  // namespace mountleak
