// SPDX-License-Identifier: Apache-2.0
#include "cli/scan_command.h"

namespace mountleak {

void register_scan_command(CLI::App& app, CommandAction& action) {
  (void)app;
  (void)action;
}

}  // namespace mountleak
