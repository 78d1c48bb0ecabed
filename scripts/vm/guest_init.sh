#!/bin/busybox sh
# SPDX-License-Identifier: Apache-2.0
# /init of every QEMU guest this project boots: the vm lane's
# (tests/vm/run_vm_tests.sh), the guest benchmark's (scripts/bench_guest.sh)
# and the real rbd scenario's (scripts/ceph/run_guest_scenario.sh), all
# through run_vm_tests.sh's prepare and boot. Sets up a node-like system
# (proc, sysfs, devtmpfs, the hybrid cgroup layout of this project's CI
# host, tracefs, bpffs, the kernel modules), runs the scenarios named on the
# kernel command line and powers off.
#
# Kernel command line:
#   mlvm_run=probe,privileged_kernel,privileged_tracepoint   what to run, in order
#            (also probe_kprobe, privileged_kprobe: fentry turned off;
#            privileged_late_module, privileged_late_module_kprobe: a module
#            loaded after trace started, the first of mlvm_defer_modules)
#            (or bench: the guest benchmark, scripts/bench_guest.sh)
#            (or rbd: the real rbd EBUSY, scripts/ceph/guest_rbd_scenario.sh,
#            against the host's cluster; see rbd_busy below)
#   mlvm_filter_<scenario>=<gtest filter>                    for privileged_*
#   mlvm_limit_<scenario>=<seconds>                          kill it after that
#   mlvm_defer_modules=dm-mod  not loaded at boot (a module file's name as
#                          in modules.load); loaded before any scenario but
#                          the privileged_late_module ones, which load it
#                          themselves after trace started, and remove it,
#                          and rbd, which loads it after its first probe
#   mlvm_results=<tty>     the results port (scripts/vm/qemu_guest.sh: ttyS1,
#                          hvc0 on arm64's virt machine); default ttyS1
# Each scenario's output streams to the console (ttyS0, ttyAMA0) as it runs,
# then goes whole to the results port between markers the host parses:
#   @@MLVM BEGIN <name>
#   ...
#   @@MLVM END <name> rc=<exit code>
# and "@@MLVM DONE" once every scenario ran. Anything missing means the guest
# died or hung; the host treats that as a failure.

/bin/busybox mkdir -p /proc /sys /dev /tmp /run
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t devtmpfs devtmpfs /dev 2>/dev/null

# The initramfs is the rootfs, which pivot_root refuses (it has no parent
# mount, and the fixture's containers pivot_root into their own rootfs).
# A bind mount of it moved over / and entered with chroot is a real mount,
# as a node's root is; copying the files onto a tmpfs would cost seconds.
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
# busybox's sh runs its own applets before anything on PATH (losetup,
# mount...), so popen() and system() in the tests would get busybox's tools
# instead of the util-linux ones shipped. dash, like Debian's /bin/sh, does not.
# (/usr/bin/dash where this machine's is shipped, /bin/dash from arm64's
# unpacked package.)
for dash in /usr/bin/dash /bin/dash; do
  [ -x "$dash" ] && ln -sf "$dash" /bin/sh && break
done
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root
. /etc/mountleak-vm.env

# Moved here from the first stage, unless this is a second boot of /init.
[ -e /proc/self ] || mount -t proc proc /proc
[ -e /dev/null ] || mount -t devtmpfs devtmpfs /dev
echo "mlvm: init on tmpfs root after $(cut -d' ' -f1 /proc/uptime) s of guest time" >/dev/console
mount -t sysfs sysfs /sys
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tmpfs -o mode=755 tmpfs /run
chmod 1777 /tmp  # already on the tmpfs root; a new mount would hide shipped files
mount -t tracefs tracefs /sys/kernel/tracing
mount -t debugfs debugfs /sys/kernel/debug
# The active LSMs and lockdown state are read from here.
mount -t securityfs securityfs /sys/kernel/security
mount -t bpf bpf /sys/fs/bpf
# The CI host's (systemd hybrid) layout: both hierarchies the fixture and
# mountleak understand, the unified one and v1 name=systemd.
mount -t tmpfs -o mode=755 tmpfs /sys/fs/cgroup
mkdir -p /sys/fs/cgroup/unified /sys/fs/cgroup/systemd
mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified
mount -t cgroup -o none,name=systemd cgroup /sys/fs/cgroup/systemd
# systemd makes the root shared; mount propagation scenarios depend on it.
mount --make-rshared /

