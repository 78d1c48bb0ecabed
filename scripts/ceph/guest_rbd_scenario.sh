#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The field report's leak with a real kernel RBD mapping, inside a QEMU guest
# whose user-mode network (slirp) reaches the host's throwaway cluster
# (scripts/ceph/start_cluster.sh, on the host's 127.0.0.1 only):
#
#   1. forward the guest's own 127.0.0.1:<port> of the mon and the OSD to
#      10.0.2.2:<port>, which slirp connects to the host's 127.0.0.1:<port>.
#      The guest must dial exactly the addresses the cluster advertises
#      (127.0.0.1:<port>): the kernel client drops a peer whose banner names
#      another address ("wrong peer at address").
#   2. map the image through /sys/bus/rbd/add_single_major (msgr v1, cephx),
#   3. mkfs.ext4 and mount it, the way kubelet mounts a volume,
#   4. copy the mount into a new mount namespace with private propagation
#      (a log collector's hostPath of /var/lib/kubelet),
#   5. unmount it in the "host" namespace,
#   6. remove_single_major must fail with EBUSY: the leak;
#   7. optionally `mountleak scan --device rbdN -o json` must call it leaked,
#      name the holder's namespace, and (asking the cluster through a guest
#      ceph.conf) list the mapping's own watch among the image's watchers;
#   8. with --mountleak, `mountleak release --device rbdN --yes` unmounts the
#      holder's copy in its own namespace, the holder still running; without
#      it, end the holder. remove must then succeed, leaving nothing mapped.
#   9. with --trace: reload rbd with single_major=N and do 2-8 again through
#      the legacy /sys/bus/rbd/add and /sys/bus/rbd/remove, whose store
#      function shares its name with one in vmlinux (the PCI core's
#      remove_store); a third tracer ("trace_legacy") must catch that EBUSY
#      on the kernel tier too.
# With --trace, `mountleak trace -o json --all-events` runs from before the
# copy (step 4) until it has reported the EBUSY of step 6 (section "trace"),
# then a second one forced to the tracepoint tier (--no-feature
# fentry,kprobe) through a second failing remove ("trace_tracepoint").
#
# usage: guest_rbd_scenario.sh --mon 127.0.0.1:PORT --osd 127.0.0.1:PORT[,...]
#          --key BASE64 [--mon-v2 127.0.0.1:PORT] [--name admin] [--pool kube] [--image img0]
#          [--host-ip 10.0.2.2] [--mountleak PATH [--trace]] [--results FILE] [--keep-network]
# (guest_args.sh prints --mon, --osd and --key for a running cluster.)
#
# --results FILE (a second serial port, say) receives, for a host to judge:
#   @@GUEST_RBD HOLDER pid=<pid> mntns=<inode> dev=/dev/rbdN id=<rbd id>
#   @@GUEST_RBD HOLDER_LEGACY ... (the same, for step 9)
#   @@GUEST_RBD BEGIN <name>  ...output...  @@GUEST_RBD END <name>
# for name in probe_with_rbd, scan, release, trace, trace.err, trace_tracepoint, trace_tracepoint.err,
# trace_legacy, trace_legacy.err, and trace_late, trace_late.err (with --late-tracer PID: a
# `trace --watch-modules` started before rbd was loaded, stopped after the first EBUSY).
#
# Runs as root in the guest, under busybox sh or dash. Needs: the rbd and
# libceph modules (with libcrc32c and a crc32c implementation, loaded first:
# crc32c_generic), ext4 (jbd2, mbcache, crc16), a NIC driver for QEMU's
# -nic user (e1000, or virtio_net with virtio_pci), and the programs ip,
# unshare (--propagation), mount, umount (busybox has them), socat and
# mkfs.ext4. Prints "guest_rbd: PASS" and exits 0, or says what failed and
# exits 1.
set -u

say() { echo "guest_rbd: $*"; }
fail() {
  say "FAIL: $*"
  cleanup
  exit 1
}

