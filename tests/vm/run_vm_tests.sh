#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The vm lane: mountleak's privileged scenarios on Debian's own kernel,
# booted under QEMU. Scenarios (see scripts/vm/guest_init.sh):
#   probe                  `mountleak probe -o json`: fentry, fexit and kprobe
#                          available, a tier for every hook, the kernel tier
#                          chosen for at least one
#   privileged_kernel      privileged_tests as they are (the kernel tier wins)
#   privileged_tracepoint  the same with every `mountleak trace` forced to the
#                          tracepoint tier (--no-feature fentry,kprobe)
#   probe_kprobe           `mountleak probe -o json --no-feature fentry`: every
#                          hook on the kernel tier through its kprobe candidate
#   privileged_kprobe      the same with every `mountleak trace` given
#                          --no-feature fentry (the kprobe candidates)
#   privileged_late_module TraceLateModule: the guest boots without the
#                          --defer-modules module (dm_mod), which the test
#                          loads once trace is ready; *_kprobe: on kprobes
# The same runner boots the guest benchmark's guest (scripts/bench_guest.sh:
# scenario bench) and the real rbd scenario's (scripts/ceph/run_guest_scenario.sh:
# scenario rbd); every guest runs scripts/vm/guest_init.sh as /init, and the
# kernel is a parameter (--arch, --kernel).
# Modes:
#   prepare --work DIR [--arch amd64|arm64] [--kernel 6.1|6.12] [--mountleak PATH]
#           [--privileged-tests PATH] [--modules M,...] [--program NAME]...
#           [--file PATH]... [--env NAME=VALUE]...
#       fetch that kernel (default amd64 6.1; cached in DIR/../vm-cache/KERNEL,
#       DIR/../vm-cache/arm64-KERNEL for arm64, or $MOUNTLEAK_VM_CACHE) with
#       those modules (default: fetch_kernel.sh's), build DIR/initramfs.cpio.gz
#       shipping mountleak, privileged_tests and the files and programs named,
#       pick TCG or KVM (DIR/accel; arm64: TCG); the kernel's cache dir is
#       kept in DIR/kernel-cache, the architecture in DIR/arch, for the modes
#       below. One work dir per kernel and purpose.
#       arm64: PATHs are cross-built (scripts/build_cross.sh); the guest's
#       busybox, dash, mkfs.ext4 and losetup are Debian's arm64 packages,
#       unpacked into DIR/guest-root (scripts/unpack_debs.sh).
#   boot --work DIR --log NAME --timeout S [--limit SCENARIO=S]...
#        [--filter SCENARIO=GTEST_FILTER]... [--defer-modules M,...]
#        [--nic SPEC] [--append WORDS] SCENARIO...
#       one guest runs the scenarios in order, each killed after its own
#       limit, all of them after S; logs DIR/NAME.console.log (serial console:
#       streamed output, kernel messages) and DIR/NAME.results.log (what the
#       guest reports between markers). --nic gives it a network card
#       (qemu_guest.sh), --append more words for its command line (a
#       scenario's arguments). Fails only if the guest never booted.
#   judge SCENARIO --work DIR --log NAME [--probe-tiers HOOK=TIER,...]
#       judges one scenario from that log: fails on a failed test or check, a
#       missing result (guest died, hung or was killed) or a non-zero exit;
#       the scenario's output is left in DIR/NAME.SCENARIO.out.
#       probe's check is the kernel tier for every hook, with fentry, fexit
#       and kprobe available; --probe-tiers replaces it with exactly these
#       tiers, hook by hook, for a kernel whose best is not the kernel tier
#       everywhere (arm64 6.1: fexit programs load but do not attach)
#   run SCENARIO --work DIR [--filter F] [--timeout S]
#       boot for that scenario alone, then judge it (for people)
#
# Environment: MOUNTLEAK_VM_ACCEL=auto|tcg|kvm (auto: KVM only where a quick
# boot under it works, else TCG), MOUNTLEAK_VM_CACHE (kernel cache dir).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
scripts="$here/../../scripts/vm"
# Debian 6.1's CONFIG_LSM with bpf kept last, as the LSM tier needs; named
# explicitly so a config change cannot silently drop it. 6.12's CONFIG_LSM
# starts with the same list (then selinux, smack, tomoyo, bpf, ipe), so
# both kernels boot with the same LSMs.
kernel_cmdline="lsm=landlock,lockdown,yama,loadpin,safesetid,integrity,apparmor,bpf"

