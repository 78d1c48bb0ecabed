#!/bin/busybox sh
# SPDX-License-Identifier: Apache-2.0
# A minimal /init for run_guest_scenario.sh's QEMU guest: mounts proc, sysfs
# and devtmpfs, loads the shipped modules, runs guest_rbd_scenario.sh with
# the arguments from the kernel command line and powers off. The result is
# the line "@@GUEST_RBD rc=<exit code>" on the console; what mountleak
# printed goes to the second serial port (ttyS1), where nothing interleaves.
#
# Kernel command line: mlceph_mon=127.0.0.1:P [mlceph_mon_v2=127.0.0.1:P2] mlceph_osd=127.0.0.1:Q[,...]
#   mlceph_key=BASE64 mlceph_pool=kube mlceph_image=NAME
#   [mlceph_mountleak=/path/to/mountleak] (the same path as on the host)
#   [mlceph_trace=1] (run `mountleak trace` through the EBUSY, and
#   `mountleak probe` before rbd is loaded)
/bin/busybox mkdir -p /proc /sys /dev /tmp /run
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
/bin/busybox --install -s
# mountleak trace: tracefs for the tracepoint programs, bpffs as on a node.
mount -t tracefs tracefs /sys/kernel/tracing
mount -t bpf bpf /sys/fs/bpf
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root
. /etc/mountleak-vm.env

mon="" mon_v2="" osd="" key="" pool="kube" image="img0" mountleak="" trace=""
for w in $(cat /proc/cmdline); do
  case "$w" in
    mlceph_mon=*) mon="${w#*=}" ;;
    mlceph_mon_v2=*) mon_v2="${w#*=}" ;;
    mlceph_osd=*) osd="${w#*=}" ;;
    mlceph_key=*) key="${w#*=}" ;;
    mlceph_pool=*) pool="${w#*=}" ;;
    mlceph_image=*) image="${w#*=}" ;;
    mlceph_mountleak=*) mountleak="${w#*=}" ;;
    mlceph_trace=*) trace="${w#*=}" ;;
  esac
done
if [ -e /dev/ttyS1 ]; then
  # Raw: the host reads the results byte for byte (no \r added to each line).
  stty -F /dev/ttyS1 raw -echo 2>/dev/null
fi
if [ "$trace" = 1 ] && [ -e /dev/ttyS1 ]; then
  # Before rbd is loaded: its hook must fall back, and probe must say why.
  {
    echo "@@GUEST_RBD BEGIN probe_without_rbd"
    "$mountleak" probe -o json 2>/dev/null
    echo "@@GUEST_RBD END probe_without_rbd"
  } >/dev/ttyS1
  # And `trace --watch-modules`, ready before rbd is loaded: rbd's coming
  # must move its hook to the kernel tier (the scenario stops it after the
  # first failing remove, before rbd is removed and loaded again).
  "$mountleak" trace -o json --all-events --watch-modules >/tmp/trace_late.json 2>/tmp/trace_late.err &
  late_tracer=$!
  i=0
  until grep -q '"event":"ready"' /tmp/trace_late.json 2>/dev/null; do
    kill -0 "$late_tracer" 2>/dev/null || break
    i=$((i + 1))
    [ $i -lt 1500 ] || break
    sleep 0.1
  done
  echo "guest_init: trace --watch-modules started before rbd is loaded ($i tenths of a second to ready)"
fi

# crc32c first: libcrc32c asks the crypto API for it when it loads.
for m in $(grep crc32c_generic /etc/modules.load) $(grep -v crc32c_generic /etc/modules.load); do
  insmod "/$m" || echo "guest_init: insmod $m failed"
done

echo "guest_init: ready after $(cut -d' ' -f1 /proc/uptime) s of guest time"
set -- --mon "$mon" --osd "$osd" --key "$key" --pool "$pool" --image "$image"
[ -n "$mon_v2" ] && set -- "$@" --mon-v2 "$mon_v2"
[ -n "$mountleak" ] && set -- "$@" --mountleak "$mountleak"
[ "$trace" = 1 ] && set -- "$@" --trace
[ -n "${late_tracer:-}" ] && set -- "$@" --late-tracer "$late_tracer"
[ -e /dev/ttyS1 ] && set -- "$@" --results /dev/ttyS1
"$MLCEPH_SCENARIO" "$@"
rc=$?
echo "@@GUEST_RBD rc=$rc"
[ -e /dev/ttyS1 ] && echo "@@GUEST_RBD rc=$rc" >/dev/ttyS1
poweroff -f
