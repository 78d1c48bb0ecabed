#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The vm lane's real-rbd test: a throwaway Ceph cluster on this host's
# 127.0.0.1, Debian's kernel under QEMU mapping an image through
# /sys/bus/rbd/add_single_major, a private copy of its mount in another
# mount namespace, and `remove_single_major` failing with EBUSY
# (scripts/ceph/run_guest_scenario.sh --trace does all that). The guest runs
# `mountleak trace -o json --all-events` through the failing unmap and
# `mountleak scan --device` after it; this host judges what they printed:
#   - trace's ready event: the kernel tier serves rbd_remove_busy
#   - a raw busy event from the kernel tier, source rbd_remove
#   - a busy finding, source rbd_remove, for the mapped device, naming the
#     holder (its pid and mount namespace) as a leak
#   - the same three from a second trace forced to the tracepoint tier,
#     through a second failing remove
#   - `trace --watch-modules` started before rbd was loaded: its hook on
#     the tracepoint at ready, a hook_moved event to the kernel tier when
#     rbd came, and the first failing remove seen by the kernel tier alone,
#     one busy finding
#   - the same three from a third trace on the kernel tier, after rbd is
#     reloaded with single_major=N, through the legacy /sys/bus/rbd/remove
#     (whose store function's name vmlinux has too)
#   - each kernel-tier trace's ready event: rbd's programs are bound in rbd's
#     own BTF (attached_in), not vmlinux's; where the kernel binds fexit by
#     symbol name (before 6.3), remove_store's fexit is refused, and the hook
#     takes kprobes on rbd's functions ("rbd:remove_store") instead
#   - probe, run before rbd is loaded: the rbd hook falls back, because the
#     rbd module is not loaded; run after: the kernel tier, saying why where
#     remove_store cannot be used
#   - scan --device: the device leaked, held by that pid in that namespace
#   - release --device --yes: that namespace's copy unmounted, no leak left;
#     the guest then checks that remove_single_major succeeds, holder alive
# Fails on any mismatch, a missing result or a timeout. run_guest_scenario.sh
# stops the cluster and QEMU on every exit.
#
# usage: rbd_busy_test.sh --work DIR [--kernel 6.1|6.12] --mountleak PATH [--timeout S]
#   --kernel is fetch_kernel.sh's (default 6.1). DIR/vm-cache holds the
#   kernel; a package the vm lane already downloaded for the same kernel
#   (DIR/../vm-cache/KERNEL) is reused rather than fetched again.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
say() { echo "vm_rbd: $*"; }
die() {
  say "$*"
  exit 1
}

work="" kernel=6.1 mountleak="" timeout_s=240
while (($#)); do
  case "$1" in
    --work) work="$2"; shift 2 ;;
    --kernel) kernel="$2"; shift 2 ;;
    --mountleak) mountleak="$2"; shift 2 ;;
    --timeout) timeout_s="$2"; shift 2 ;;
    *) die "unknown argument $1" ;;
  esac
done
[[ -n "$work" && -x "$mountleak" ]] || die "usage: rbd_busy_test.sh --work DIR [--kernel 6.1|6.12] --mountleak PATH [--timeout S]"
command -v jq >/dev/null || die "jq missing (install jq)"
mkdir -p "$work"
work="$(cd "$work" && pwd)"

# Its own cache: fetch_kernel.sh keys a cache by the modules it holds, and
# this guest needs other modules than the lane's (e1000), so sharing one
# would re-extract the kernel on every alternation. The .deb is shared.
cache="$work/vm-cache"
mkdir -p "$cache"
for deb in "$work/../vm-cache/$kernel"/linux-image-*.deb; do
  [[ -f "$deb" && ! -e "$cache/${deb##*/}" ]] || continue
  ln "$deb" "$cache/" 2>/dev/null || cp "$deb" "$cache/"
done

start=$SECONDS
status=0 child=""
# A signal here is passed on: the scenario's own traps stop QEMU and the
# cluster (in the background, as bash runs no trap while a foreground child runs).
trap '[[ -n "$child" ]] && kill -TERM "$child" 2>/dev/null && wait "$child"; exit 143' TERM INT HUP
MOUNTLEAK_VM_CACHE="$cache" "$here/../../scripts/ceph/run_guest_scenario.sh" \
  --work "$work" --kernel "$kernel" --mountleak "$mountleak" --trace --timeout "$timeout_s" &
child=$!
wait "$child" || status=$?
child=""
say "guest scenario exited $status after $((SECONDS - start)) s"

results="$work/rbd.rbd.out"
[[ -s "$results" ]] || die "FAIL: the guest wrote no results ($results)"

