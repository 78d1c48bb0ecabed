// SPDX-License-Identifier: Apache-2.0
#include "resolve/shim_ancestry.h"

namespace mountleak {

namespace {

// A process table read from a live /proc can hold a cycle (pids reused
// between reads); no real ancestry is anywhere near this deep.
constexpr int kMaxDepth = 4096;

std::string_view basename(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// The value of a flag written "-name value", "--name value", "-name=value" or
// "--name=value" (Go's flag package and glib accept all of them).
std::optional<std::string_view> flag_value(std::span<const std::string> args, std::string_view name) {
  for (size_t i = 1; i < args.size(); ++i) {
    std::string_view a = args[i];
    if (a.size() >= 2 && a[0] == '-' && a[1] == '-') {
      a.remove_prefix(2);
    } else if (!a.empty() && a[0] == '-') {
      a.remove_prefix(1);
    } else {
      continue;
    }
    if (a == name) {
      if (i + 1 < args.size()) return std::string_view(args[i + 1]);
      return std::nullopt;
    }
    if (a.size() > name.size() && a.substr(0, name.size()) == name && a[name.size()] == '=')
      return a.substr(name.size() + 1);
  }
  return std::nullopt;
}

std::optional<ShimContainer> from_conmon(std::span<const std::string> args) {
  auto id = flag_value(args, "cid");
  if (!id) id = flag_value(args, "c");
  if (!id || id->empty()) return std::nullopt;
  ShimContainer out;
  // podman starts the same conmon, and tells it to run podman on exit.
  auto exit_command = flag_value(args, "exit-command");
  out.runtime = exit_command && basename(*exit_command) == "podman" ? "podman" : "cri-o";
  out.id = *id;
  return out;
}

std::optional<ShimContainer> from_containerd_shim(std::string_view prog, std::span<const std::string> args) {
  ShimContainer out;
  bool docker_named = prog.substr(0, 7) == "docker-";
  auto ns = flag_value(args, "namespace");
  // containerd's "moby" namespace is docker's.
  out.runtime = docker_named || (ns && *ns == "moby") ? "docker" : "containerd";

  if (auto id = flag_value(args, "id")) {
    // Shim v2. The CRI plugin groups a pod's containers under one shim named
    // after the sandbox (runc v1 shims are the exception: one per container).
    out.id = *id;
    out.id_may_be_sandbox = ns && *ns == "k8s.io" && prog != "containerd-shim-runc-v1";
  } else if (auto workdir = flag_value(args, "workdir")) {
    // Shim v1: .../io.containerd.runtime.v1.linux/<namespace>/<id>
    std::string_view w = *workdir;
    while (w.size() > 1 && w.back() == '/') w.remove_suffix(1);
    out.id = basename(w);
  } else if (docker_named && args.size() > 1 && !args[1].empty() && args[1][0] != '-') {
    // docker 1.11 - 17.x: "docker-containerd-shim <id> <bundle> docker-runc"
    out.id = args[1];
  }
  if (out.id.empty()) return std::nullopt;
  return out;
}

}  // namespace

std::optional<ShimContainer> container_from_shim_cmdline(std::span<const std::string> cmdline) {
  // Not comm: it is cut at 15 characters ("containerd-shim" is also the v2
  // shim), says nothing of the ID, and is not what `exec -a` changes.
  if (cmdline.empty()) return std::nullopt;
  std::string_view prog = basename(cmdline[0]);
  if (prog == "conmon") return from_conmon(cmdline);
  if (prog.substr(0, 15) == "containerd-shim" || prog.substr(0, 22) == "docker-containerd-shim")
    return from_containerd_shim(prog, cmdline);
  return std::nullopt;
}

std::optional<ShimContainer> container_from_ancestry(int pid, const AncestorLookup& lookup) {
  auto self = lookup(pid);
  if (!self) return std::nullopt;
  int child = pid;
  int current = self->ppid;
  for (int depth = 0; depth < kMaxDepth && current > 0; ++depth) {
    auto view = lookup(current);
    if (!view) return std::nullopt;
    auto found = view->on_host ? container_from_shim_cmdline(view->cmdline) : std::nullopt;
    if (found) {
      found->shim_pid = current;
      found->init_pid = child;
      return found;
    }
    if (current == 1 || view->ppid == current) return std::nullopt;
    child = current;
    current = view->ppid;
  }
  return std::nullopt;
}

std::optional<ShimContainer> container_from_ancestry(int pid, const std::unordered_map<int, AncestorInfo>& processes) {
  return container_from_ancestry(pid, [&](int p) -> std::optional<AncestorView> {
    auto it = processes.find(p);
    if (it == processes.end()) return std::nullopt;
    return AncestorView{it->second.ppid, it->second.cmdline, it->second.on_host};
  });
}

}  // namespace mountleak
