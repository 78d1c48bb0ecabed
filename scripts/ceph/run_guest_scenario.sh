#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The real EBUSY end to end, standalone: starts a throwaway cluster on this
# host's 127.0.0.1, boots Debian's kernel under QEMU with user networking,
# and runs guest_rbd_scenario.sh in the guest (map, mkfs, mount, private copy
# in another mount namespace, host unmount, remove_single_major -> EBUSY,
# optionally mountleak scan, release, unmap). Stops the cluster on any exit.
#
# usage: run_guest_scenario.sh --work DIR [--mountleak PATH] [--timeout S]
#   --work DIR        initramfs, logs, and the kernel cache (DIR/vm-cache,
#                     or $MOUNTLEAK_VM_CACHE) reused across runs
#   --mountleak PATH  ship this binary and check `scan --device` in the guest
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

work="" mountleak="" timeout_s=300
while (($#)); do
  case "$1" in
    --work) work="$2"; shift 2 ;;
    --mountleak) mountleak="$(realpath "$2")"; shift 2 ;;
    --timeout) timeout_s="$2"; shift 2 ;;
    *) die "unknown argument $1" ;;
  esac
done
[[ -n "$work" ]] || die "--work DIR is required"
mkdir -p "$work"
work="$(cd "$work" && pwd)"
cache="${MOUNTLEAK_VM_CACHE:-$work/vm-cache}"
for tool in qemu-system-x86_64 socat mkfs.ext4 busybox; do
  command -v "$tool" >/dev/null || die "$tool not found"
done

# Modules: rbd pulls libceph and libcrc32c; crc32c_generic implements the
# checksum they ask for; ext4 for the volume; e1000 is the NIC of -nic user.
"$vm_scripts/fetch_kernel.sh" "$cache" rbd ext4 e1000 crc32c_generic
initramfs="$work/guest-rbd.cpio.gz"
args=(--kernel "$cache" --init "$here/guest_init.sh" --out "$initramfs" --strip
  --program socat --program mkfs.ext4 --file "$here/guest_rbd_scenario.sh"
  --env "MLCEPH_SCENARIO=$here/guest_rbd_scenario.sh")
[[ -n "$mountleak" ]] && args+=(--file "$mountleak")
"$vm_scripts/build_initramfs.sh" "${args[@]}"

cluster="$(mktemp -d /tmp/mountleak-ceph-guest-XXXXXX)"
trap '"$here/stop_cluster.sh" "$cluster"' EXIT
"$here/start_cluster.sh" "$cluster" --owner-pid $$ >/dev/null
read -r -a guest_args <<<"$("$here/guest_args.sh" "$cluster")"
declare -A arg=()
for ((i = 0; i + 1 < ${#guest_args[@]}; i += 2)); do arg[${guest_args[i]}]="${guest_args[i + 1]}"; done

# no_timer_check: on a loaded host TCG can miss the kernel's IO-APIC timer
# check, which then panics ("IO-APIC + timer doesn't work"); seen here.
cmdline="console=ttyS0 panic=-1 quiet no_timer_check mlceph_mon=${arg[--mon]} mlceph_osd=${arg[--osd]}"
cmdline+=" mlceph_mon_v2=${arg[--mon-v2]} mlceph_key=${arg[--key]} mlceph_pool=${arg[--pool]} mlceph_image=${arg[--image]}"
[[ -n "$mountleak" ]] && cmdline+=" mlceph_mountleak=$mountleak"
accel="${MOUNTLEAK_VM_ACCEL:-tcg}"
cpu=max
[[ "$accel" == kvm ]] && cpu=host
console="$work/guest-rbd.console.log"
say "booting ($accel); console: $console"
start=$SECONDS
# -nic user: slirp, whose 10.0.2.2 is this host's 127.0.0.1. No hostfwd:
# nothing listens anywhere but on the cluster's loopback ports.
timeout -k 10 "$timeout_s" qemu-system-x86_64 -accel "$accel" -cpu "$cpu" -m 1G -smp 2 -no-reboot \
  -display none -vga none -monitor none -nodefaults -serial "file:$console" \
  -nic user,model=e1000 -kernel "$cache/vmlinuz" -initrd "$initramfs" \
  -append "$cmdline" </dev/null >"$work/guest-rbd.qemu.log" 2>&1 || true
grep '^guest_rbd:\|^guest_init:\|^{' "$console" >&2 || true
rc="$(sed -n 's/^@@GUEST_RBD rc=\([0-9]*\).*/\1/p' "$console" | head -n1)"
[[ -n "$rc" ]] || die "the guest gave no result within ${timeout_s} s (see $console)"
((rc == 0)) || die "guest scenario failed (rc=$rc) after $((SECONDS - start)) s"
say "PASS in $((SECONDS - start)) s of boot and scenario"