mon="" mon_v2="" osds="" key="" name="admin" pool="kube" image="img0" host_ip="10.0.2.2" mountleak=""
keep_network=0 trace=0 results=/dev/null late_tracer=""
while [ $# -gt 0 ]; do
  case "$1" in
    --mon) mon="$2"; shift 2 ;;
    --mon-v2) mon_v2="$2"; shift 2 ;;
    --osd) osds="$2"; shift 2 ;;
    --key) key="$2"; shift 2 ;;
    --name) name="$2"; shift 2 ;;
    --pool) pool="$2"; shift 2 ;;
    --image) image="$2"; shift 2 ;;
    --host-ip) host_ip="$2"; shift 2 ;;
    --mountleak) mountleak="$2"; shift 2 ;;
    --keep-network) keep_network=1; shift ;;
    --trace) trace=1; shift ;;
    --late-tracer) late_tracer="$2"; shift 2 ;;
    --results) results="$2"; shift 2 ;;
    *) say "unknown argument $1"; exit 2 ;;
  esac
done
if [ -z "$mon" ] || [ -z "$osds" ] || [ -z "$key" ]; then
  say "usage: guest_rbd_scenario.sh --mon 127.0.0.1:PORT --osd 127.0.0.1:PORT[,...] --key BASE64 ..."
  exit 2
fi
if [ "$trace" = 1 ] && [ -z "$mountleak" ]; then
  say "--trace needs --mountleak"
  exit 2
fi

work=/tmp/guest-rbd
mnt=$work/volume
forwarders="" holder="" dev_id="" mounted=0 tracer="" trace_name=""

# SIGTERM lets a tracer drain and print its stats; KILL after 20 s if it
# hangs.
term_then_kill() {
  kill -TERM "$1" 2>/dev/null
  i=0
  while kill -0 "$1" 2>/dev/null && [ $i -lt 200 ]; do
    i=$((i + 1))
    sleep 0.1
  done
  kill -KILL "$1" 2>/dev/null
}

# The `trace --watch-modules` guest_init started before rbd was loaded
# (output in /tmp/trace_late.*; not our child, so polled): after the first
# failing remove, SIGTERM, then its output as section trace_late.
stop_late_trace() {
  [ -n "$late_tracer" ] || return 0
  i=0
  until grep -q '"event":"busy"' /tmp/trace_late.json 2>/dev/null || [ $i -ge 300 ]; do
    i=$((i + 1))
    sleep 0.1
  done
  term_then_kill "$late_tracer"
  late_tracer=""
  emit_section trace_late /tmp/trace_late.json
  emit_section trace_late.err /tmp/trace_late.err
}

cleanup() {
  stop_trace
  stop_late_trace
  [ -n "$holder" ] && kill "$holder" 2>/dev/null && wait "$holder" 2>/dev/null
  holder=""
  [ "$mounted" = 1 ] && umount "$mnt" 2>/dev/null
  mounted=0
  if [ -n "$dev_id" ] && [ -e "/sys/bus/rbd/devices/$dev_id" ]; then
    for remove in /sys/bus/rbd/remove_single_major /sys/bus/rbd/remove; do
      [ -e $remove ] || continue
      write_attr "$dev_id" $remove 2>/dev/null || write_attr "$dev_id force" $remove 2>/dev/null
    done
  fi
  dev_id=""
  for p in $forwarders; do kill "$p" 2>/dev/null; done
  forwarders=""
}

mkdir -p "$mnt"

# One output file as a section of the results, for the host to judge.
emit_section() {
  {
    echo "@@GUEST_RBD BEGIN $1"
    cat "$2" 2>/dev/null
    echo "@@GUEST_RBD END $1"
  } >>"$results"
}

# Starts `mountleak trace` as section $1 with the extra arguments that
# follow, and waits until it is ready. Loading and attaching every program
# is slow under TCG: it has 150 s.
start_trace() {
  trace_name="$1"
  shift
  started=$(cut -d. -f1 /proc/uptime)
  "$mountleak" trace -o json --all-events "$@" >"$work/$trace_name.json" 2>"$work/$trace_name.err" &
  tracer=$!
  wait_trace_line '"event":"ready"' 1500 ||
    fail "mountleak trace $* not ready: $(tail -n 5 "$work/$trace_name.err")"
  say "mountleak trace${*:+ $*} ready after $(($(cut -d. -f1 /proc/uptime) - started)) s of guest time"
}

# Waits up to $2 tenths of a second for the trace to print a line with $1,
# failing early if the tracer died.
wait_trace_line() {
  i=0
  until grep -q "$1" "$work/$trace_name.json" 2>/dev/null; do
    kill -0 "$tracer" 2>/dev/null || return 1
    i=$((i + 1))
    [ $i -lt "$2" ] || return 1
    sleep 0.1
  done
}