say() { echo "vm: $*"; }
die() {
  echo "vm: $*" >&2
  exit 1
}

mode="${1:?usage: run_vm_tests.sh prepare|boot|judge|run ...}"
shift
scenario=""
if [[ "$mode" == judge || "$mode" == run ]]; then
  scenario="${1:?usage: run_vm_tests.sh $mode SCENARIO ...}"
  shift
fi
work="" kernel=6.1 arch=amd64 mountleak="" privileged="" log="" filter="" timeout_s=480
probe_tiers="" defer_modules="" modules="" nic="" append=""
files=() programs=() envs=() limits=() filters=() scenarios=()
while (($#)); do
  case "$1" in
    --work) work="$2"; shift 2 ;;
    --kernel) kernel="$2"; shift 2 ;;
    --arch) arch="$2"; shift 2 ;;
    --mountleak) mountleak="$2"; shift 2 ;;
    --privileged-tests) privileged="$2"; shift 2 ;;
    --file) files+=("$2"); shift 2 ;;
    --program) programs+=("$2"); shift 2 ;;
    --env) envs+=("$2"); shift 2 ;;
    --modules) modules="$2"; shift 2 ;;
    --nic) nic="$2"; shift 2 ;;
    --append) append="$2"; shift 2 ;;
    --log) log="$2"; shift 2 ;;
    --filter) filter="$2"; filters+=("$2"); shift 2 ;;
    --limit) limits+=("$2"); shift 2 ;;
    --defer-modules) defer_modules="$2"; shift 2 ;;
    --timeout) timeout_s="$2"; shift 2 ;;
    --probe-tiers) probe_tiers="$2"; shift 2 ;;
    -*) die "unknown argument $1" ;;
    *) scenarios+=("$1"); shift ;;
  esac
done
[[ -n "$work" ]] || die "--work is required"
mkdir -p "$work"
# prepare picks the kernel's cache; the other modes boot what it prepared.
if [[ "$mode" == prepare ]]; then
  case "$arch" in
    amd64) cache_name="$kernel" ;;
    arm64) cache_name="arm64-$kernel" ;;
    *) die "--arch must be amd64 or arm64, not $arch" ;;
  esac
  cache="${MOUNTLEAK_VM_CACHE:-$work/../vm-cache/$cache_name}"
  mkdir -p "$cache"
  cache="$(cd "$cache" && pwd)"
  echo "$cache" >"$work/kernel-cache"
  echo "$arch" >"$work/arch"
else
  cache="$(cat "$work/kernel-cache" 2>/dev/null || echo "${MOUNTLEAK_VM_CACHE:-$work/../vm-cache/$kernel}")"
  arch="$(cat "$work/arch" 2>/dev/null || echo amd64)"
fi

# One guest through the shared boot (scripts/vm/qemu_guest.sh); its exit
# status is QEMU's, or stalled_status when the emulated CPU stalled. In the
# background, so that a signal (ctest's timeout, a caller stopping its
# cluster) runs the trap below at once, and qemu_guest.sh stops QEMU.
stalled_status=90
guest=""
boot() {  # accel timeout console_log results_log extra-cmdline
  local nic_args=() status=0
  [[ -z "$nic" ]] || nic_args=(--nic "$nic")
  "$scripts/qemu_guest.sh" --kernel-dir "$cache" --initrd "$work/initramfs.cpio.gz" \
    --console "$3" --results "$4" --timeout "$2" --accel "$1" "${nic_args[@]}" \
    --append "$kernel_cmdline $5" --qemu-log "$work/qemu.stderr" --arch "$arch" &
  guest=$!
  wait "$guest" || status=$?
  guest=""
  return $status
}
stop_guest() {
  [[ -z "$guest" ]] || {
    kill -TERM "$guest" 2>/dev/null
    wait "$guest" 2>/dev/null
  }
}
trap 'stop_guest; exit 143' TERM
trap 'stop_guest; exit 130' INT
trap 'stop_guest; exit 129' HUP

