#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Cross-builds what an arm64 guest runs (the vm lane's arm64 kernel,
# tests/vm/): `mountleak` and `privileged_tests`, with the BPF object built
# for arm64 and embedded, into BUILD_DIR, with Debian's cross toolchain
# (cmake/aarch64-linux-gnu.cmake). Then checks that what came out is
# aarch64 code and that the embedded object's syscall functions are arm64's.
#
# The arm64 -dev packages that cannot be installed beside this machine's
# (libyaml-cpp-dev) are unpacked into BUILD_DIR/extra (scripts/unpack_debs.sh);
# the arm64 kernel BTF for vmlinux.h is fetched by the build itself
# (cmake/BpfObject.cmake). Arguments after -- go to cmake's configure step
# (e.g. a compiler launcher).
#
# usage: build_cross.sh --build-dir DIR [-- CMAKE_ARGS...]
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
source_dir="$(cd "$here/.." && pwd)"
say() { echo "build_cross: $*" >&2; }
die() {
  say "FAIL: $*"
  exit 1
}

build_dir=""
while (($#)); do
  case "$1" in
    --build-dir) build_dir="$2"; shift 2 ;;
    --) shift; break ;;
    *) die "unknown argument $1" ;;
  esac
done
[[ -n "$build_dir" ]] || die "--build-dir is required"
command -v aarch64-linux-gnu-g++ >/dev/null || die "no aarch64-linux-gnu-g++ (scripts/setup.sh --arm64 installs g++-aarch64-linux-gnu)"
mkdir -p "$build_dir"
build_dir="$(cd "$build_dir" && pwd)"

start=$SECONDS
"$here/unpack_debs.sh" --arch arm64 --out "$build_dir/extra" libyaml-cpp-dev libyaml-cpp0.7
cmake -S "$source_dir" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_TOOLCHAIN_FILE="$source_dir/cmake/aarch64-linux-gnu.cmake" \
  -DMOUNTLEAK_CROSS_EXTRA_ROOT="$build_dir/extra" -DMOUNTLEAK_BUILD_BENCH=OFF -DMOUNTLEAK_BPF_ARCH=arm64 "$@" >/dev/null
configured=$((SECONDS - start))
ninja -C "$build_dir" ${JOBS:+-j"$JOBS"} mountleak privileged_tests mountleak_bpf_badabi_gen
say "configured in ${configured} s, built in $((SECONDS - start - configured)) s"

# `file` names the machine; the embedded object must attach to arm64's
# syscall functions, not x86's.
for f in mountleak tests/privileged_tests; do
  what="$(file -b "$build_dir/$f")"
  [[ "$what" == *"ARM aarch64"* ]] || die "$build_dir/$f is not aarch64 code: $what"
  say "$f: $what"
done
object="$build_dir/gen/mountleak_bpf.bpf.o"
sections="$(readelf -SW "$object")"
grep -qF "__arm64_sys_" <<<"$sections" || die "$object attaches to no __arm64_sys_ function"
! grep -qF "__x64_sys_" <<<"$sections" || die "$object attaches to x86's syscall functions"
grep -qF "__arm64_sys_" "$build_dir/mountleak" || die "$build_dir/mountleak does not embed the arm64 object"
say "ok: $build_dir (arm64 BPF object from $(cat "$build_dir/kernel-btf/arm64/vmlinux.btf.package" 2>/dev/null || echo "the given BTF"))"