arg() {
  set -f  # gtest filters hold '*': split the command line, never glob it
  for word in $(cat /proc/cmdline); do
    case "$word" in "$1="*) echo "${word#*=}" ;; esac
  done
}

console=/dev/console
# Modules first: on arm64 the results port is a virtio console (a module).
defer=" $(arg mlvm_defer_modules | tr ',' ' ') "
: >/tmp/deferred.load
while read -r module; do
  base="${module##*/}"
  case "$defer" in *" ${base%%.ko*} "*) echo "$module" >>/tmp/deferred.load && continue ;; esac
  insmod "/$module" || echo "mlvm: insmod $module failed" >"$console"
done </etc/modules.load
# The deferred modules, for the scenarios that expect every module loaded.
load_deferred() {
  while read -r module; do
    base="${module##*/}"
    [ -e "/sys/module/$(echo "${base%%.ko*}" | tr - _)" ] && continue
    insmod "/$module" || echo "mlvm: insmod $module failed" >"$console"
  done </tmp/deferred.load
}
echo "mlvm: ready after $(cut -d' ' -f1 /proc/uptime) s of guest time" >"$console"

results="/dev/$(arg mlvm_results)"
[ "$results" = /dev/ ] && results=/dev/ttyS1
# A virtio console's device node appears once its driver has probed it.
for _ in 1 2 3 4 5 6 7 8 9 10; do
  [ -c "$results" ] && break
  sleep 1
done
[ -c "$results" ] || echo "mlvm: no results port $results" >"$console"
# Raw: the host reads the results byte for byte (no \r added to each line).
stty -F "$results" raw -echo 2>/dev/null
emit() { echo "$*" >"$results"; }
run_list="$(arg mlvm_run | tr ',' ' ')"

# Runs "$@" with its output kept in a file and streamed to the console, then
# sends it to the results port between markers. The scenario ends when its
# own process does, whatever it left behind; leftovers are listed and killed
# so the next scenario starts clean. A scenario that outlives its limit is
# killed with everything it started, and the next one still runs.
scenario() {
  name="$1"
  shift
  limit="$(arg "mlvm_limit_$name")"
  out="/tmp/$name.out"
  echo "mlvm: scenario $name (limit ${limit:-none} s): $*" >"$console"
  start=$(date +%s)
  rm -f /tmp/killed
  : >"$out"
  tail -f "$out" >"$console" &
  tailer=$!
  # Appending: a scenario may open its own output again by name
  # (/proc/self/fd/3, as rbd does), and every write must land at the end.
  "$@" >>"$out" 2>&1 </dev/null &
  running=$!
  watchdog=""
  if [ -n "$limit" ]; then
    (sleep "$limit" && touch /tmp/killed && kill -KILL "$running") &
    watchdog=$!
  fi
  wait "$running"
  rc=$?
  [ -n "$watchdog" ] && kill "$watchdog" 2>/dev/null
  sleep 1  # let tail print the last lines
  kill "$tailer" 2>/dev/null
  if [ -e /tmp/killed ]; then
    echo "mlvm: scenario $name killed after its limit of $limit s" | tee -a "$out" >"$console"
    rc=137
  fi
  echo "mlvm: scenario $name exited $rc after $(($(date +%s) - start)) s" >"$console"
  # Kernel threads show as [name]; this shell's own forks (the ps and awk
  # below) show with /init's command line; the watchdog's sleep is harmless.
  leftovers="$(ps -o pid,ppid,args | awk 'NR > 1 && $1 != 1 && $3 !~ /^\[/ && $0 !~ /\/init$/ && $3 != "sleep"')"
  if [ -n "$leftovers" ]; then
    # Reported outside the scenario's output, which may be JSON.
    echo "mlvm: scenario $name left processes running (killed now):" >"$console"
    echo "$leftovers" >"$console"
    echo "$leftovers" | while read -r line; do emit "@@MLVM LEFTOVER $name $line"; done
  fi
  kill -KILL -1 2>/dev/null  # spares init only
  emit "@@MLVM BEGIN $name"
  cat "$out" >"$results"
  emit "@@MLVM END $name rc=$rc"
}