stop_trace() {
  [ -n "$tracer" ] || return 0
  term_then_kill "$tracer"
  wait "$tracer" 2>/dev/null
  tracer=""
  emit_section "$trace_name" "$work/$trace_name.json"
  emit_section "$trace_name.err" "$work/$trace_name.err"
}

# After the EBUSY: the host judges what the trace says; here only whether it
# said anything.
finish_trace() {
  wait_trace_line '"event":"busy"' 300 || say "mountleak trace reported no busy finding within 30 s"
  stop_trace
}

# Writes $1 to the sysfs file $2; the error names errno ("Device or
# resource busy"). dash's echo reports every failed write as "I/O error", so
# busybox's shell does the write where it exists.
# Step 2: maps the image through /sys/bus/rbd/$1 (add_single_major, or add
# for rbd loaded with single_major=N); sets dev_id and dev.
map_image() {
  before="$(ls /sys/bus/rbd/devices)"
  # "<mon addrs> <options> <pool> <image> <snap>", snap "-" for the image itself.
  # The secret is never echoed: the line is written straight to the driver.
  if ! printf '%s name=%s,secret=%s %s %s -\n' "$mon" "$name" "$key" "$pool" "$image" \
    >"/sys/bus/rbd/$1" 2>$work/add.err; then
    dmesg | grep -E 'libceph|rbd' | tail -n 10
    fail "mapping $pool/$image through $1: $(cat $work/add.err)"
  fi
  for d in /sys/bus/rbd/devices/*; do
    [ -e "$d" ] || continue
    echo "$before" | grep -qx "${d##*/}" || dev_id="${d##*/}"
  done
  [ -n "$dev_id" ] || fail "no new device in /sys/bus/rbd/devices after mapping"
  dev="/dev/rbd$dev_id"
  i=0
  while [ ! -b "$dev" ]; do
    i=$((i + 1))
    [ $i -lt 50 ] || fail "$dev never appeared"
    sleep 0.1
  done
  say "mapped $pool/$image as $dev through $1 (client $(cat "/sys/bus/rbd/devices/$dev_id/client_id"))"
}

# Step 4: a process in a new mount namespace with a private copy of $mnt;
# the line it writes ($1: HOLDER, HOLDER_LEGACY) tells the host who holds what.
make_holder() {
  host_ns="$(readlink /proc/self/ns/mnt)"
  unshare -m --propagation private sh -c 'exec sleep 100000' &
  holder=$!
  i=0
  while [ "$(readlink /proc/$holder/ns/mnt 2>/dev/null)" = "$host_ns" ] ||
    ! grep -q " $mnt " /proc/$holder/mountinfo 2>/dev/null; do
    i=$((i + 1))
    [ $i -lt 50 ] || fail "the holder (pid $holder) never got its own copy of $mnt"
    sleep 0.1
  done
  say "pid $holder holds a private copy of $mnt in $(readlink /proc/$holder/ns/mnt)"
  echo "@@GUEST_RBD $1 pid=$holder mntns=$(readlink /proc/$holder/ns/mnt | tr -dc 0-9) dev=$dev id=$dev_id" >>"$results"
}

# Step 8 with mountleak: `release --yes` unmounts the holder's private copy
# inside its namespace; the holder keeps running, and remove_single_major,
# which failed with EBUSY, must now unmap the device.
release_by_mountleak() {
  "$mountleak" release --device "$dev" --yes -o json >$work/release.json 2>$work/release.err
  rc=$?
  say "mountleak release --device $dev --yes exited $rc"
  cat $work/release.json
  emit_section release $work/release.json
  [ "$rc" = 0 ] || fail "mountleak release exited $rc: $(cat $work/release.err)"
  kill -0 "$holder" 2>/dev/null || fail "the holder (pid $holder) is gone: release must not end it"
  grep -q " $mnt " /proc/$holder/mountinfo && fail "pid $holder still has its copy of $mnt after release"
  write_attr "$dev_id" /sys/bus/rbd/remove_single_major 2>$work/remove.err ||
    fail "remove_single_major still fails after release: $(cat $work/remove.err)"
  [ -e "/sys/bus/rbd/devices/$dev_id" ] && fail "device $dev_id still mapped after release and remove"
  say "released by mountleak with pid $holder still running; $dev unmapped"
  dev_id=""
  kill "$holder"
  wait "$holder" 2>/dev/null
  holder=""
}

