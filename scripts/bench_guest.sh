#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# What `mountleak trace` costs the node on each tier, measured inside the vm
# lane's guest (Debian's own kernel under QEMU, where fentry/fexit work): the
# trace_overhead benchmark (bench/trace_overhead.cpp) with the phases
#   none         no tracer
#   auto         the tracer on its own choice of tiers (the kernel tier
#                wherever the kernel accepts it)
#   tracepoint   the tracer forced to the tracepoint tier
#                (--no-feature fentry,kprobe)
#   setns-event  no tracer, only the tracefs event syscalls/sys_enter_setns
#                enabled: a control for what any one syscall tracepoint costs
#                the calls it does not trace
# in rotated order each round, and prints (and writes to the results file)
# each one's ratio to "none" for container churn and for the plain syscall
# loops. Under TCG the guest's clock is emulated time, not real time: only
# the ratios mean anything, and they are not the same as on real hardware.
#
# Steps: build mountleak and trace_overhead (unless --no-build); prepare,
# boot and judge the vm lane's guest with tests/vm/run_vm_tests.sh (the
# kernel cached in BUILD/vm-cache/KERNEL, shared with the vm lane;
# scripts/vm/guest_init.sh as /init, running its "bench" scenario); then
# read the benchmark's JSON line.
#
# usage: sudo scripts/bench_guest.sh [options] [-- more trace_overhead arguments]
#   --build-dir DIR     default $BUILD_DIR or build
#   --no-build          use the binaries as they are
#   --mountleak PATH    default BUILD/mountleak
#   --bench PATH        default BUILD/bench/trace_overhead
#   --kernel 6.1|6.12   which of Debian 12's kernels (fetch_kernel.sh), default 6.1
#   --work DIR          default BUILD/vm-bench (initramfs, logs, results)
#   --out FILE          the results table, default WORK/results.txt
#   --rounds N --containers N --syscalls N --settle-ms N   benchmark sizes
#   --timeout S         the guest's limit, default 260 (twice the slowest guest measured)
# Environment: MOUNTLEAK_VM_ACCEL=tcg|kvm (default tcg), MOUNTLEAK_VM_CACHE.
# Exit status: 0 when the benchmark ran and produced ratios; 1 otherwise.
# No performance target is judged.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
say() { echo "bench_guest: $*"; }
die() {
  echo "bench_guest: $*" >&2
  exit 1
}

build_dir="${BUILD_DIR:-build}"
build=1 kernel=6.1 mountleak="" bench="" work="" out="" timeout_s=260
# Sized for about 2 minutes of TCG on a busy 2-core machine (see
# bench/README.md, "In the vm lane's guest").
rounds=6 containers=80 syscalls=200000 settle_ms=300
extra=()
while (($#)); do
  case "$1" in
    --build-dir) build_dir="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    --mountleak) mountleak="$2"; shift 2 ;;
    --bench) bench="$2"; shift 2 ;;
    --kernel) kernel="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --containers) containers="$2"; shift 2 ;;
    --syscalls) syscalls="$2"; shift 2 ;;
    --settle-ms) settle_ms="$2"; shift 2 ;;
    --timeout) timeout_s="$2"; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    *) die "unknown argument $1 (see the usage at the top of $0)" ;;
  esac