# privileged_tests with the filter the command line gives this scenario.
privileged() {
  filter="$(arg "mlvm_filter_$1")"
  if [ -n "$filter" ]; then
    "$MLVM_PRIVILEGED_TESTS" --gtest_color=no "--gtest_filter=$filter"
  else
    "$MLVM_PRIVILEGED_TESTS" --gtest_color=no
  fi
}

# The guest benchmark (scripts/bench_guest.sh): $MLVM_BENCH $MLVM_BENCH_ARGS,
# both from /etc/mountleak-vm.env.
bench() {
  # Word splitting of the arguments is wanted; none holds a space.
  # shellcheck disable=SC2086
  "$MLVM_BENCH" $MLVM_BENCH_ARGS
}

# The real rbd EBUSY: guest_rbd_scenario.sh ($MLVM_RBD_SCENARIO) against
# the cluster run_guest_scenario.sh started on the host, reached through the
# NIC it gave the guest. Its arguments come from the command line:
#   mlceph_mon=127.0.0.1:P mlceph_mon_v2=127.0.0.1:P2 mlceph_osd=127.0.0.1:Q[,...]
#   mlceph_key=BASE64 mlceph_pool=kube mlceph_image=NAME
#   mlceph_trace=1   also `mountleak trace` through the failing unmap, with
#                    `probe` and `trace --watch-modules` run before rbd is
#                    loaded (the guest boots with mlvm_defer_modules=rbd)
# The scenario's sections (@@GUEST_RBD BEGIN/END) go to its own output
# (descriptor 3, opened again by name wherever the script's stdout points
# at the time), where the host reads them (tests/vm/rbd_busy_test.sh).
# Waits until the tracer started before rbd ($late_tracer) prints event $1,
# exits, or $2 tenths of a second pass; prints how many tenths it waited.
wait_for_late_event() {
  tenths=0
  until grep -q "\"event\":\"$1\"" /tmp/trace_late.json 2>/dev/null; do
    kill -0 "$late_tracer" 2>/dev/null || break
    tenths=$((tenths + 1))
    [ $tenths -lt "$2" ] || break
    sleep 0.1
  done
  echo "$tenths"
}

rbd_busy() {
  set -- --mon "$(arg mlceph_mon)" --osd "$(arg mlceph_osd)" --key "$(arg mlceph_key)" \
    --pool "$(arg mlceph_pool)" --image "$(arg mlceph_image)" --results /proc/self/fd/3
  mon_v2="$(arg mlceph_mon_v2)"
  [ -n "$mon_v2" ] && set -- "$@" --mon-v2 "$mon_v2"
  [ -n "${MLVM_MOUNTLEAK:-}" ] && set -- "$@" --mountleak "$MLVM_MOUNTLEAK"
  if [ "$(arg mlceph_trace)" = 1 ] && [ -n "${MLVM_MOUNTLEAK:-}" ]; then
    set -- "$@" --trace
    # Before rbd is loaded: its hook must fall back, and probe must say why.
    echo "@@GUEST_RBD BEGIN probe_without_rbd"
    "$MLVM_MOUNTLEAK" probe -o json 2>/dev/null
    echo "@@GUEST_RBD END probe_without_rbd"
    # And `trace --watch-modules`, ready before rbd is loaded: rbd's coming
    # must move its hook to the kernel tier (the scenario stops it after
    # the first failing remove, before rbd is removed and loaded again).
    "$MLVM_MOUNTLEAK" trace -o json --all-events --watch-modules >/tmp/trace_late.json 2>/tmp/trace_late.err &
    late_tracer=$!
    waited="$(wait_for_late_event ready 1500)"
    echo "rbd_busy: trace --watch-modules started before rbd is loaded ($waited tenths of a second to ready)"
    set -- "$@" --late-tracer "$late_tracer"
  fi
  load_deferred
  # The scenario starts tracers of its own only once this one has moved its
  # hook to the kernel tier. Attaching at the same moment as it (its kprobes
  # on rbd, their fexit programs and kprobes) soft-locked both vCPUs of the
  # 6.1 guest under TCG in 2 of 3 runs, for minutes; one after the other,
  # as on a node with one tracer, never (the move takes about 2 s). Whether
  # it moved at all is judged on the host, from the tracer's output.
  if [ -n "${late_tracer:-}" ]; then
    waited="$(wait_for_late_event hook_moved 300)"
    echo "rbd_busy: the first tracer's hook moved (or it gave up) after $waited tenths of a second"
  fi
  "$MLVM_RBD_SCENARIO" "$@" 3>&1
}

