#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds everything (scripts/build.sh) and runs bench/scan_bench as root: it
# builds a synthetic node (200 mount namespaces x ~500 mounts, 2,000
# processes, 4 leaked loop-device "rbd" mounts) and times, side by side,
#   (a) the seed's leak_rbd.sh, (b) one cat per mount namespace (the floor),
#   (c) mountleak scan --all -o json --no-fds (and with the fd scan),
# then prints a table, the ratios, peak RSS, an in-process breakdown of (c)
# and a final JSON line. About 2 minutes on an idle 2-core VM, 4-5 under load
# (the seed script dominates: 12-35 s per round); --runs 3 for a quicker look.
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
"$here/build.sh" -DMOUNTLEAK_BUILD_BENCH=ON >&2
exec "$build_dir/bench/scan_bench" "$@"
