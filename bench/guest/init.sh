#!/bin/busybox sh
# SPDX-License-Identifier: Apache-2.0
# /init of the guest benchmark (scripts/bench_guest.sh): the node-like setup
# of the vm lane's guest (tests/vm/guest_init.sh: proc, sysfs, devtmpfs,
# tracefs, bpffs, hybrid cgroups, a shared real-mount root, the kernel
# modules), then one scenario, "bench": $MLVM_BENCH $MLVM_BENCH_ARGS (both
# from /etc/mountleak-vm.env, written when the initramfs is built), then
# power off. It speaks the lane's results protocol on ttyS1 (@@MLVM KERNEL,
# BEGIN/END <scenario> rc=N, DONE), so tests/vm/run_vm_tests.sh boots the
# guest and judges the scenario as it does the lane's own.
#
# Kernel command line: mlvm_run=bench, mlvm_limit_bench=<seconds>.

/bin/busybox mkdir -p /proc /sys /dev /tmp /run
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t devtmpfs devtmpfs /dev 2>/dev/null

# As in guest_init.sh: the rootfs is no real mount (no parent); a bind mount
# of it moved over / is, as a node's root is, and the churn makes it rslave.
if [ "$$" = 1 ] && [ ! -e /.mlvm-switched ]; then
  /bin/busybox mkdir -p /newroot
  /bin/busybox mount --bind / /newroot
  /bin/busybox touch /newroot/.mlvm-switched
  /bin/busybox mount --move /proc /newroot/proc
  /bin/busybox mount --move /dev /newroot/dev
  cd /newroot || exit 1
  /bin/busybox mount --move . /
  exec /bin/busybox chroot . /init
fi

/bin/busybox --install -s
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root
. /etc/mountleak-vm.env

[ -e /proc/self ] || mount -t proc proc /proc
[ -e /dev/null ] || mount -t devtmpfs devtmpfs /dev
mount -t sysfs sysfs /sys
mount -t tmpfs -o mode=755 tmpfs /run
chmod 1777 /tmp
mount -t tracefs tracefs /sys/kernel/tracing
mount -t debugfs debugfs /sys/kernel/debug
mount -t securityfs securityfs /sys/kernel/security
mount -t bpf bpf /sys/fs/bpf
mount -t tmpfs -o mode=755 tmpfs /sys/fs/cgroup
mkdir -p /sys/fs/cgroup/unified /sys/fs/cgroup/systemd
mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified
mount -t cgroup -o none,name=systemd cgroup /sys/fs/cgroup/systemd
mount --make-rshared /

results=/dev/ttyS1
console=/dev/console
stty -F "$results" raw -echo 2>/dev/null
emit() { echo "$*" >"$results"; }

# The modules a node has loaded (rbd among them): the kernel tier's
# rbd_remove_busy hook attaches to the rbd module's function.
while read -r module; do
  insmod "/$module" || echo "mlvm: insmod $module failed" >"$console"
done </etc/modules.load
echo "mlvm: ready after $(cut -d' ' -f1 /proc/uptime) s of guest time" >"$console"

arg() {
  for word in $(cat /proc/cmdline); do
    case "$word" in "$1="*) echo "${word#*=}" ;; esac
  done
}

emit "@@MLVM KERNEL $(uname -r)"
for name in $(arg mlvm_run | tr ',' ' '); do
  if [ "$name" != bench ]; then
    emit "@@MLVM UNKNOWN $name"
    continue
  fi
  limit="$(arg mlvm_limit_bench)"
  out=/tmp/bench.out
  echo "mlvm: scenario bench (limit ${limit:-none} s): $MLVM_BENCH $MLVM_BENCH_ARGS" >"$console"
  start=$(date +%s)
  : >"$out"
  tail -f "$out" >"$console" &
  tailer=$!
  # Word splitting of the arguments is wanted; none holds a space.
  # shellcheck disable=SC2086
  "$MLVM_BENCH" $MLVM_BENCH_ARGS >"$out" 2>&1 </dev/null &
  running=$!
  watchdog=""
  if [ -n "$limit" ]; then
    (sleep "$limit" && touch /tmp/killed && kill -KILL "$running") &
    watchdog=$!
  fi
  wait "$running"
  rc=$?
  [ -n "$watchdog" ] && kill "$watchdog" 2>/dev/null
  sleep 1
  kill "$tailer" 2>/dev/null
  if [ -e /tmp/killed ]; then
    echo "mlvm: scenario bench killed after its limit of $limit s" | tee -a "$out" >"$console"
    rc=137
  fi
  echo "mlvm: scenario bench exited $rc after $(($(date +%s) - start)) s" >"$console"
  kill -KILL -1 2>/dev/null
  emit "@@MLVM BEGIN bench"
  cat "$out" >"$results"
  emit "@@MLVM END bench rc=$rc"
done
emit "@@MLVM BEGIN dmesg"
dmesg >"$results"
emit "@@MLVM END dmesg rc=0"
emit "@@MLVM DONE"
sync
poweroff -f
