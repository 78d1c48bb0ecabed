#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds everything (scripts/build.sh) and runs bench/scan_bench as root: it
# builds a synthetic node (200 mount namespaces x ~500 mounts, 2,000
# processes, 4 leaked loop-device "rbd" mounts) and times, side by side,
#   (a) the seed's leak_rbd.sh, (b) one cat per mount namespace (the floor),
#   (c) mountleak scan --all -o json --no-fds (and with the fd scan),
# then prints a table, the ratios, peak RSS, an in-process breakdown of (c)
# and a final JSON line. Takes about 2-3 minutes on a 2-core machine.
#
# Usage: sudo scripts/bench_scan.sh [--runs N] [--seed-all-devices] [...]
#        (every argument goes to scan_bench; see scan_bench --help)
# Environment: BUILD_DIR (default build), JOBS (ninja -j), as for build.sh.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
build_dir=${BUILD_DIR:-build}
[[ $build_dir == /* ]] || build_dir="$root/$build_dir"
if [[ $EUID -ne 0 ]]; then
  echo "bench_scan.sh: run as root (mounts, loop devices, cgroups, every /proc/PID)" >&2
  exit 2
fi
"$here/build.sh" >&2
exec "$build_dir/bench/scan_bench" "$@"