probe() {
  # stdout alone is the JSON the host checks; stderr is kept for humans.
  "$MLVM_MOUNTLEAK" probe -o json "$@" 2>/tmp/probe.err
  rc=$?
  cat /tmp/probe.err >"$console"
  return $rc
}

# What the late-module scenarios load once trace is ready (empty: none
# deferred, and they fail).
late_module="$(head -n1 /tmp/deferred.load)"

emit "@@MLVM KERNEL $(uname -r)"
for name in $run_list; do
  case "$name" in
    privileged_late_module* | rbd) ;;
    *) load_deferred ;;
  esac
  case "$name" in
    probe) scenario probe probe ;;
    # What a kernel with kprobes but no BPF trampolines gets.
    probe_kprobe) scenario probe_kprobe probe --no-feature fentry ;;
    bench) scenario bench bench ;;
    rbd) scenario rbd rbd_busy ;;
    privileged_kernel)
      # The trace tests check the ready event's tier for their hooks.
      export MOUNTLEAK_TEST_EXPECT_TIER=kernel
      scenario privileged_kernel privileged privileged_kernel
      unset MOUNTLEAK_TEST_EXPECT_TIER
      ;;
    privileged_tracepoint)
      # Every `mountleak trace` the tests spawn gets these arguments
      # (tests/privileged/mountleak_process.cpp), forcing the fallback tier.
      export MOUNTLEAK_TEST_EXPECT_TIER=tracepoint
      export MOUNTLEAK_TEST_TRACE_ARGS="--no-feature fentry,kprobe"
      scenario privileged_tracepoint privileged privileged_tracepoint
      unset MOUNTLEAK_TEST_TRACE_ARGS MOUNTLEAK_TEST_EXPECT_TIER
      ;;
    privileged_kprobe)
      # The kernel tier without trampolines: every hook's kprobe candidate.
      export MOUNTLEAK_TEST_EXPECT_TIER=kernel
      export MOUNTLEAK_TEST_EXPECT_PROGRAMS=kprobe
      export MOUNTLEAK_TEST_TRACE_ARGS="--no-feature fentry"
      scenario privileged_kprobe privileged privileged_kprobe
      unset MOUNTLEAK_TEST_TRACE_ARGS MOUNTLEAK_TEST_EXPECT_TIER MOUNTLEAK_TEST_EXPECT_PROGRAMS
      ;;
    privileged_late_module)
      export MOUNTLEAK_TEST_LATE_MODULE="${late_module:+/$late_module}"
      scenario privileged_late_module privileged privileged_late_module
      unset MOUNTLEAK_TEST_LATE_MODULE
      ;;
    privileged_late_module_kprobe)
      # The same on kprobes, which do not hold the module: it can go again.
      export MOUNTLEAK_TEST_LATE_MODULE="${late_module:+/$late_module}"
      export MOUNTLEAK_TEST_EXPECT_PROGRAMS=kprobe
      export MOUNTLEAK_TEST_TRACE_ARGS="--no-feature fentry"
      scenario privileged_late_module_kprobe privileged privileged_late_module_kprobe
      unset MOUNTLEAK_TEST_LATE_MODULE MOUNTLEAK_TEST_EXPECT_PROGRAMS MOUNTLEAK_TEST_TRACE_ARGS
      ;;
    *) emit "@@MLVM UNKNOWN $name" ;;
  esac
done
# The kernel's log, for failures that leave traces only there (verifier,
# module loading, warnings).
emit "@@MLVM BEGIN dmesg"
dmesg >"$results"
emit "@@MLVM END dmesg rc=0"
emit "@@MLVM DONE"
sync
poweroff -f
