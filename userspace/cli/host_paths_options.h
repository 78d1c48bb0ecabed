// SPDX-License-Identifier: Apache-2.0
#pragma once

// HostPaths (config/host_paths.h) as command-line options.

#include <CLI/CLI.hpp>

#include "config/host_paths.h"

namespace mountleak {

// Adds --host-root, --kubelet-root, --containerd-state, --crio-state,
// --docker-root, --pod-log-dir and --devices to a (sub)command.
void add_host_path_options(CLI::App& app, HostPaths& paths);

}  // namespace mountleak