# KVM, where it exists, is tried once per work dir with a guest that only
# boots and powers off; a guest that does not say DONE in time means TCG.
choose_accel() {
  local wanted="${MOUNTLEAK_VM_ACCEL:-auto}"
  # KVM runs a guest of this machine's architecture only.
  [[ "$arch" == amd64 ]] || wanted=tcg
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
  local start=$SECONDS args=() f
  for f in "$mountleak" "$privileged"; do
    [[ -z "$f" || -x "$f" ]] || die "$f is not an executable"
  done
  command -v jq >/dev/null || die "jq missing (install jq)"
  case "$arch" in
    amd64)
      command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing (install qemu-system-x86)"
      ;;
    arm64)
      command -v qemu-system-aarch64 >/dev/null || die "qemu-system-aarch64 missing (install qemu-system-arm)"
      # The guest's userland and the libraries of its programs that are not
      # installed here as arm64 (busybox-static, dash, e2fsprogs and mount
      # cannot be: they would replace this machine's).
      "$here/../../scripts/unpack_debs.sh" --arch arm64 --out "$work/guest-root" busybox-static dash \
        e2fsprogs mount libext2fs2 libss2 libmount1 libsmartcols1 libblkid1 libuuid1 libcom-err2 \
        libselinux1 libpcre2-8-0 dmsetup libdevmapper1.02.1 libudev1
      args+=(--root "$work/guest-root")
      ;;
  esac
  local module_list=()
  [[ -z "$modules" ]] || IFS=, read -ra module_list <<<"$modules"
  "$scripts/fetch_kernel.sh" --arch "$arch" --kernel "$kernel" "$cache" "${module_list[@]}"
  args+=(--arch "$arch" --kernel "$cache" --init "$scripts/guest_init.sh" --out "$work/initramfs.cpio.gz" --strip
    --program mkfs.ext4 --program losetup --program dash --program dmsetup)
  [[ -z "$mountleak" ]] || args+=(--file "$mountleak" --env "MLVM_MOUNTLEAK=$mountleak")
  [[ -z "$privileged" ]] || args+=(--file "$privileged" --env "MLVM_PRIVILEGED_TESTS=$privileged")
  for f in "${files[@]}"; do args+=(--file "$f"); done
  for f in "${programs[@]}"; do args+=(--program "$f"); done
  for f in "${envs[@]}"; do args+=(--env "$f"); done
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
  [[ -z "$probe_tiers" ]] || {
    check_probe_tiers "$json"
    return
  }
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
  # Every hook on the kernel tier: one syscall tracepoint left would put
  # every syscall of the node on the slow path. A hook in a module that is
  # not loaded (rbd) may wait on its tracepoint.
  if ! jq -e 'all(.hooks[]; .tier == "kernel" or (.reason | test("module is not loaded")))' \
    "$json" >/dev/null; then
    say "FAIL: probe leaves hooks off the kernel tier, though fentry/fexit/kprobe are available:"
    jq -r '.hooks[] | select(.tier != "kernel") | "vm:   \(.hook): \(.tier // "NONE") (\(.reason))"' "$json"
    bad=1
  fi
  return $bad
}

