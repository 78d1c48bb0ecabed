#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The vm lane: mountleak's privileged scenarios on Debian's own kernel,
# booted under QEMU. Two modes:
#
#   run_vm_tests.sh prepare --work DIR --mountleak PATH --privileged-tests PATH
#                           [--file PATH]...
#     fetches the kernel (cached in DIR/../vm-cache, or $MOUNTLEAK_VM_CACHE),
#     builds DIR/initramfs.cpio.gz, and decides TCG or KVM (DIR/accel).
#
#   run_vm_tests.sh run SCENARIO --work DIR [--filter GTEST_FILTER] [--timeout S]
#     boots the guest for one scenario and judges it from the guest's results:
#       probe                  `mountleak probe -o json`: fentry, fexit and
#                              kprobe available, a tier for every hook, the
#                              kernel tier chosen for at least one
#       privileged_kernel      privileged_tests as they are
#       privileged_tracepoint  the same with every `mountleak trace` forced to
#                              the tracepoint tier (--no-feature fentry,kprobe)
#     Fails on a failing test, a failed check, a missing marker (guest died)
#     or the timeout (guest hung), printing the relevant part of the logs.
#     Logs: DIR/<scenario>.console.log (serial console, streamed output and
#     kernel messages) and DIR/<scenario>.results.log (what was judged).
#
# Environment: MOUNTLEAK_VM_ACCEL=auto|tcg|kvm (auto: KVM only where a quick
# boot under it works, else TCG), MOUNTLEAK_VM_CACHE (kernel cache dir).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
scripts="$here/../../scripts/vm"
kernel_cmdline="console=ttyS0 panic=-1 quiet"
# Debian 6.1's CONFIG_LSM with bpf kept last, as the LSM tier needs; named
# explicitly so a config change cannot silently drop it.
kernel_cmdline+=" lsm=landlock,lockdown,yama,loadpin,safesetid,integrity,apparmor,bpf"

say() { echo "vm: $*"; }
die() {
  echo "vm: $*" >&2
  exit 1
}

mode="${1:?usage: run_vm_tests.sh prepare|run ...}"
shift
scenario=""
if [[ "$mode" == run ]]; then
  scenario="${1:?usage: run_vm_tests.sh run SCENARIO ...}"
  shift
fi
work="" mountleak="" privileged="" filter="" timeout_s=480
files=()
while (($#)); do
  case "$1" in
    --work) work="$2"; shift 2 ;;
    --mountleak) mountleak="$2"; shift 2 ;;
    --privileged-tests) privileged="$2"; shift 2 ;;
    --file) files+=("$2"); shift 2 ;;
    --filter) filter="$2"; shift 2 ;;
    --timeout) timeout_s="$2"; shift 2 ;;
    *) die "unknown argument $1" ;;
  esac
done
[[ -n "$work" ]] || die "--work is required"
mkdir -p "$work"
cache="${MOUNTLEAK_VM_CACHE:-$work/../vm-cache}"

boot() {  # accel timeout console_log results_log extra-cmdline
  local accel="$1" limit="$2" console="$3" results="$4" extra="$5" cpu=max
  [[ "$accel" == kvm ]] && cpu=host
  rm -f "$console" "$results"
  # ttyS0 is the console (kernel messages and streamed output, for people);
  # ttyS1 carries only the guest's results, so nothing interleaves with them.
  timeout -k 10 "$limit" qemu-system-x86_64 -accel "$accel" -cpu "$cpu" -m 2G -smp 2 -no-reboot \
    -display none -vga none -monitor none -nodefaults \
    -serial "file:$console" -serial "file:$results" \
    -kernel "$cache/vmlinuz" -initrd "$work/initramfs.cpio.gz" \
    -append "$kernel_cmdline $extra" </dev/null >"$work/qemu.stderr" 2>&1
}

