#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Starts a throwaway single-node Ceph cluster under DIR: one ceph-mon and one
# ceph-osd (memstore: no disk image, nothing to format), no mgr, cephx, every
# socket on 127.0.0.1 only. Creates pool `kube` (application rbd) and an
# image, and returns once `rbd create` has really written to the pool (which
# needs the OSD up and the pool's placement group active).
#
#   DIR/ceph.conf     configuration: mon host, keyring, logs, all under DIR
#   DIR/keyring       mon., client.admin and osd.0 keys
#   DIR/env           shell-sourceable: CEPH_CONF CEPH_KEYRING CEPH_MON_V1
#                     CEPH_MON_V2 CEPH_POOL CEPH_IMAGE CEPH_ADMIN_KEY
#   DIR/pids/*.pid    every process we started (stop_cluster.sh kills these)
#   DIR/log/          daemon logs
# The env file is also printed on stdout; progress and timings go to stderr.
#
# usage: start_cluster.sh DIR [--image NAME] [--size MB] [--owner-pid PID]
#   --owner-pid PID   stop the cluster and remove DIR when PID exits (a test
#                     that crashes before its teardown still leaves nothing)
#
# Run again on a DIR whose cluster is still up, it prints the env and does
# nothing else; on a DIR left by a dead cluster, it cleans up and starts anew.
# Needs root and the Debian packages ceph-mon ceph-osd ceph-common.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
say() { echo "start_cluster: $*" >&2; }
die() {
  say "$*"
  exit 1
}

dir=""
image="img0"
size_mb=64
owner_pid=""
while (($#)); do
  case "$1" in
    --image) image="${2:?--image needs a name}"; shift 2 ;;
    --size) size_mb="${2:?--size needs megabytes}"; shift 2 ;;
    --owner-pid) owner_pid="${2:?--owner-pid needs a pid}"; shift 2 ;;
    -*) die "unknown option $1" ;;
    *) [[ -z "$dir" ]] || die "one DIR only"; dir="$1"; shift ;;
  esac
done
[[ -n "$dir" ]] || die "usage: start_cluster.sh DIR [--image NAME] [--size MB] [--owner-pid PID]"
[[ $EUID -eq 0 ]] || die "needs root (ceph daemons here run as root)"
for tool in ceph-mon ceph-osd ceph monmaptool rbd /usr/bin/python3; do
  command -v "$tool" >/dev/null || die "$tool not found (apt-get install ceph-mon ceph-osd ceph-common)"
done

marker=".mountleak-ceph-cluster"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"