# With fentry turned off: every hook on the kernel tier (rbd's may wait for
# its module), each through kprobes alone. Every hook with an fexit
# candidate has a kprobe one after it, and propagation's reconcile fallback
# would need no program: a kernel-tier hook served by anything but
# ml_kprobe_*/ml_kretprobe_* programs is a candidate missing or passed over.
check_probe_kprobe() {  # json file
  local json="$1" bad=0
  if ! jq -e . "$json" >/dev/null 2>&1; then
    say "probe printed no JSON:"
    cat "$json"
    return 1
  fi
  jq -r '.hooks[] | "vm:   hook \(.hook) -> \(.tier // "NONE") [\(.programs | join(","))] \(.reason)"' "$json"
  if [[ "$(jq -r '.programs.fexit.available' "$json")" != false || "$(jq -r '.programs.kprobe.available' "$json")" != true ]]; then
    say "FAIL: probe should see fexit turned off and kprobes available"
    bad=1
  fi
  if ! jq -e '(.hooks | length) > 0 and
              all(.hooks[]; (.tier == "kernel" and (.programs | length) > 0
                             and all(.programs[]; test("^ml_k(ret)?probe_")))
                            or (.reason | test("module is not loaded")))' "$json" >/dev/null; then
    say "FAIL: with fentry turned off, these hooks are not on their kprobe candidate:"
    jq -r '.hooks[] | select(.tier != "kernel" or any(.programs[]; test("^ml_k(ret)?probe_") | not))
           | "vm:   \(.hook): \(.tier // "NONE") [\(.programs | join(","))] (\(.reason))"' "$json"
    bad=1
  fi
  return $bad
}

