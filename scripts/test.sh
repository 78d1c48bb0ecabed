#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Sets everything up, builds, and runs every test tier (unit, privileged,
# vm); prints ctest's summary. Must run as root: the privileged tier loads
# BPF programs and makes mount namespaces, loop devices and cgroups, and it
# fails (it does not skip) without root. `.ci/run` calls exactly this.
set -euo pipefail
here="$(dirname "$0")"
"$here/setup.sh"
"$here/build.sh"
cd "$here/../${BUILD_DIR:-build}"
exec ctest --output-on-failure --timeout 600 "$@"