section() {
  awk -v name="$1" '
    $0 == "@@GUEST_RBD BEGIN " name { inside = 1; next }
    inside && $0 == "@@GUEST_RBD END " name { exit }
    inside { print }' "$results"
}
# Only JSON lines: anything else is reported, not parsed.
json_lines() { jq -c -R 'fromjson? // empty'; }
# The JSON lines of section $1 into file $2; a failure, said with $3, when
# there are none.
json_section() {
  section "$1" | json_lines >"$2"
  [[ -s "$2" ]] && return 0
  say "FAIL: $3 printed no JSON in the guest"
  failed=1
  return 1
}

failed=0
check() {  # description jq-program file [jq args...]
  local what="$1" program="$2" file="$3"
  shift 3
  if jq -e -s "$@" "$program" "$file" >/dev/null 2>&1; then
    say "ok: $what"
  else
    say "FAIL: $what"
    failed=1
  fi
}

# Sets pid, mntns, dev and id from the guest's line $1 (HOLDER, HOLDER_LEGACY).
read_holder() {
  local line
  line="$(sed -n "s/^@@GUEST_RBD $1 //p" "$results" | head -n1)"
  [[ -n "$line" ]] || die "FAIL: the guest never made the leaking copy (no $1 line; see $work/rbd.console.log)"
  declare -A holder=()
  for kv in $line; do holder[${kv%%=*}]="${kv#*=}"; done
  pid="${holder[pid]}" mntns="${holder[mntns]}" dev="${holder[dev]}" id="${holder[id]}"
  say "holder ($1): pid $pid in mount namespace $mntns keeps $dev (rbd id $id) mounted"
}
read_holder HOLDER

# One tracer's output (section $1), which should have served the rbd hook
# from tier $2; $3 is true for the legacy remove.
check_trace() {
  local name="$1" tier="$2" legacy="${3:-false}" trace="$work/$1.jsonl"
  if ! json_section "$name" "$trace" "$name: mountleak trace"; then
    say "its stderr:"
    section "$name.err" | tail -n 20
    return
  fi
  jq -r --arg name "$name" 'select(.event == "ready") |
    "vm_rbd: \($name): ready: rbd_remove_busy -> \(.tier.rbd_remove_busy) " +
    "\([.hooks[] | select(.hook == "rbd_remove_busy") | .programs | join(",")] | join(""))" +
    (if (.refused | length) > 0 then "; refused: \(.refused | join("; "))" else "" end)' "$trace"
  check "$name: the ready event puts rbd_remove_busy on the $tier tier" \
    'any(.[]; .event == "ready" and .tier.rbd_remove_busy == $tier)' "$trace" --arg tier "$tier"
  # The buffer is what was written: "0\n" from echo, "0 force", ...
  # A legacy remove on a kernel whose fexit cannot reach rbd's remove_store
  # is seen at write(2) instead (ml_exit_write_legacy, a tracepoint).
  check "$name: a raw busy event, source rbd_remove, buffer \"$id\", from the program serving it" \
    '([.[] | select(.event == "ready") | .hooks[] | select(.hook == "rbd_remove_busy") | .programs[]]) as $programs
     | any(.[]; .event == "busy_raw" and .source == "rbd_remove"
                and (.path | split(" ")[0] | rtrimstr("\n")) == $id
                and .tier == (if $legacy and ($programs | index("ml_exit_write_legacy")) then "tracepoint"
                              else $tier end))' \
    "$trace" --arg id "$id" --arg tier "$tier" --argjson legacy "$legacy"
  check "$name: a busy finding (source rbd_remove, $dev) naming pid $pid in mount namespace $mntns as the leak" \
    'any(.[]; .event == "busy" and .source == "rbd_remove" and .errno == "EBUSY"
              and .device.path == $dev
              and any(.holders[]; .role == "leak" and .mntns == $ns and (.pids | index($pid) != null)))' \
    "$trace" --arg dev "$dev" --argjson ns "$mntns" --argjson pid "$pid"
  jq -c 'select(.event == "busy")' "$trace" | cut -c1-400 | sed "s/^/vm_rbd: $name: /"
  [[ "$tier" == kernel ]] || return 0
  jq -r --arg name "$name" 'select(.event == "ready") | "vm_rbd: \($name): attached_in: \(.attached_in)"' "$trace"
  # fexit's remove_store is loaded only where the kernel binds it by BTF
  # (6.3+). Before, the hook takes the kprobes ("rbd:remove_store" names
  # rbd's own), saying why; that they reach rbd's and not vmlinux's
  # function the legacy remove's busy event shows (trace_legacy).
  check "$name: rbd's fexit programs are bound in rbd's BTF, or its kprobes are used where fexit cannot reach remove_store" \
    'any(.[]; .event == "ready" and
              ((.attached_in.ml_fexit_remove_single_major_store == "rbd" and .attached_in.ml_fexit_remove_store == "rbd")
               or any(.hooks[]; .hook == "rbd_remove_busy" and (.programs | index("ml_kretprobe_remove_store"))
                                and (.reason | contains("fixed in 6.3"))))) ' "$trace"
}
check_trace trace kernel
check_trace trace_tracepoint tracepoint

