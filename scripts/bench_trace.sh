#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds everything (scripts/build.sh) and runs the `mountleak trace`
# benchmarks as root, each in its own private mount namespace, each with the
# real tracer binary as a child process:
#   trace_latency     busy attribution latency (p50/p99/max) and the tracer's
#                     peak RSS on the synthetic node (200 containers x ~500
#                     mounts, 2,000 processes, leaked loop-device "rbd" mounts)
#   trace_throughput  mount/umount storm ramp: highest rate without loss,
#                     where loss begins, flat-out rates without/with tracer
#   trace_overhead    container churn and plain syscalls (getppid, write),
#                     without/with the tracer, alternating; "overhead" on a
#                     bare node as the issue asks, "overhead_node" on the
#                     synthetic node with containers that live 100 ms, 8 at a
#                     time (what the collector pays per container at scale)
#   trace_storm       60 s of user and mount namespaces made as nobody, as
#                     fast as possible, with a leak made half way: the
#                     tracer's peak RSS against its bound (256 MiB), the leak
#                     reported, SIGTERM answered (against SIGKILL's floor)
# Each prints a table and a final JSON line; this script then prints the
# headline figures and the load average around the runs (the figures mean
# little on a loaded machine: check it). Takes about 10 minutes on a
# 2-core machine, plus a minute and a half for the storm.
#
# Usage: sudo scripts/bench_trace.sh [latency|throughput|overhead|overhead_node|storm ...]
#        (default: all five; BENCH_ARGS_<NAME> adds arguments to one, e.g.
#        BENCH_ARGS_latency="--triggers 500"; see <bench> --help)
# Environment: BUILD_DIR (default build), JOBS (ninja -j), as for build.sh;
#              RESULTS_DIR (default: a new temp dir) keeps each bench's output;
#              MOUNTLEAK_BASE=BINARY runs each benchmark twice in a row, first
#              with that mountleak (e.g. one built from an earlier commit),
#              then with this build's, and prints both figures side by side.
# Exit status: 0 when every target is met, 1 when one is missed, 2 on error.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
build_dir=${BUILD_DIR:-build}
[[ $build_dir == /* ]] || build_dir="$root/$build_dir"
if [[ $EUID -ne 0 ]]; then
  echo "bench_trace.sh: run as root (BPF programs, mount namespaces, loop devices, cgroups)" >&2
  exit 2
fi
benches=("$@")
[[ ${#benches[@]} -gt 0 ]] || benches=(latency throughput overhead overhead_node storm)
for b in "${benches[@]}"; do
  case $b in latency | throughput | overhead | overhead_node | storm) ;; *)
    echo "bench_trace.sh: unknown benchmark '$b' (latency, throughput, overhead, overhead_node, storm)" >&2
    exit 2
    ;;
  esac
done

"$here/build.sh" -DMOUNTLEAK_BUILD_BENCH=ON >&2
results=${RESULTS_DIR:-$(mktemp -d /tmp/mountleak-bench-trace-XXXXXX)}
mkdir -p "$results"
echo "== $(date -u +%FT%TZ) $(uname -r), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"

status=0
for b in "${benches[@]}"; do
  args_var="BENCH_ARGS_$b"
  read -r -a extra <<<"${!args_var:-}"
  binary=trace_$b
  if [[ $b == overhead_node ]]; then
    binary=trace_overhead
    extra=(--synthetic-node --concurrency 8 --lifetime-ms 100 "${extra[@]}")
  fi
  runs=("$b:")
  [[ -z ${MOUNTLEAK_BASE:-} ]] || runs=("$b.base:--mountleak=$MOUNTLEAK_BASE" "$b:")
  for run in "${runs[@]}"; do
    out=${run%%:*}
    mountleak_arg=${run#*:}
    echo
    echo "== $binary ${mountleak_arg} ${extra[*]:-}  (load average $(cut -d' ' -f1-3 /proc/loadavg))"
    set +e
    "$build_dir/bench/$binary" ${mountleak_arg:+"$mountleak_arg"} "${extra[@]}" | tee "$results/$out.txt"
    rc=${PIPESTATUS[0]}
    set -e
    if ((rc >= 2)); then
      echo "bench_trace.sh: $binary failed (exit $rc)" >&2
      status=2
    elif ((rc == 1 && status == 0)); then
      status=1
    fi
  done
done

echo
echo "== summary (load average now $(cut -d' ' -f1-3 /proc/loadavg); outputs in $results)"
outputs=()
for b in "${benches[@]}"; do
  [[ -z ${MOUNTLEAK_BASE:-} ]] || outputs+=("$b.base")
  outputs+=("$b")
done
for out in "${outputs[@]}"; do
  json=$(grep '^{"bench"' "$results/$out.txt" | tail -1 || true)
  [[ -n $json ]] || continue
  [[ -z ${MOUNTLEAK_BASE:-} ]] || printf '%-5s ' "$([[ $out == *.base ]] && echo base || echo this)"
  python3 - "${out%.base}" "$json" <<'EOF'
import json, sys
name, j = sys.argv[1], json.loads(sys.argv[2])
b = j["bench"]
if b == "trace_storm":
    print("storm      peak RSS %.1f MiB (bound %d); leak %s; SIGTERM %.0f ms (SIGKILL %.0f ms); %s degraded, %s lost, load %s" % (
        j["peak_rss_mib"], j["max_rss_mib"], "%.0f ms after the unmount" % j["leak_after_ms"] if j["leak_reported"] else "NOT reported",
        j["sigterm_ms"], j["sigkill_ms"], j["events"].get("degraded", 0), j["events"].get("lost", 0), j["load"][0]))
    sys.exit(0)
load = "load %s..%s" % (j["load_average_before"][0], j["load_average_after"][0])
if b == "trace_latency":
    a = j["latency"]["all"]
    print("latency    p50 %.2f ms  p99 %.2f ms  max %.2f ms (tracer's latency_us; reader saw p99 %.2f ms);"
          " tracer VmHWM %.1f MiB; %s" % (a["tracer"]["p50_ms"], a["tracer"]["p99_ms"], a["tracer"]["max_ms"],
                                         a["observed"]["p99_ms"], j["tracer_vmhwm_mib"], load))
elif b == "trace_throughput":
    f = j["flat_out"]
    print("throughput highest without loss %.0f events/s; loss begins %s; flat out bind %.0f -> %.0f, flip %.0f -> %.0f"
          " events/s (untraced -> traced); %s" % (
              j["max_zero_loss_events_per_s"],
              "never" if j["loss_begins_events_per_s"] is None else "%.0f events/s" % j["loss_begins_events_per_s"],
              f["bind"]["untraced_events_per_s"], f["bind"]["traced_events_per_s"],
              f["flip"]["untraced_events_per_s"], f["flip"]["traced_events_per_s"], load))
elif b == "trace_overhead":
    print("%-10s churn %.3f wall, %.3f CPU, %.3f CPU incl. tracer; getppid %.3f, write %.3f (CPU); %s" % (
        name, j["churn_ratio_wall"], j["churn_ratio_cpu"], j["churn_ratio_cpu_with_tracer"], j["getppid_ratio_cpu"],
        j["write_ratio_cpu"], load))
EOF
done
exit $status
