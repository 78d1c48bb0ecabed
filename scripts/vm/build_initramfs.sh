#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds a newc initramfs (gzip'd when OUT ends in .gz) for a QEMU guest: busybox-static as the
# userland, the kernel modules laid out by fetch_kernel.sh, an /init, and
# host programs and files copied to the same absolute paths they have here,
# each with the shared libraries ldd finds for it (and the dynamic loader).
# Same paths matter: test binaries carry the absolute paths of what they
# spawn (mountleak, BPF objects) compiled in.
#
# For an arm64 guest (--arch arm64) nothing of this machine's userland fits:
# busybox and the programs come from ROOT, arm64 packages unpacked by
# scripts/unpack_debs.sh, and go to the guest at their paths below ROOT.
# ldd cannot read arm64 binaries: each file's libraries are its NEEDED
# entries (aarch64-linux-gnu-readelf -d), recursively, found in ROOT's or
# this machine's /lib/aarch64-linux-gnu and /usr/lib/aarch64-linux-gnu
# (multiarch), and its loader is its PT_INTERP.
#
# usage: build_initramfs.sh --kernel DIR --init FILE --out FILE.cpio[.gz]
#          [--arch amd64|arm64]  the guest's (default amd64, this machine's)
#          [--root ROOT]         arm64: the unpacked packages (busybox-static,
#                                the programs, libraries not installed here)
#          [--file PATH]...      ship this host file (and its libraries)
#          [--program NAME]...   ship this program found on PATH, or in
#                                ROOT's bin and sbin directories for arm64
#                                (and its libraries)
#          [--env NAME=VALUE]... written to /etc/mountleak-vm.env for /init
#          [--strip]             strip debug info from shipped ELF files
set -euo pipefail

say() { echo "build_initramfs: $*" >&2; }
die() {
  say "$*"
  exit 1
}

kernel="" init="" out="" strip=0 arch=amd64 root=""
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
    --arch) arch="$2"; shift 2 ;;
    --root) root="$2"; shift 2 ;;
    *) die "unknown argument $1" ;;
  esac
done
[[ -n "$kernel" && -n "$init" && -n "$out" ]] || die "--kernel, --init and --out are required"
[[ -s "$kernel/modules.load" ]] || die "$kernel has no modules.load: run fetch_kernel.sh first"
case "$arch" in
  amd64)
    busybox="$(command -v busybox || true)"
    [[ -n "$busybox" ]] || die "busybox not found (install busybox-static)"
    ldd "$busybox" >/dev/null 2>&1 && die "$busybox is not static (install busybox-static)"
    strip_tool="strip"
    ;;
  arm64)
    [[ -n "$root" && -d "$root" ]] || die "--arch arm64 needs --root (scripts/unpack_debs.sh)"
    root="$(cd "$root" && pwd)"
    busybox="$root/bin/busybox"
    [[ -x "$busybox" ]] || die "no $busybox (unpack busybox-static:arm64 into $root)"
    readelf=aarch64-linux-gnu-readelf strip_tool=aarch64-linux-gnu-strip
    command -v "$readelf" >/dev/null || die "no $readelf (install binutils-aarch64-linux-gnu)"
    "$readelf" -lW "$busybox" | grep -q 'INTERP' && die "$busybox is not static"
    ;;
  *) die "--arch must be amd64 or arm64, not $arch" ;;
esac

stage="$(mktemp -d "$(dirname "$out")/.initramfs.XXXXXX")"
trap 'rm -rf "$stage"' EXIT

mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,run,root,mnt}
cp "$busybox" "$stage/bin/busybox"
cp -a "$kernel/modules/lib" "$stage/"
cp "$kernel/modules.load" "$stage/etc/modules.load"
install -m 0755 "$init" "$stage/init"

