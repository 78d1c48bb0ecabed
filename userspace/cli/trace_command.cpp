// SPDX-License-Identifier: Apache-2.0
#include "cli/trace_command.h"

namespace mountleak {

void register_trace_command(CLI::App& app, CommandAction& action) {
  (void)app;
  (void)action;
}

}  // namespace mountleak
