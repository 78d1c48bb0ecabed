#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Configures and builds mountleak into ${BUILD_DIR:-build}. Arguments go to
# cmake (the benchmark scripts pass -DMOUNTLEAK_BUILD_BENCH=ON, so a build
# tree once configured without benchmarks still gets them).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo} "$@" >/dev/null
ninja -C "$build_dir" ${JOBS:+-j"$JOBS"}
