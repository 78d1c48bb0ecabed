#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Sets everything up, builds, and runs `mountleak ARGS...` (default: trace).
# Run as root: tracing loads BPF programs and scanning reads every /proc/PID.
set -euo pipefail
here="$(dirname "$0")"
"$here/setup.sh"
"$here/build.sh" >&2
(($#)) || set -- trace
exec "$here/../${BUILD_DIR:-build}/mountleak" "$@"