# Copies one file to the same path in the stage (below ROOT: to the path it
# has there); directories on the way are real directories even where the
# host has symlinks (merged /usr).
ship() {
  local src="$1" guest_path="$1"
  if [[ -n "$root" && "$src" == "$root"/* ]]; then
    guest_path="${src#"$root"}"
  fi
  local dest="$stage$guest_path"
  [[ -e "$dest" || -L "$dest" ]] && return 0
  [[ -e "$src" ]] || die "cannot ship $src: no such file"
  mkdir -p "$(dirname "$dest")"
  if [[ -L "$src" ]]; then
    # Keep the link (mkfs.ext4 -> mke2fs names the tool) and ship its target.
    local target
    target="$(readlink "$src")"
    ln -s "$target" "$dest"
    if [[ "$target" == /* ]]; then
      [[ -n "$root" && -e "$root$target" ]] && target="$root$target"
    else
      target="$(dirname "$src")/$target"
    fi
    ship "$(realpath -s "$target")"
    return 0
  fi
  cp "$src" "$dest"
  if ((strip)) && head -c 4 "$src" | grep -q 'ELF'; then
    "$strip_tool" --strip-debug "$dest" 2>/dev/null || true
  fi
}

# Where an arm64 library named NAME is: ROOT first, then multiarch here.
find_arm64_library() {
  local name="$1" dir
  for dir in "$root/lib/aarch64-linux-gnu" "$root/usr/lib/aarch64-linux-gnu" \
    /lib/aarch64-linux-gnu /usr/lib/aarch64-linux-gnu; do
    [[ -e "$dir/$name" ]] && { echo "$dir/$name"; return 0; }
  done
  return 1
}

declare -A arm64_visited=()
# An arm64 file, its loader and its libraries, theirs in turn.
ship_arm64_with_libraries() {
  local path="$1" lib needed interp
  [[ -n "${arm64_visited[$path]:-}" ]] && return 0
  arm64_visited[$path]=1
  ship "$path"
  "$readelf" -hW "$path" >/dev/null 2>&1 || return 0  # not ELF: nothing more
  interp="$("$readelf" -lW "$path" | sed -n 's/.*\[Requesting program interpreter: \(.*\)\]/\1/p')"
  if [[ -n "$interp" ]]; then
    if [[ -e "$root$interp" ]]; then ship "$root$interp"; else ship "$interp"; fi
  fi
  while read -r needed; do
    lib="$(find_arm64_library "$needed")" ||
      die "$path needs $needed, found neither in $root nor in /usr/lib/aarch64-linux-gnu (unpack or install its arm64 package)"
    ship_arm64_with_libraries "$(realpath "$lib")"
    ship "$lib"
  done < <("$readelf" -dW "$path" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
}

# A file and every library the dynamic loader would map for it.
ship_with_libraries() {
  local path="$1" lib
  if [[ "$arch" == arm64 ]]; then
    ship_arm64_with_libraries "$path"
    return 0
  fi
  ship "$path"
  ldd "$path" >/dev/null 2>&1 || return 0  # static, or not ELF: nothing more
  while read -r lib; do
    ship "$lib"
  done < <(ldd "$path" | awk '/=> \// { print $3 } /^\t\/.*\(0x/ { print $1 }')
}

# A program by name: on PATH here, in ROOT for arm64.
find_program() {
  local name="$1" dir
  if [[ "$arch" == amd64 ]]; then
    command -v "$name" || true
    return 0
  fi
  for dir in usr/sbin sbin usr/bin bin; do
    [[ -e "$root/$dir/$name" ]] && { echo "$root/$dir/$name"; return 0; }
  done
}

for p in "${programs[@]}"; do
  path="$(find_program "$p")"
  [[ -n "$path" ]] || die "program $p not found (${root:-on PATH})"
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
# This machine's busybox writes the archive (an arm64 guest's cannot run here).
host_busybox="$(command -v busybox || true)"
[[ -n "$host_busybox" ]] || die "busybox not found here (install busybox-static)"
(cd "$stage" && find . -mindepth 1 | "$host_busybox" cpio -o -H newc -R 0:0 2>/dev/null) | $compress >"$tmp_out"
mv "$tmp_out" "$out"
say "wrote $out ($(du -h "$out" | cut -f1))"
