#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds one BPF object target of the build tree (clang for each .bpf.c, then
# `bpftool gen object` and `gen skeleton`) and checks what came out:
#   - an ELF object for the BPF machine,
#   - with the section SECTION (e.g. the architecture's syscall function),
#   - defining the same programs, by name, as the reference object (the
#     userspace hook table names them; an architecture must not lose one).
#
# usage: build_bpf_object.sh --build-dir DIR --target TARGET --object FILE
#                            --same-programs-as FILE --section SECTION
set -euo pipefail

build_dir="" target="" object="" reference="" section=""
while (($#)); do
  case "$1" in
    --build-dir) build_dir="$2"; shift 2 ;;
    --target) target="$2"; shift 2 ;;
    --object) object="$2"; shift 2 ;;
    --same-programs-as) reference="$2"; shift 2 ;;
    --section) section="$2"; shift 2 ;;
    *) echo "build_bpf_object: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ -n "$build_dir" && -n "$target" && -n "$object" && -n "$reference" && -n "$section" ]] || {
  echo "build_bpf_object: --build-dir, --target, --object, --same-programs-as and --section are required" >&2
  exit 2
}

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

cmake --build "$build_dir" --target "$target" || fail "building $target"
[[ -s "$object" ]] || fail "$target built no $object"
[[ -s "$reference" ]] || cmake --build "$build_dir" --target "$(basename "$reference" .bpf.o)_gen" ||
  fail "building the reference object $reference"

# Read whole before grep: grep -q leaving early would fail the pipe.
header="$(readelf -hW "$object" 2>/dev/null)"
sections="$(readelf -SW "$object" 2>/dev/null)"
grep -Eq 'Machine:[[:space:]]+Linux BPF' <<<"$header" || fail "$object is not a BPF object"
grep -qF " $section " <<<"$sections" || fail "$object has no section $section"

# Programs are the global functions in executable sections.
programs() { readelf -sW "$1" 2>/dev/null | awk '$4 == "FUNC" && $5 == "GLOBAL" { print $8 }' | sort; }
if ! diff <(programs "$reference") <(programs "$object") >&2; then
  fail "$object and $reference define different programs (< only in the reference, > only in $object)"
fi
echo "ok: $object: $(programs "$object" | wc -l) programs, section $section"
