#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The real EBUSY end to end, standalone: starts a throwaway cluster on this
# host's 127.0.0.1, boots Debian's kernel under QEMU with user networking,
# and runs guest_rbd_scenario.sh in the guest (map, mkfs, mount, private copy
# in another mount namespace, host unmount, remove_single_major -> EBUSY,
# optionally mountleak scan and trace, release, unmap). Stops the cluster and
# QEMU on any exit, signals included.
#
# usage: run_guest_scenario.sh --work DIR [--kernel 6.1|6.12] [--mountleak PATH [--trace]]
#          [--timeout S]
#   --kernel K        which of Debian 12's kernels (fetch_kernel.sh; default 6.1)
#   --work DIR        initramfs, logs, and the kernel cache (DIR/vm-cache,
#                     or $MOUNTLEAK_VM_CACHE) reused across runs
#   --mountleak PATH  ship this binary and check `scan --device` in the guest
#   --trace           also run `mountleak trace` through the failing unmap
# Logs: DIR/guest-rbd.console.log (the console), DIR/guest-rbd.results.log
# (what mountleak printed, in the sections guest_rbd_scenario.sh describes,
# for a caller such as tests/vm/rbd_busy_test.sh to judge).
# Needs root, qemu-system-x86, busybox-static, socat, e2fsprogs and the
# packages start_cluster.sh needs. TCG unless MOUNTLEAK_VM_ACCEL=kvm.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
vm_scripts="$here/../vm"
say() { echo "run_guest_scenario: $*" >&2; }
die() {
  say "$*"
  exit 1
}

work="" kernel=6.1 mountleak="" timeout_s=300 trace=0
while (($#)); do
  case "$1" in
    --work) work="$2"; shift 2 ;;
    --kernel) kernel="$2"; shift 2 ;;
    --mountleak) mountleak="$(realpath "$2")"; shift 2 ;;
    --timeout) timeout_s="$2"; shift 2 ;;
    --trace) trace=1; shift ;;
    *) die "unknown argument $1" ;;
  esac
done
[[ -n "$work" ]] || die "--work DIR is required"
((trace == 0)) || [[ -n "$mountleak" ]] || die "--trace needs --mountleak"
mkdir -p "$work"
work="$(cd "$work" && pwd)"
cache="${MOUNTLEAK_VM_CACHE:-$work/vm-cache}"
for tool in qemu-system-x86_64 socat mkfs.ext4 busybox; do
  command -v "$tool" >/dev/null || die "$tool not found"
done

# Modules: rbd pulls libceph and libcrc32c; crc32c_generic implements the
# checksum they ask for; ext4 for the volume; e1000 is the NIC of -nic user.
"$vm_scripts/fetch_kernel.sh" --kernel "$kernel" "$cache" rbd ext4 e1000 crc32c_generic
initramfs="$work/guest-rbd.cpio.gz"
args=(--kernel "$cache" --init "$here/guest_init.sh" --out "$initramfs" --strip
  --program socat --program mkfs.ext4 --file "$here/guest_rbd_scenario.sh"
  --env "MLCEPH_SCENARIO=$here/guest_rbd_scenario.sh")
# mountleak opens librados and librbd with dlopen (scan --ceph-conf), which
# ldd cannot see: ship them by name.
[[ -n "$mountleak" ]] && args+=(--file "$mountleak"
  --file /usr/lib/x86_64-linux-gnu/librados.so.2 --file /usr/lib/x86_64-linux-gnu/librbd.so.1)
"$vm_scripts/build_initramfs.sh" "${args[@]}"

cluster="$(mktemp -d /tmp/mountleak-ceph-guest-XXXXXX)"
qemu_pid=""
cleanup() {
  # timeout passes TERM on to QEMU (and KILLs it 10 s later if need be).
  if [[ -n "$qemu_pid" ]]; then
    kill -TERM "$qemu_pid" 2>/dev/null
    wait "$qemu_pid" 2>/dev/null
  fi
  "$here/stop_cluster.sh" "$cluster"
}
trap cleanup EXIT
# A signal (ctest's timeout, ^C) ends the script through the EXIT trap.
trap 'exit 143' TERM
trap 'exit 130' INT
trap 'exit 129' HUP
"$here/start_cluster.sh" "$cluster" --owner-pid $$ >/dev/null
read -r -a guest_args <<<"$("$here/guest_args.sh" "$cluster")"
declare -A arg=()
for ((i = 0; i + 1 < ${#guest_args[@]}; i += 2)); do arg[${guest_args[i]}]="${guest_args[i + 1]}"; done

cmdline="mlceph_mon=${arg[--mon]} mlceph_osd=${arg[--osd]}"
cmdline+=" mlceph_mon_v2=${arg[--mon-v2]} mlceph_key=${arg[--key]} mlceph_pool=${arg[--pool]} mlceph_image=${arg[--image]}"
[[ -n "$mountleak" ]] && cmdline+=" mlceph_mountleak=$mountleak"
((trace)) && cmdline+=" mlceph_trace=1"
console="$work/guest-rbd.console.log"
results="$work/guest-rbd.results.log"
say "booting (${MOUNTLEAK_VM_ACCEL:-tcg}); console: $console"
start=$SECONDS
# The vm lane's boot (qemu_guest.sh) with a NIC: -nic user is slirp, whose
# 10.0.2.2 is this host's 127.0.0.1. No hostfwd: nothing listens anywhere
# but on the cluster's loopback ports. In the background, so that a
# signal's trap runs at once (bash defers traps while a foreground child
# runs) and stops it; it stops QEMU in turn.
# An emulator fault (qemu_guest.sh's status 90: a stalled vCPU, or a panic
# while booting, before the scenario ran) boots the guest once more.
for attempt in 1 2; do
  "$vm_scripts/qemu_guest.sh" --kernel-dir "$cache" --initrd "$initramfs" --console "$console" \
    --results "$results" --timeout "$timeout_s" --accel "${MOUNTLEAK_VM_ACCEL:-tcg}" --memory 1G \
    --nic user,model=e1000 --append "$cmdline" --qemu-log "$work/guest-rbd.qemu.log" &
  qemu_pid=$!
  status=0
  wait "$qemu_pid" || status=$?
  qemu_pid=""
  ((status == 90 && attempt == 1)) || break
  cp "$console" "$work/guest-rbd.fault.console.log"
  say "the emulated guest failed before the scenario ran (an emulator fault, not a result;" \
    "console: $work/guest-rbd.fault.console.log): booting it again"
done
grep '^guest_rbd:\|^guest_init:\|^{' "$console" >&2 || true
rc="$(sed -n 's/^@@GUEST_RBD rc=\([0-9]*\).*/\1/p' "$console" | head -n1)"
[[ -n "$rc" ]] || die "the guest gave no result within ${timeout_s} s (see $console)"
((rc == 0)) || die "guest scenario failed (rc=$rc) after $((SECONDS - start)) s"
say "PASS in $((SECONDS - start)) s of boot and scenario"
