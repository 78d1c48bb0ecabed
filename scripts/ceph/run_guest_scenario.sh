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
# The guest is the vm lane's (tests/vm/run_vm_tests.sh prepare and boot,
# scripts/vm/guest_init.sh as /init) with a NIC, running its "rbd" scenario.
# Logs: DIR/rbd.console.log (the console), DIR/rbd.results.log (what the
# guest reported), DIR/rbd.rbd.out (the scenario's output, with the sections
# guest_rbd_scenario.sh describes, for a caller such as
# tests/vm/rbd_busy_test.sh to judge).
# Needs root, qemu-system-x86, busybox-static, socat, e2fsprogs, jq and the
# packages start_cluster.sh needs. TCG unless MOUNTLEAK_VM_ACCEL=kvm.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
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

runner="$here/../../tests/vm/run_vm_tests.sh"
# Modules: rbd pulls libceph and libcrc32c; crc32c_generic implements the
# checksum they ask for (loaded first: libcrc32c asks the crypto API for it
# when it loads); ext4 for the volume; e1000 is the NIC of -nic user.
# mountleak opens librados and librbd with dlopen (scan --ceph-conf), which
# ldd cannot see: they are shipped by name.
args=(--work "$work" --kernel "$kernel" --modules "crc32c_generic,rbd,ext4,e1000"
  --program socat --file "$here/guest_rbd_scenario.sh" --env "MLVM_RBD_SCENARIO=$here/guest_rbd_scenario.sh")
[[ -n "$mountleak" ]] && args+=(--mountleak "$mountleak"
  --file /usr/lib/x86_64-linux-gnu/librados.so.2 --file /usr/lib/x86_64-linux-gnu/librbd.so.1)
# TCG unless asked: KVM hangs on this project's CI machine (tests/vm).
MOUNTLEAK_VM_ACCEL="${MOUNTLEAK_VM_ACCEL:-tcg}" MOUNTLEAK_VM_CACHE="$cache" "$runner" prepare "${args[@]}"

cluster="$(mktemp -d /tmp/mountleak-ceph-guest-XXXXXX)"
guest=""
cleanup() {
  # The runner passes TERM on to QEMU, which stops before the cluster does.
  if [[ -n "$guest" ]]; then
    kill -TERM "$guest" 2>/dev/null
    wait "$guest" 2>/dev/null
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
((trace)) && cmdline+=" mlceph_trace=1"
start=$SECONDS
# -nic user is slirp, whose 10.0.2.2 is this host's 127.0.0.1. No hostfwd:
# nothing listens anywhere but on the cluster's loopback ports. rbd waits
# (--defer-modules): the scenario probes and starts a tracer before it
# loads it. The scenario is stopped 20 s before the guest, which keeps
# those for its report. In the background, so that a signal's trap runs at
# once (bash defers traps while a foreground child runs) and stops it.
"$runner" boot --work "$work" --log rbd --timeout "$timeout_s" --limit "rbd=$((timeout_s - 20))" \
  --nic user,model=e1000 --append "$cmdline" --defer-modules rbd rbd &
guest=$!
status=0
wait "$guest" || status=$?
guest=""
((status == 0)) || die "the guest did not boot (see $work/rbd.console.log)"
"$runner" judge rbd --work "$work" --log rbd || die "guest scenario failed after $((SECONDS - start)) s"
say "PASS in $((SECONDS - start)) s of boot and scenario"
