#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Boots one QEMU guest from a kernel cache (fetch_kernel.sh) and an
# initramfs (build_initramfs.sh), and waits for it: the one boot of
# tests/vm/run_vm_tests.sh, the runner that the vm lane, the guest
# benchmark (scripts/bench_guest.sh) and the rbd scenario
# (scripts/ceph/run_guest_scenario.sh, tests/vm/rbd_busy_test.sh) all go
# through.
#
# The serial console (ttyS0: kernel messages, streamed output, for people)
# goes to CONSOLE; the second serial port (ttyS1) carries only what the
# guest reports, so nothing interleaves with it, to RESULTS (\r stripped).
# An arm64 guest (--arch arm64: qemu-system-aarch64's virt machine, which
# has one UART) has its console on ttyAMA0 and its results port on a virtio
# console, hvc0 (virtio_mmio and virtio_console: fetch_kernel.sh loads
# them); the guest learns its port from mlvm_results= on its command line.
#
# usage: qemu_guest.sh --kernel-dir DIR --initrd FILE --console FILE --results FILE
#          --timeout S [--append WORDS] [--accel tcg|kvm] [--memory SIZE] [--nic SPEC]
#          [--qemu-log FILE] [--arch amd64|arm64]
#   --kernel-dir  a fetch_kernel.sh cache: DIR/vmlinuz is booted
#   --append      appended to the base command line (console, no panic wait,
#                 quiet, no_timer_check)
#   --nic         e.g. user,model=e1000 (slirp); none by default
# Exit status: QEMU's (0 when the guest powered off), 124 or 137 when it was
# stopped at the limit, 90 when the emulated CPU stalled or the kernel
# panicked while booting, before the guest ran anything (below), 143 when
# this script was told to stop (TERM, INT, HUP: QEMU is stopped first).
set -euo pipefail

die() {
  echo "qemu_guest: $*" >&2
  exit 2
}

kernel_dir="" initrd="" console="" results="" limit="" append="" accel=tcg memory=2G nic=""
qemu_log=/dev/null arch=amd64
while (($#)); do
  case "$1" in
    --kernel-dir) kernel_dir="$2"; shift 2 ;;
    --initrd) initrd="$2"; shift 2 ;;
    --console) console="$2"; shift 2 ;;
    --results) results="$2"; shift 2 ;;
    --timeout) limit="$2"; shift 2 ;;
    --append) append="$2"; shift 2 ;;
    --accel) accel="$2"; shift 2 ;;
    --memory) memory="$2"; shift 2 ;;
    --nic) nic="$2"; shift 2 ;;
    --qemu-log) qemu_log="$2"; shift 2 ;;
    --arch) arch="$2"; shift 2 ;;
    *) die "unknown argument $1" ;;
  esac
done
[[ -n "$kernel_dir" && -n "$initrd" && -n "$console" && -n "$results" && -n "$limit" ]] ||
  die "--kernel-dir, --initrd, --console, --results and --timeout are required"
[[ -s "$kernel_dir/vmlinuz" ]] || die "no $kernel_dir/vmlinuz (run fetch_kernel.sh)"
[[ -s "$initrd" ]] || die "no initramfs $initrd"

# no_timer_check: on a loaded host TCG can miss the kernel's IO-APIC timer
# check, which then panics ("IO-APIC + timer doesn't work"); seen with the
# rbd guest. panic=-1: a panicking guest powers off at once.
cpu=max
[[ "$accel" == kvm ]] && cpu=host
net=(-nic none)
[[ -n "$nic" ]] && net=(-nic "$nic")
case "$arch" in
  amd64)
    cmdline="console=ttyS0 mlvm_results=ttyS1 panic=-1 quiet no_timer_check $append"
    machine=(qemu-system-x86_64 -vga none -serial "file:$console" -serial "file:$results")
    ;;
  arm64)
    [[ "$accel" == tcg ]] || die "an arm64 guest runs under TCG only here"
    # pauth-impdef: QEMU's own pointer-authentication hash instead of the
    # architected QARMA, which TCG computes several times slower.
    cpu="max,pauth-impdef=on"
    cmdline="console=ttyAMA0 mlvm_results=hvc0 panic=-1 quiet $append"
    machine=(qemu-system-aarch64 -M virt -serial "file:$console"
      -device virtio-serial-device -chardev "file,id=results,path=$results"
      -device "virtconsole,chardev=results")
    ;;
  *) die "--arch must be amd64 or arm64, not $arch" ;;
esac

rm -f "$console" "$results"
qemu=""
stop_qemu() {
  if [[ -n "$qemu" ]]; then
    kill -TERM "$qemu" 2>/dev/null || true
    wait "$qemu" 2>/dev/null || true
  fi
}
# A signal (ctest's timeout, the caller's cleanup, ^C) stops QEMU first.
trap 'stop_qemu; exit 143' TERM INT HUP

timeout -k 10 "$limit" "${machine[@]}" -accel "$accel" -cpu "$cpu" -m "$memory" -smp 2 -no-reboot \
  -display none -monitor none -nodefaults "${net[@]}" \
  -kernel "$kernel_dir/vmlinuz" -initrd "$initrd" -append "$cmdline" </dev/null >"$qemu_log" 2>&1 &
qemu=$!

# Under TCG a vCPU sometimes stops taking its timer interrupts and IPIs
# (seen once in CI: CPU 0 silent, the other CPU spinning in an IPI for
# minutes, during a tracefs write in the benchmark). The kernel names it:
# "rcu_preempt kthread timer wakeup didn't happen". No guest program can
# make an emulated CPU's timer stop firing, so this is the emulator's fault,
# not a test's: the guest is stopped at once rather than at the limit, and
# the caller may boot it again.
stalled_status=90
status=0
while kill -0 "$qemu" 2>/dev/null; do
  if grep -qE "rcu: rcu_(preempt|sched) kthread timer wakeup didn't happen" "$console" 2>/dev/null; then
    stop_qemu
    status=$stalled_status
    break
  fi
  # Short sleeps in the background: a signal's trap runs at once.
  sleep 2 &
  wait $! || true
done
if ((status == 0)); then
  wait "$qemu" || status=$?
fi
qemu=""
# A kernel that panics before any program of the guest has written a line
# (every console line is a kernel message, "[   1.59] ...") is the same
# kind of fault: seen on 6.12 under TCG, an int3 left by the kernel's own
# boot-time code patching (sched_clock_cpu, PID 0) while the other vCPU
# ran it. Nothing mountleak loads has run by then.
if ((status != stalled_status)) && grep -q "Kernel panic" "$console" 2>/dev/null &&
  ! grep -qvE '^\[ *[0-9]+\.[0-9]+\]' "$console"; then
  status=$stalled_status
fi
# A tty that was not switched to raw adds \r to every line.
[[ -f "$results" ]] && sed -i 's/\r$//' "$results"
exit "$status"
