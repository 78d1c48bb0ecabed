#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds a newc initramfs (gzip'd when OUT ends in .gz) for a QEMU guest: busybox-static as the
# userland, the kernel modules laid out by fetch_kernel.sh, an /init, and
# host programs and files copied to the same absolute paths they have here,
# each with the shared libraries ldd finds for it (and the dynamic loader).
# Same paths matter: test binaries carry the absolute paths of what they
# spawn (mountleak, BPF objects) compiled in.
#
# usage: build_initramfs.sh --kernel DIR --init FILE --out FILE.cpio[.gz]
#          [--file PATH]...      ship this host file (and its libraries)
#          [--program NAME]...   ship this program found on PATH (and its libraries)
#          [--env NAME=VALUE]... written to /etc/mountleak-vm.env for /init
#          [--strip]             strip debug info from shipped ELF files
set -euo pipefail

say() { echo "build_initramfs: $*" >&2; }
die() {
  say "$*"
  exit 1
}

kernel="" init="" out="" strip=0
files=() programs=() envs=()
while (($#)); do
  case "$1" in
    --kernel) kernel="$2"; shift 2 ;;
    --init) init="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --file) files+=("$2"); shift 2 ;;
    --program) programs+=("$2"); shift 2 ;;
    --env) envs+=("$2"); shift 2 ;;
    --strip) strip=1; shift ;;
    *) die "unknown argument $1" ;;
  esac
done
[[ -n "$kernel" && -n "$init" && -n "$out" ]] || die "--kernel, --init and --out are required"
[[ -s "$kernel/modules.load" ]] || die "$kernel has no modules.load: run fetch_kernel.sh first"
busybox="$(command -v busybox || true)"
[[ -n "$busybox" ]] || die "busybox not found (install busybox-static)"
ldd "$busybox" >/dev/null 2>&1 && die "$busybox is not static (install busybox-static)"

stage="$(mktemp -d "$(dirname "$out")/.initramfs.XXXXXX")"
trap 'rm -rf "$stage"' EXIT

mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,run,root,mnt}
cp "$busybox" "$stage/bin/busybox"
cp -a "$kernel/modules/lib" "$stage/"
cp "$kernel/modules.load" "$stage/etc/modules.load"
install -m 0755 "$init" "$stage/init"

# Copies one host file to the same path in the stage; directories on the way
# are real directories even where the host has symlinks (merged /usr).
ship() {
  local src="$1" dest="$stage$1"
  [[ -e "$dest" ]] && return 0
  [[ -e "$src" ]] || die "cannot ship $src: no such file"
  mkdir -p "$(dirname "$dest")"
  if [[ -L "$src" ]]; then
    # Keep the link (mkfs.ext4 -> mke2fs names the tool) and ship its target.
    local target
    target="$(readlink "$src")"
    ln -s "$target" "$dest"
    [[ "$target" == /* ]] || target="$(dirname "$src")/$target"
    ship "$(realpath -s "$target")"
    return 0
  fi
  cp "$src" "$dest"
  if ((strip)) && head -c 4 "$src" | grep -q 'ELF'; then
    strip --strip-debug "$dest" 2>/dev/null || true
  fi
}

# A file and every library the dynamic loader would map for it.
ship_with_libraries() {
  local path="$1" lib
  ship "$path"
  ldd "$path" >/dev/null 2>&1 || return 0  # static, or not ELF: nothing more
  while read -r lib; do
    ship "$lib"
  done < <(ldd "$path" | awk '/=> \// { print $3 } /^\t\/.*\(0x/ { print $1 }')
}

for p in "${programs[@]}"; do
  path="$(command -v "$p" || true)"
  [[ -n "$path" ]] || die "program $p not found on PATH"
  ship_with_libraries "$path"
done
for f in "${files[@]}"; do ship_with_libraries "$f"; done
# mke2fs reads its defaults from here; without it the guest's file systems
# would differ from the host's.
[[ -f /etc/mke2fs.conf ]] && ship /etc/mke2fs.conf

{
  for e in "${envs[@]}"; do
    printf "export %s='%s'\n" "${e%%=*}" "${e#*=}"
  done
} >"$stage/etc/mountleak-vm.env"
echo "root:x:0:0:root:/root:/bin/sh" >"$stage/etc/passwd"
echo "root:x:0:" >"$stage/etc/group"

tmp_out="$out.tmp"
# Uncompressed unless the name asks for gzip: under TCG the guest's gunzip
# costs seconds, reading a bigger file costs the host almost nothing.
compress=cat
[[ "$out" == *.gz ]] && compress="gzip -1"
(cd "$stage" && find . -mindepth 1 | "$busybox" cpio -o -H newc -R 0:0 2>/dev/null) | $compress >"$tmp_out"
mv "$tmp_out" "$out"
say "wrote $out ($(du -h "$out" | cut -f1))"
