// SPDX-License-Identifier: Apache-2.0
// mountleak: who still holds this block device, and which container and pod
// is that? The only place that prints errors and picks exit codes.

#include <signal.h>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <system_error>

#include "cli/demo_command.h"
#include "cli/lint_command.h"
#include "cli/probe_command.h"
#include "cli/release_command.h"
#include "cli/replay_command.h"
#include "cli/report_command.h"
#include "cli/scan_command.h"
#include "cli/trace_command.h"

namespace {

// Output that could not be written is an error (exit 2), except when the
// reader left on purpose (`| head -1`, EPIPE): then the command's own status.
int finish_stdout(int status) {
  errno = 0;
  if (std::fflush(stdout) == 0 && !std::ferror(stdout)) return status;
  const int err = errno ? errno : EIO;
  if (err == EPIPE) return status;
  fmt::print(stderr, "mountleak: writing to stdout: {}\n", std::strerror(err));
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  // A reader that goes away is an EPIPE to handle, not a death by SIGPIPE.
  signal(SIGPIPE, SIG_IGN);
  CLI::App app{
      "mountleak: find the containers that keep block-device (Ceph RBD) mounts alive.\n\n"
      "When `rbd unmap` fails with 'device or resource busy', or a pod waits on\n"
      "'image is locked by other nodes', some mount namespace still holds a copy of the\n"
      "mount. mountleak names that container and pod, and the hostPath that leaked it.\n\n"
      "  mountleak probe              what this kernel supports\n"
      "  mountleak scan --all         find leaks now, without eBPF\n"
      "  mountleak scan --device /dev/rbd4\n"
      "  mountleak release --device /dev/rbd4   unmount its leaked copies (dry run without --yes)\n"
      "  mountleak trace              watch live and attribute leaks as they happen\n"
      "  mountleak demo               make the leak in a sandbox and watch it found\n"
      "  mountleak lint manifests/    flag leak-prone hostPath mounts before they run\n"
      "  mountleak report --log FILE  after the fact: timeline, holders at a time, lineage\n"
      "  mountleak replay --log FILE  the findings of a trace log, again, offline\n"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "mountleak 0.1.0");
  mountleak::CommandAction action;
  mountleak::register_probe_command(app, action);
  mountleak::register_scan_command(app, action);
  mountleak::register_release_command(app, action);
  mountleak::register_trace_command(app, action);
  mountleak::register_demo_command(app, action);
  mountleak::register_lint_command(app, action);
  mountleak::register_replay_command(app, action);
  mountleak::register_report_command(app, action);
  try {
    app.parse(argc, argv);
    return finish_stdout(action ? action() : 0);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; every wrong argument is an error, 2.
    return app.exit(e) == 0 ? 0 : 2;
  } catch (const std::system_error& e) {
    if (e.code().value() == EPIPE) return 0;  // the reader left mid-output
    fmt::print(stderr, "mountleak: {}\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "mountleak: {}\n", e.what());
    return 2;
  }
}