alive() { [[ -s "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

if [[ -e "$dir/$marker" ]]; then
  if alive "$dir/pids/mon.a.pid" && alive "$dir/pids/osd.0.pid" && [[ -s "$dir/env" ]] &&
    timeout 10 rbd -c "$dir/ceph.conf" --rados-osd-op-timeout 5 info \
      "$(. "$dir/env" && echo "$CEPH_POOL/$CEPH_IMAGE")" >/dev/null 2>&1; then
    say "cluster in $dir is already up"
    cat "$dir/env"
    exit 0
  fi
  say "cleaning up what a previous cluster left in $dir"
  "$here/stop_cluster.sh" "$dir"
  mkdir -p "$dir"
elif [[ -n "$(ls -A "$dir")" ]]; then
  die "$dir is not empty and not a cluster directory; refusing to use it"
fi

# From here on a failure takes down whatever we started.
started=0
cleanup_on_failure() {
  if ((started == 0)); then
    say "failed; the last daemon log lines follow, then the cluster is stopped"
    tail -n 20 "$dir"/log/*.log >&2 2>/dev/null || true
    "$here/stop_cluster.sh" "$dir" || true
  fi
}
trap cleanup_on_failure EXIT

t0=$EPOCHREALTIME
elapsed() {
  local us=$((${EPOCHREALTIME/./} - ${t0/./}))
  printf '%d.%02d' $((us / 1000000)) $((us % 1000000 / 10000))
}

touch "$dir/$marker"
mkdir -p "$dir/pids" "$dir/log" "$dir/run" "$dir/mon.a" "$dir/osd.0" "$dir/crash"

# Two free loopback ports (msgr v2 and v1: the kernel client speaks v1 unless
# mapped with ms_mode=, so the mon offers both) and the cephx keys, in one
# python run: every ceph tool started costs ~0.3 s, more on a loaded machine.
# A cephx secret is base64 of (type 1 = AES, created sec, nsec, length 16, key).
# One keyring for everyone: the mon imports all of it into its auth database
# at mkfs, so osd.0 and client.admin exist before the mon ever starts.
keyring="$dir/keyring"
ports="$(
  umask 077
  /usr/bin/python3 - "$keyring" <<'PY'
import base64, os, socket, struct, sys, time
socks = [socket.socket() for _ in range(2)]
for s in socks:
    s.bind(("127.0.0.1", 0))
def key():
    return base64.b64encode(struct.pack("<HIIH", 1, int(time.time()), 0, 16) + os.urandom(16)).decode()
entities = {
    "mon.": {"mon": "allow *"},
    "client.admin": {"mon": "allow *", "osd": "allow *", "mgr": "allow *", "mds": "allow *"},
    "osd.0": {"mon": "allow profile osd", "osd": "allow *", "mgr": "allow profile osd"},
}
with open(sys.argv[1], "w") as f:
    for name, caps in entities.items():
        f.write(f"[{name}]\n\tkey = {key()}\n")
        for service, cap in caps.items():
            f.write(f'\tcaps {service} = "{cap}"\n')
print(*(s.getsockname()[1] for s in socks))
PY
)"
[[ "$ports" =~ ^[0-9]+\ [0-9]+$ && -s "$keyring" ]] || die "could not pick ports or write $keyring"
read -r port_v2 port_v1 <<<"$ports"
fsid="$(cat /proc/sys/kernel/random/uuid)"
osd_uuid="$(cat /proc/sys/kernel/random/uuid)"
mon_v2="127.0.0.1:$port_v2"
mon_v1="127.0.0.1:$port_v1"

cat >"$dir/ceph.conf" <<EOF
# Throwaway test cluster made by mountleak's scripts/ceph/start_cluster.sh.
[global]
fsid = $fsid
mon host = [v2:$mon_v2,v1:$mon_v1]
mon initial members = a
# Bind nothing but loopback: public and cluster traffic, both messengers.
public addr = 127.0.0.1
cluster addr = 127.0.0.1
public network = 127.0.0.1/32
cluster network = 127.0.0.1/32
ms bind ipv6 = false
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
keyring = $keyring
run dir = $dir/run
admin socket = $dir/run/\$cluster-\$name.asok
log file = $dir/log/\$name.log
log to stderr = false
err to stderr = false
crash dir = $dir/crash
# One OSD: one replica, no health noise about it, placement ignores hosts.
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon warn on insecure global id reclaim = false
mon warn on insecure global id reclaim allowed = false
mon data avail warn = 1
osd crush chooseleaf type = 0
# A map change normally waits ~1 s for more to batch with; nothing else
# happens here, so commit at once.
paxos propose interval = 0.05
paxos min wait = 0.01
# A client waiting for a newer osdmap asks again only on this tick (5 s by
# default): the first \`rbd create\` would sleep through the OSD's boot.
objecter tick interval = 0.5
# Fail fast rather than hang when something is down.
client mount timeout = 10
rados mon op timeout = 10
rados osd op timeout = 10

[mon]
mon data = $dir/mon.\$id
mon cluster log file = $dir/log/cluster.log

[osd]
osd data = $dir/osd.\$id
osd objectstore = memstore
memstore device bytes = 1073741824
osd max object name len = 256
osd max object namespace len = 64
# Few threads: this runs on small CI machines next to everything else.
osd op num shards = 1
osd op num threads per shard = 2
EOF

# An explicit monmap: built from `mon host` alone, the mon would be nameless
# and on the default ports.
monmaptool --create --fsid "$fsid" --addv a "[v2:$mon_v2,v1:$mon_v1]" "$dir/monmap" >/dev/null
ceph-mon -c "$dir/ceph.conf" -i a --mkfs --monmap "$dir/monmap" --keyring "$keyring" >"$dir/log/mon.a.mkfs" 2>&1 ||
  die "ceph-mon --mkfs failed: $(tail -n 5 "$dir/log/mon.a.mkfs")"

# Daemons run in the foreground of their own session, so the pid we record
# is the daemon, and no terminal or caller's process group signal reaches it;
# their stdio goes to the log directory so the caller's pipes close.
spawn() {
  local name="$1"
  shift
  setsid "$@" </dev/null >"$dir/log/$name.out" 2>&1 &
  echo $! >"$dir/pids/$name.pid"
}

spawn mon.a ceph-mon -c "$dir/ceph.conf" -i a -f
# The OSD's store needs no mon; make it while the mon starts.
ceph-osd -c "$dir/ceph.conf" -i 0 --mkfs --no-mon-config --osd-uuid "$osd_uuid" \
  >"$dir/log/osd.0.mkfs" 2>&1 &
mkfs_pid=$!

# The OSD's id must exist in the osdmap before it boots. The pool can be
# created at once: its PGs are made as soon as the OSD comes up. One CLI
# process for all three commands (each python start costs ~0.5 s).
timeout 30 ceph -c "$dir/ceph.conf" --connect-timeout 15 >"$dir/log/setup.out" 2>&1 <<EOF ||
osd new $osd_uuid 0
osd pool create kube 8 8 replicated
osd pool application enable kube rbd
EOF
  die "registering osd.0 and pool kube failed: $(tail -n 5 "$dir/log/setup.out")"
say "mon up, osd and pool registered after $(elapsed) s"

wait "$mkfs_pid" || die "ceph-osd --mkfs failed: $(tail -n 5 "$dir/log/osd.0.mkfs")"
spawn osd.0 ceph-osd -c "$dir/ceph.conf" -i 0 -f

# `rbd create` waits until the pool's PG is active, so its success is the
# proof that the OSD is up and the pool usable. Retried only because a first
# attempt can time out on a loaded machine.
deadline=$((SECONDS + 60))
until timeout 20 rbd -c "$dir/ceph.conf" --rados-osd-op-timeout 15 create --size "$size_mb" \
  --image-feature layering,exclusive-lock "kube/$image" 2>"$dir/log/rbd-create.err"; do
  grep -q "File exists" "$dir/log/rbd-create.err" && break
  alive "$dir/pids/osd.0.pid" || die "ceph-osd exited: $(tail -n 5 "$dir/log/osd.0.log" 2>/dev/null)"
  ((SECONDS < deadline)) || die "rbd create kube/$image failed for 60 s: $(cat "$dir/log/rbd-create.err")"
  sleep 0.5
done

admin_key="$(awk '/^\[/ { in_admin = ($0 == "[client.admin]") }
  in_admin && $1 == "key" { print $3 }' "$keyring")"
cat >"$dir/env" <<EOF
CEPH_CONF=$dir/ceph.conf
CEPH_KEYRING=$keyring
CEPH_MON_V1=$mon_v1
CEPH_MON_V2=$mon_v2
CEPH_POOL=kube
CEPH_IMAGE=$image
CEPH_ADMIN_KEY=$admin_key
EOF

if [[ -n "$owner_pid" ]]; then
  # Watches the owner; stop_cluster.sh kills this watcher too.
  setsid bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; exec "$2" "$3"' \
    watch "$owner_pid" "$here/stop_cluster.sh" "$dir" </dev/null >/dev/null 2>&1 &
  echo $! >"$dir/pids/watch.pid"
fi

started=1
say "cluster up in $(elapsed) s: mon $mon_v2 (v2) $mon_v1 (v1), pool kube, image $image"
cat "$dir/env"