# Step 8: ends the holder; /sys/bus/rbd/$1 must then unmap the device.
release_and_unmap() {
  kill "$holder"
  wait "$holder" 2>/dev/null
  holder=""
  i=0
  until write_attr "$dev_id" "/sys/bus/rbd/$1" 2>$work/remove.err; do
    i=$((i + 1))
    [ $i -lt 50 ] || fail "$1 still fails after the holder exited: $(cat $work/remove.err)"
    sleep 0.1
  done
  [ -e "/sys/bus/rbd/devices/$dev_id" ] && fail "device $dev_id still mapped after $1"
  say "holder gone, $dev unmapped"
  dev_id=""
}

write_attr() {
  if command -v busybox >/dev/null; then
    busybox sh -c 'echo "$1" >"$2"' write_attr "$1" "$2"
  else
    echo "$1" >"$2"
  fi
}

# --- 1. network and forwarders ------------------------------------------
if [ "$keep_network" = 0 ]; then
  ip link set lo up
  nic=""
  for n in /sys/class/net/*; do
    [ "${n##*/}" = lo ] || { nic="${n##*/}"; break; }
  done
  [ -n "$nic" ] || fail "no network interface (load e1000 or virtio_net)"
  ip link set "$nic" up
  # QEMU's user network: the guest is 10.0.2.15, the host's loopback 10.0.2.2.
  ip addr add 10.0.2.15/24 dev "$nic" 2>/dev/null
fi
command -v socat >/dev/null || fail "socat not found"
for addr in $mon $mon_v2 $(echo "$osds" | tr ',' ' '); do
  port="${addr##*:}"
  ip4="${addr%:*}"
  [ "$ip4" = 127.0.0.1 ] || fail "$addr: the cluster must advertise 127.0.0.1 (it listens on the host's loopback only)"
  socat "TCP-LISTEN:$port,bind=127.0.0.1,fork,reuseaddr" "TCP:$host_ip:$port" &
  forwarders="$forwarders $!"
done
# Until the listeners are up and the host's mon answers through them.
i=0
until socat -T1 /dev/null "TCP:$mon,connect-timeout=1" 2>/dev/null; do
  i=$((i + 1))
  [ $i -lt 20 ] || fail "the mon at $mon (host $host_ip:${mon##*:}) does not answer"
  sleep 0.5
done
say "mon $mon reachable through $host_ip"

# --- 2. map ------------------------------------------------------------
[ -w /sys/bus/rbd/add_single_major ] || fail "/sys/bus/rbd/add_single_major missing (load rbd; single_major is the default)"
map_image add_single_major

# --- 3. mkfs and mount ------------------------------------------------------
mkfs.ext4 -q -F "$dev" >$work/mkfs.out 2>&1 || fail "mkfs.ext4 $dev: $(cat $work/mkfs.out)"
mount -t ext4 "$dev" "$mnt" || fail "mounting $dev"
mounted=1
echo "written by guest_rbd_scenario" >"$mnt/volume-data" || fail "writing to $mnt"

# --- the tracer, from before the copy until after the EBUSY --------------------
if [ "$trace" = 1 ]; then
  mount | grep -q ' /sys/kernel/tracing ' || mount -t tracefs tracefs /sys/kernel/tracing
  # rbd is loaded now: probe must put its hook on the kernel tier, with
  # programs bound in rbd's own BTF.
  "$mountleak" probe -o json >"$work/probe_with_rbd.json" 2>&1
  emit_section probe_with_rbd "$work/probe_with_rbd.json"
  start_trace trace
fi

# --- 4. the leaking copy ----------------------------------------------------
make_holder HOLDER

# --- 5. the host unmounts ---------------------------------------------------
umount "$mnt" || fail "umount $mnt in the host namespace"
mounted=0
grep -q " $mnt " /proc/self/mountinfo && fail "$mnt still mounted in the host namespace"

# --- 6. unmap is busy -------------------------------------------------------
if write_attr "$dev_id" /sys/bus/rbd/remove_single_major 2>$work/remove.err; then
  dev_id=""
  fail "remove_single_major succeeded although pid $holder still mounts $dev"
fi
grep -q "Device or resource busy" $work/remove.err || fail "remove_single_major failed, but not with EBUSY: $(cat $work/remove.err)"
say "remove_single_major $dev_id: $(sed 's/.*: //' $work/remove.err) (EBUSY), as on the field report's node"
if [ -n "$tracer" ]; then
  finish_trace
  stop_late_trace
  # The same EBUSY again, seen by the syscall tracepoint on write's exit.
  start_trace trace_tracepoint --no-feature fentry,kprobe
  if write_attr "$dev_id" /sys/bus/rbd/remove_single_major 2>$work/remove.err; then
    dev_id=""
    fail "the second remove_single_major succeeded although pid $holder still mounts $dev"
  fi
  finish_trace
fi

# --- 7. mountleak names it ---------------------------------------------------
if [ -n "$mountleak" ]; then
  # The cluster as this node's /etc/ceph would describe it.
  mon_host="v1:$mon"
  [ -n "$mon_v2" ] && mon_host="[v2:$mon_v2,v1:$mon]"
  printf '[global]\nmon host = %s\nkeyring = %s\n' "$mon_host" "$work/keyring" >"$work/ceph.conf"
  (umask 077 && printf '[client.%s]\n\tkey = %s\n' "$name" "$key" >"$work/keyring")
  "$mountleak" scan --device "$dev" -o json --ceph-conf "$work/ceph.conf" --ceph-id "$name" \
    >$work/scan.json 2>$work/scan.err
  rc=$?
  say "mountleak scan --device $dev exited $rc"
  cat $work/scan.json
  emit_section scan $work/scan.json
  [ "$rc" = 1 ] || fail "mountleak scan exited $rc, not 1 (something holds a device that should be free): $(cat $work/scan.err)"
  grep -q '"leaked":true' $work/scan.json || fail "mountleak scan did not call $dev leaked"
  holder_ns="$(readlink /proc/$holder/ns/mnt | tr -dc 0-9)"
  grep -q "\"mntns\":$holder_ns" $work/scan.json || fail "mountleak scan did not name mount namespace $holder_ns"
  grep -q '"role":"leak"' $work/scan.json || fail "mountleak scan reported no holder with role leak"
  # The kernel client's watch on the image header: sysfs client_id
  # "client4105" is the watcher client.4105.
  gid="$(sed 's/^client//' "/sys/bus/rbd/devices/$dev_id/client_id")"
  grep -q "\"client\":\"client\.$gid\"" $work/scan.json ||
    fail "mountleak scan does not list the mapping's watch (client.$gid) among the image's watchers"
  say "the cluster lists this mapping (client.$gid) as a watcher of $pool/$image"
fi

# --- 8. release -------------------------------------------------------------
if [ -n "$mountleak" ]; then
  release_by_mountleak
else
  release_and_unmap remove_single_major
fi

# --- 9. the legacy interface, through rbd reloaded with single_major=N -------
if [ "$trace" = 1 ]; then
  rbd_ko="$(find / -xdev -name 'rbd.ko*' 2>/dev/null | head -n 1)"
  [ -n "$rbd_ko" ] || fail "rbd.ko not found in the guest"
  rmmod rbd || fail "rmmod rbd"
  insmod "$rbd_ko" single_major=N || fail "insmod $rbd_ko single_major=N"
  [ -w /sys/bus/rbd/add ] && [ ! -e /sys/bus/rbd/add_single_major ] ||
    fail "rbd loaded with single_major=N should offer /sys/bus/rbd/add only"
  map_image add
  mount -t ext4 "$dev" "$mnt" || fail "mounting $dev"
  mounted=1
  start_trace trace_legacy
  make_holder HOLDER_LEGACY
  umount "$mnt" || fail "umount $mnt in the host namespace"
  mounted=0
  if write_attr "$dev_id" /sys/bus/rbd/remove 2>$work/remove.err; then
    dev_id=""
    fail "the legacy remove succeeded although pid $holder still mounts $dev"
  fi
  grep -q "Device or resource busy" $work/remove.err ||
    fail "the legacy remove failed, but not with EBUSY: $(cat $work/remove.err)"
  say "legacy remove $dev_id: EBUSY"
  finish_trace
  release_and_unmap remove
fi
cleanup
say "PASS"
