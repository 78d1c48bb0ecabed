// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <CLI/CLI.hpp>

#include "cli/command.h"

namespace mountleak {

// `mountleak lint`: leak-prone hostPath mounts in manifests, before they run.
void register_lint_command(CLI::App& app, CommandAction& action);

}  // namespace mountleak