done
[[ $EUID -eq 0 ]] || die "run as root (QEMU's work dir in the build tree, apt-get for the kernel)"
[[ "$build_dir" == /* ]] || build_dir="$root/$build_dir"
mountleak="${mountleak:-$build_dir/mountleak}"
bench="${bench:-$build_dir/bench/trace_overhead}"
work="${work:-$build_dir/vm-bench}"
out="${out:-$work/results.txt}"
export MOUNTLEAK_VM_CACHE="${MOUNTLEAK_VM_CACHE:-$build_dir/vm-cache/$kernel}"
for tool in qemu-system-x86_64 jq python3; do
  command -v "$tool" >/dev/null || die "$tool missing (scripts/setup.sh installs it)"
done

start=$SECONDS
if ((build)); then
  cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" >/dev/null
  ninja -C "$build_dir" ${JOBS:+-j"$JOBS"} mountleak trace_overhead
fi
[[ -x "$mountleak" && -x "$bench" ]] || die "no $mountleak or $bench (build them, or drop --no-build)"

mkdir -p "$work"
bench_args="--tiers --ftrace-event setns-event=syscalls/sys_enter_setns --no-target --warmup-phases 1 --chunk-calls 1000"
bench_args+=" --rounds $rounds --containers $containers --syscalls $syscalls --settle-ms $settle_ms"
bench_args+=" --mountleak $mountleak ${extra[*]:-}"
# TCG unless asked: KVM hangs on this project's CI machine (tests/vm).
accel="${MOUNTLEAK_VM_ACCEL:-tcg}"
[[ "$accel" == tcg || "$accel" == kvm ]] || die "MOUNTLEAK_VM_ACCEL must be tcg or kvm, not $accel"
runner="$root/tests/vm/run_vm_tests.sh"
MOUNTLEAK_VM_ACCEL="$accel" "$runner" prepare --work "$work" --kernel "$kernel" --mountleak "$mountleak" \
  --file "$bench" --env "MLVM_BENCH=$bench" --env "MLVM_BENCH_ARGS=$bench_args"
# The benchmark is killed at its own limit, 25 s before the guest's: those
# are for the guest's boot (about 10 s of TCG) and its report.
"$runner" boot --work "$work" --log bench --timeout "$timeout_s" \
  --limit "bench=$((timeout_s - 25))" bench || die "the guest did not boot"
"$runner" judge bench --work "$work" --log bench || die "the benchmark failed in the guest"

json="$(grep '^{"bench":"trace_overhead"' "$work/bench.bench.out" | tail -n1 || true)"
[[ -n "$json" ]] || die "the benchmark printed no summary line ($work/bench.bench.out)"
echo "$json" >"$work/results.json"
read -r _ guest_s _ <"$work/bench.status"
python3 - "$work/results.json" "$accel" "$guest_s" "$(cat "$MOUNTLEAK_VM_CACHE/package" | cut -d' ' -f1-2)" \
  >"$out.tmp" <<'EOF' || die "the benchmark's summary holds no ratios ($work/results.json)"
import json, sys
path, accel, guest_s, package = sys.argv[1:5]
j = json.load(open(path))
configs = j.get("configs") or []
# The robust figures first: under TCG on a shared host the vCPUs are taken
# away at random, which the fastest tenth of the containers and the fastest
# chunk of calls shrug off.
rows = ["churn (p10)", "churn (wall)", "churn (CPU)", "churn+tracer CPU",
        "getppid (fastest)", "getppid (CPU)", "write (fastest)", "write (CPU)"]
def has_ratios(c):
    return all(r in c["figures"] and c["figures"][r]["median_paired_ratio"] > 0 for r in rows)
if not configs or not all(has_ratios(c) for c in configs):
    sys.exit(1)
emulated = accel == "tcg"
print("mountleak trace overhead in the vm lane's guest: %s under QEMU %s, %d vCPUs" %
      (package, accel, j["cpus"]))
if emulated:
    print("EMULATED: the guest's clock under TCG is not real time. Only ratios are shown, and"
          " they are not what real hardware would show.")
print("%d rounds (phases rotated each round); churn: %d containers x %d bind mounts per phase;"
      " %d calls per syscall loop; guest ran %s s" %
      (j["rounds"], j["containers"], j["binds"], j["syscalls"], guest_s))
print()
print("ratio to no tracer: median of the rounds' paired ratios [lowest..highest round]")
width = max(22, *(len(c["label"]) + 2 for c in configs))
print("%-18s" % "workload" + "".join("%*s" % (width, c["label"]) for c in configs))
for r in rows:
    cells = []
    for c in configs:
        f = c["figures"][r]
        ratios = [on / off for off, on in zip(f["off"], f["on"]) if off > 0]
        cells.append("%.3f [%.2f..%.2f]" % (f["median_paired_ratio"], min(ratios), max(ratios)))
    print("%-18s" % r + "".join("%*s" % (width, cell) for cell in cells))
print()
for c in configs:
    if c["ftrace_event"]:
        what = "no tracer; tracefs event %s enabled" % c["ftrace_event"]
    else:
        groups = {}
        for hook, tier in sorted((c.get("tiers") or {}).items()):
            groups.setdefault(tier or "NONE", []).append(hook)
        what = "tracer %s; %s" % ("'" + " ".join(c["tracer_args"]) + "'" if c["tracer_args"] else "(own choice)",
                                  "; ".join("%s: %s" % (t, ", ".join(h)) for t, h in groups.items()))
    print("%s: %s" % (c["label"], what))
EOF
mv "$out.tmp" "$out"
echo
cat "$out"
say "results in $out (JSON: $work/results.json); took $((SECONDS - start)) s"