# probe's tiers against --probe-tiers: every hook named there with exactly
# that tier, and no hook probe prints left out of it.
check_probe_tiers() {  # json file
  local json="$1" bad=0 spec specs hook got
  declare -A expected=()
  IFS=, read -ra specs <<<"$probe_tiers"
  for spec in "${specs[@]}"; do
    expected["${spec%%=*}"]="${spec#*=}"
  done
  for hook in "${!expected[@]}"; do
    got="$(jq -r --arg h "$hook" '[.hooks[] | select(.hook == $h) | .tier // "NONE"] | first // "MISSING"' "$json")"
    if [[ "$got" != "${expected[$hook]}" ]]; then
      say "FAIL: probe puts $hook on $got, expected ${expected[$hook]}"
      bad=1
    fi
  done
  while read -r hook; do
    [[ -n "${expected[$hook]:-}" ]] || {
      say "FAIL: probe prints hook $hook, which --probe-tiers does not name"
      bad=1
    }
  done < <(jq -r '.hooks[].hook' "$json")
  if ! jq -e '.tier as $t | (.hooks | length) > 0 and
              all(.hooks[]; .hook as $h | .tier != null and ($t | has($h)))' "$json" >/dev/null; then
    say "FAIL: probe does not print a tier for every hook"
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

# Boots one guest for the scenarios; records how it ended in NAME.status.
boot_lane() {  # name scenario-args...
  local name="$1"
  shift
  [[ -s "$work/initramfs.cpio.gz" ]] || die "no $work/initramfs.cpio.gz: run the prepare step (ctest runs vm_prepare first)"
  local accel console="$work/$name.console.log" results="$work/$name.results.log"
  accel="$(cat "$work/accel" 2>/dev/null || echo tcg)"
  local extra="mlvm_run=$(IFS=,; echo "$*")" item
  for item in "${limits[@]}"; do extra+=" mlvm_limit_$item"; done
  for item in "${filters[@]}"; do extra+=" mlvm_filter_$item"; done
  [[ -z "$defer_modules" ]] || extra+=" mlvm_defer_modules=$defer_modules"
  [[ -z "$append" ]] || extra+=" $append"
  local start=$SECONDS status=0
  # A scenario's output from an earlier boot must not pass for this one's.
  rm -f "$work/$name".*.out
  say "booting $(cut -d' ' -f1-2 "$cache/package") under $accel for: $* (limit ${timeout_s} s)"
  boot "$accel" "$timeout_s" "$console" "$results" "$extra" || status=$?
  local left=$((timeout_s - (SECONDS - start)))
  if ((status == stalled_status)); then
    cp "$console" "$work/$name.stalled.console.log"
    say "the emulated guest stalled after $((SECONDS - start)) s (a vCPU stopped taking timer interrupts, or the kernel panicked while booting:" \
      "an emulator fault, not a result); its console: $work/$name.stalled.console.log"
    if ((left < 30)); then
      say "no time left in the lane's limit to boot it again"
    else
      say "booting it once more, with the ${left} s left of the limit"
      status=0
      boot "$accel" "$left" "$console" "$results" "$extra" || status=$?
      ((status != stalled_status)) || say "the second guest stalled too: the scenarios without a result fail"
    fi
  fi
  echo "$status $((SECONDS - start)) $timeout_s" >"$work/$name.status"
  say "guest ran $((SECONDS - start)) s (qemu exit $status); logs: $console $results"
  [[ "$mode" == run ]] || grep -E '^mlvm: scenario .* exited' "$console" 2>/dev/null | sed 's/^/vm: guest: /' || true
  if ((status == 124 || status == 137)); then
    say "the guest was stopped at the lane's limit of ${timeout_s} s; scenarios without a result fail"
  elif ((status != 0)); then
    say "qemu exited $status:"
    cat "$work/qemu.stderr"
  fi
  if ! grep -q "^@@MLVM KERNEL" "$results" 2>/dev/null; then
    say "FAIL: the guest's init never reported (boot failed or too slow)"
    echo "----- last 40 lines of $console -----"
    tail -n 40 "$console" 2>/dev/null | cut -c1-600 || true
    return 1
  fi
}

judge() {  # name
  local name="$1"
  local console="$work/$name.console.log" results="$work/$name.results.log"
  [[ -f "$results" ]] || die "no $results: nothing booted for '$name'"
  local status took limit
  read -r status took limit <"$work/$name.status" || true
  local failed=0 rc
  rc="$(section_rc "$results" "$scenario" 2>/dev/null || true)"
  if grep -q "^@@MLVM UNKNOWN $scenario\$" "$results" 2>/dev/null; then
    say "FAIL: the guest's init has no scenario '$scenario' (see scripts/vm/guest_init.sh)"
    failed=1
  elif [[ -z "$rc" ]]; then
    if [[ "$status" == 124 || "$status" == 137 ]]; then
      say "FAIL: no result for '$scenario': the guest was stopped at its limit of $limit s"
    elif [[ "$status" == "$stalled_status" ]]; then
      say "FAIL: no result for '$scenario': the emulated guest stalled twice (see the console logs)"
    else
      say "FAIL: no result for '$scenario' (the guest died during it, qemu exit $status)"
    fi
    failed=1
  else
    local out="$work/$name.$scenario.out"
    section "$results" "$scenario" >"$out"
    grep -E "^mlvm: scenario $scenario (exited|killed)" "$console" 2>/dev/null | sed 's/^/vm: guest: /' || true
    if grep -q "^@@MLVM LEFTOVER $scenario " "$results"; then
      say "warning: processes outlived '$scenario' in the guest (the tests should have ended them):"
      sed -n "s/^@@MLVM LEFTOVER $scenario /vm:   /p" "$results"
    fi
    case "$scenario" in
      probe) check_probe "$out" || failed=1 ;;
      probe_kprobe) check_probe_kprobe "$out" || failed=1 ;;
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
      echo "----- $scenario's part of $console (last 60 lines) -----"
      sed -n "/^mlvm: scenario $scenario /,\$p" "$console" 2>/dev/null | tail -n 60 | cut -c1-600 || true
    fi
    echo "----- kernel warnings (dmesg) -----"
    section "$results" dmesg 2>/dev/null | grep -iE 'warn|bug|error|fail|oops|panic|denied' | tail -n 30 || true
    say "logs: $console $results"
    return 1
  fi
  say "PASS: $scenario"
}

case "$mode" in
  prepare) prepare ;;
  boot)
    [[ -n "$log" && ${#scenarios[@]} -gt 0 ]] || die "boot needs --log NAME and scenarios"
    boot_lane "$log" "${scenarios[@]}"
    ;;
  judge)
    [[ -n "$log" ]] || die "judge needs --log NAME"
    judge "$log"
    ;;
  run)
    filters=()
    [[ -n "$filter" ]] && filters=("$scenario=$filter")
    boot_lane "$scenario" "$scenario"
    judge "$scenario"
    ;;
  *) die "unknown mode $mode (prepare, boot, judge or run)" ;;
esac