# KVM, where it exists, is tried once per work dir with a guest that only
# boots and powers off; a guest that does not say DONE in time means TCG.
choose_accel() {
  local wanted="${MOUNTLEAK_VM_ACCEL:-auto}"
  case "$wanted" in
    tcg | kvm) echo "$wanted" >"$work/accel"; return ;;
    auto) ;;
    *) die "MOUNTLEAK_VM_ACCEL must be auto, tcg or kvm, not $wanted" ;;
  esac
  if [[ ! -w /dev/kvm ]]; then
    echo tcg >"$work/accel"
    say "accelerator: tcg (no usable /dev/kvm)"
    return
  fi
  if boot kvm 40 "$work/kvm-probe.console.log" "$work/kvm-probe.results.log" "mlvm_run=" &&
    grep -q '^@@MLVM DONE' "$work/kvm-probe.results.log" 2>/dev/null; then
    echo kvm >"$work/accel"
  else
    echo tcg >"$work/accel"
  fi
  say "accelerator: $(cat "$work/accel") (KVM probe boot: see $work/kvm-probe.console.log)"
}

prepare() {
  [[ -x "$mountleak" && -x "$privileged" ]] || die "prepare needs --mountleak and --privileged-tests"
  command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing (install qemu-system-x86)"
  command -v jq >/dev/null || die "jq missing (install jq)"
  local start=$SECONDS
  "$scripts/fetch_kernel.sh" "$cache"
  local args=(--kernel "$cache" --init "$here/guest_init.sh" --out "$work/initramfs.cpio.gz" --strip
    --program mkfs.ext4 --program losetup --program dash
    --file "$mountleak" --file "$privileged"
    --env "MLVM_MOUNTLEAK=$mountleak" --env "MLVM_PRIVILEGED_TESTS=$privileged")
  local f
  for f in "${files[@]}"; do args+=(--file "$f"); done
  "$scripts/build_initramfs.sh" "${args[@]}"
  choose_accel
  say "prepared in $((SECONDS - start)) s: $(cat "$cache/package"), $(du -h "$work/initramfs.cpio.gz" | cut -f1) initramfs"
}

# The lines of one section of the results log.
section() {
  awk -v name="$2" '
    $0 == "@@MLVM BEGIN " name { inside = 1; next }
    inside && index($0, "@@MLVM END " name " rc=") == 1 { exit }
    inside { print }' "$1"
}
section_rc() {
  sed -n "s/^@@MLVM END $2 rc=\([0-9]*\)\$/\1/p" "$1" | head -n1
}

check_probe() {  # json file -> prints findings, returns non-zero on a failed check
  local json="$1" bad=0
  if ! jq -e . "$json" >/dev/null 2>&1; then
    say "probe printed no JSON:"
    cat "$json"
    return 1
  fi
  say "probe: kernel $(jq -r '.kernel.release' "$json"), lsm '$(jq -r '.kernel.lsm' "$json")'"
  jq -r '.programs | to_entries[] | "vm:   \(.key): \(if .value.available then "yes" else "no" end) (\(.value.detail))"' "$json"
  jq -r '.hooks[] | "vm:   hook \(.hook) -> \(.tier // "NONE") [\(.programs | join(","))] \(.reason)"' "$json"
  local kind
  for kind in fentry fexit kprobe; do
    if [[ "$(jq -r ".programs.$kind.available" "$json")" != true ]]; then
      say "FAIL: probe says $kind is not available on this kernel"
      bad=1
    fi
  done
  if ! jq -e '.tier as $t | (.hooks | length) > 0 and
              all(.hooks[]; .hook as $h | .tier != null and ($t | has($h)))' "$json" >/dev/null; then
    say "FAIL: probe does not print a tier for every hook"
    bad=1
  fi
  if ! jq -e 'any(.hooks[]; .tier == "kernel")' "$json" >/dev/null; then
    say "FAIL: probe picks the kernel tier for no hook, though fentry/fexit/kprobe are available"
    bad=1
  fi
  return $bad
}

