#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Stops the cluster start_cluster.sh made under DIR and removes DIR. Kills
# only the processes recorded in DIR/pids, and
# removes DIR only when it carries start_cluster.sh's marker. A DIR that does
# not exist is already stopped: exit 0.
#
# usage: stop_cluster.sh DIR
set -euo pipefail

say() { echo "stop_cluster: $*" >&2; }

dir="${1:?usage: stop_cluster.sh DIR}"
[[ -d "$dir" ]] || exit 0
dir="$(cd "$dir" && pwd)"
if [[ ! -e "$dir/.mountleak-ceph-cluster" ]]; then
  say "$dir is not a cluster directory made by start_cluster.sh; leaving it alone"
  exit 1
fi

# A recorded pid is ours only while it still runs the program we started
# there; a pid reused by something else after a crash is left alone.
ours() {
  local pid="$1" name="$2" cmdline
  [[ "$pid" =~ ^[0-9]+$ ]] && ((pid != $$)) || return 1
  cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
  case "$name" in
    watch) [[ "$cmdline" == *"$dir"* ]] ;;
    *) [[ "$cmdline" == *"$dir/ceph.conf"* ]] ;;
  esac
}

pids=()
shopt -s nullglob
for f in "$dir"/pids/*.pid; do
  name="$(basename "$f" .pid)"
  pid="$(cat "$f" 2>/dev/null || true)"
  ours "$pid" "$name" && pids+=("$pid")
done

# Dead is gone or a zombie: whoever reaps the orphaned daemons may be slow.
running() { [[ -r "/proc/$1/stat" ]] && [[ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" != Z ]]; }

# SIGKILL straight away: the cluster's data is thrown away with DIR, and a
# clean OSD shutdown (reporting itself down to the mon) takes seconds.
if ((${#pids[@]})); then
  kill -KILL "${pids[@]}" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    left=()
    for pid in "${pids[@]}"; do running "$pid" && left+=("$pid"); done
    ((${#left[@]})) || break
    sleep 0.05
  done
  ((${#left[@]} == 0)) || say "still running after SIGKILL: ${left[*]}"
fi

rm -rf -- "$dir"