# `trace --watch-modules`, started before rbd was loaded: ready with the
# hook on its tracepoint, moved to the kernel tier when rbd came, and the
# failing remove then seen by the kernel tier alone, one finding.
late="$work/trace_late.jsonl"
if json_section trace_late "$late" "mountleak trace --watch-modules (started before rbd)"; then
  jq -c 'select(.event == "hook_moved")' "$late" | cut -c1-400 | sed 's/^/vm_rbd: trace_late: /'
  check "trace_late: ready with rbd_remove_busy on the tracepoint tier, watching rbd" \
    'any(.[]; .event == "ready" and .tier.rbd_remove_busy == "tracepoint" and (.module_watch | index("rbd")))' "$late"
  check "trace_late: rbd's loading moved rbd_remove_busy to the kernel tier" \
    'any(.[]; .event == "hook_moved" and .hook == "rbd_remove_busy" and .module_state == "loaded"
              and .to.tier == "kernel" and (has("error") | not))' "$late"
  check "trace_late: the failing remove_single_major of \"$id\" seen by the kernel tier only" \
    '[.[] | select(.event == "busy_raw" and .source == "rbd_remove")] as $raw
     | ($raw | length) > 0 and all($raw[]; .tier == "kernel" and (.path | split(" ")[0] | rtrimstr("\n")) == $id)' \
    "$late" --arg id "$id"
  check "trace_late: one busy finding for $dev naming pid $pid in mount namespace $mntns" \
    '[.[] | select(.event == "busy" and .source == "rbd_remove")] as $busy
     | ($busy | length) == 1 and $busy[0].device.path == $dev
       and any($busy[0].holders[]; .role == "leak" and .mntns == $ns and (.pids | index($pid) != null))' \
    "$late" --arg dev "$dev" --argjson ns "$mntns" --argjson pid "$pid"
else
  section trace_late.err | tail -n 20
fi

# Before rbd was loaded, probe must put its hook on the tracepoint tier and
# say why (fexit itself works on this kernel).
probe="$work/probe_without_rbd.json"
if json_section probe_without_rbd "$probe" "mountleak probe (before rbd was loaded)"; then
  jq -r '.hooks[] | select(.hook == "rbd_remove_busy") | "vm_rbd: probe without rbd: \(.tier): \(.reason)"' "$probe"
  check "probe without rbd loaded: rbd_remove_busy falls back because the rbd module is not loaded" \
    'any(.[].hooks[]; .hook == "rbd_remove_busy" and .tier == "tracepoint"
                      and (.reason | contains("the rbd module is not loaded")))' "$probe"
fi

probe="$work/probe_with_rbd.json"
if json_section probe_with_rbd "$probe" "mountleak probe (with rbd loaded)"; then
  jq -r '.hooks[] | select(.hook == "rbd_remove_busy") | "vm_rbd: probe with rbd: \(.tier): \(.programs | join(",")): \(.reason)"' "$probe"
  check "probe with rbd loaded: rbd_remove_busy on the kernel tier, remove_store used only where it binds to rbd's" \
    'any(.[].hooks[]; .hook == "rbd_remove_busy" and .tier == "kernel"
                      and ((.programs | index("ml_fexit_remove_store"))
                           or ((.programs | index("ml_kretprobe_remove_store")) and (.reason | contains("fixed in 6.3")))))' "$probe"
fi

scan="$work/scan.json"
if json_section scan "$scan" "mountleak scan --device"; then
  check "scan --device $dev: leaked, pid $pid in mount namespace $mntns holds it as the leak" \
    'any(.[] | .. | objects; .leaked? == true) and
     any(.[] | .. | objects; .role? == "leak" and .mntns? == $ns and ((.pids? // []) | index($pid) != null))' \
    "$scan" --argjson ns "$mntns" --argjson pid "$pid"
fi

release="$work/release.json"
if json_section release "$release" "mountleak release --yes"; then
  jq -c 'select(.event == "release")' "$release" | cut -c1-300 | sed 's/^/vm_rbd: release: /'
  check "release --device $dev --yes: unmounted the leaked copy in mount namespace $mntns, none left" \
    'any(.[]; .event == "release" and .action == "done" and .mntns == $ns) and
     any(.[]; .event == "release_summary" and (.still_leaked | length) == 0)' \
    "$release" --argjson ns "$mntns"
fi

# Step 9, the legacy interface, comes last in the guest.
read_holder HOLDER_LEGACY
check_trace trace_legacy kernel true

((status == 0)) || {
  say "FAIL: the guest scenario itself failed (exit $status); console: $work/rbd.console.log"
  grep -E '^guest_rbd: ' "$work/rbd.console.log" 2>/dev/null | tail -n 15 || true
  failed=1
}
((failed == 0)) || die "FAIL after $((SECONDS - start)) s (logs: $work)"
say "PASS in $((SECONDS - start)) s"