check_gtest() {  # output file -> summary, non-zero unless every test passed
  local out="$1"
  local ran passed
  ran="$(grep -E '^\[==========\] [0-9]+ tests? from .* ran\.' "$out" | tail -n1 || true)"
  passed="$(grep -E '^\[  PASSED  \] [0-9]+ test' "$out" | tail -n1 || true)"
  say "guest: ${ran:-no gtest summary}"
  grep -E '^\[  (PASSED|SKIPPED) +\] [0-9]+ test' "$out" | sed 's/^/vm: guest: /' || true
  if grep -qE '^\[  FAILED  \] ' "$out"; then
    say "FAIL: failed in the guest:"
    grep -E '^\[  FAILED  \] [A-Za-z]' "$out" | sed -E 's/, where GetParam.*//; s/ \([0-9]+ ms\)$//' |
      sort -u | sed 's/^/vm:   /'
    # Each failed test's own output, shortened (JSON lines can be long).
    awk '/^\[ RUN      \] / { n = 0; block = "" }
         { if (n++ < 40) block = block substr($0, 1, 600) "\n" }
         /^\[  FAILED  \] .*\([0-9]+ ms\)$/ { printf "----- %s", block }' "$out"
    return 1
  fi
  [[ -n "$ran" && -n "$passed" ]] || {
    say "FAIL: no complete gtest summary (crashed or cut short)"
    return 1
  }
  [[ "$passed" =~ \]\ 0\ tests ]] && {
    say "FAIL: the filter selected no test"
    return 1
  }
  return 0
}

run() {
  [[ -s "$work/initramfs.cpio.gz" ]] || die "no $work/initramfs.cpio.gz: run the prepare step (ctest runs vm_prepare first)"
  local accel
  accel="$(cat "$work/accel" 2>/dev/null || echo tcg)"
  local console="$work/$scenario.console.log" results="$work/$scenario.results.log"
  local extra="mlvm_run=$scenario"
  [[ -n "$filter" ]] && extra+=" mlvm_filter=$filter"
  local start=$SECONDS status=0
  say "booting $(cat "$cache/package" | cut -d' ' -f1-2) under $accel for '$scenario' (limit ${timeout_s} s)"
  boot "$accel" "$timeout_s" "$console" "$results" "$extra" || status=$?
  local took=$((SECONDS - start))
  # A tty that was not switched to raw adds \r to every line.
  [[ -f "$results" ]] && sed -i 's/\r$//' "$results"
  say "guest ran $took s (qemu exit $status); logs: $console $results"

  local failed=0
  if ((status == 124 || status == 137)); then
    say "FAIL: timed out after ${timeout_s} s"
    failed=1
  elif ((status != 0)); then
    say "FAIL: qemu exited $status:"
    cat "$work/qemu.stderr"
    failed=1
  fi
  if ! grep -q "^@@MLVM KERNEL" "$results" 2>/dev/null; then
    say "FAIL: the guest's init never reported (boot failed or too slow)"
    failed=1
  fi
  local rc
  rc="$(section_rc "$results" "$scenario" 2>/dev/null || true)"
  if grep -q "^@@MLVM UNKNOWN $scenario\$" "$results" 2>/dev/null; then
    say "FAIL: the guest's init has no scenario '$scenario' (see tests/vm/guest_init.sh)"
    failed=1
  elif [[ -z "$rc" ]]; then
    say "FAIL: no result for '$scenario' (guest died or hung during it)"
    failed=1
  else
    local out="$work/$scenario.out"
    section "$results" "$scenario" >"$out"
    case "$scenario" in
      probe) check_probe "$out" || failed=1 ;;
      privileged_*) check_gtest "$out" || failed=1 ;;
      *) ;;
    esac
    if [[ "$rc" != 0 ]]; then
      say "FAIL: '$scenario' exited $rc in the guest"
      failed=1
    fi
  fi
  if ((failed)); then
    if [[ -z "$rc" ]]; then
      echo "----- last 80 lines of $console -----"
      tail -n 80 "$console" 2>/dev/null | cut -c1-600 || true
    fi
    echo "----- kernel warnings (dmesg) -----"
    section "$results" dmesg 2>/dev/null | grep -iE 'warn|bug|error|fail|oops|panic|denied' | tail -n 30 || true
    return 1
  fi
  say "PASS: $scenario"
}

case "$mode" in
  prepare) prepare ;;
  run) run ;;
  *) die "unknown mode $mode (prepare or run)" ;;
esac
