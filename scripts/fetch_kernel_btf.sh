#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Writes the BTF of Debian's own kernel for a Debian architecture (the
# package linux-image-ARCH depends on today) to OUT_FILE, for building the
# BPF object for an architecture other than this machine's: vmlinux.h is
# generated from it (cmake/BpfObject.cmake), and CO-RE relocates the object
# on whatever kernel loads it, so any recent kernel's BTF will do.
#
# The package comes through apt with a private state directory beside
# OUT_FILE (its own package lists for ARCH, no dpkg status): nothing on the
# machine changes (no `dpkg --add-architecture`) and root is not needed.
# The kernel image carries its BTF as it is loaded into memory (the .BTF
# section between __start_BTF and __stop_BTF), without ELF headers on arm64's
# plain Image: the blob is found by its header (magic 0xeb9f, version 1,
# header length 24, types first) and cut at the length the header gives.
# An image that does not carry it uncompressed (x86's bzImage) is
# decompressed first, as the kernel's scripts/extract-vmlinux does.
#
# usage: fetch_kernel_btf.sh ARCH OUT_FILE     (ARCH: amd64, arm64)
set -euo pipefail

arch="${1:?usage: fetch_kernel_btf.sh ARCH OUT_FILE}"
out="${2:?usage: fetch_kernel_btf.sh ARCH OUT_FILE}"

say() { echo "fetch_kernel_btf: $*" >&2; }
die() {
  say "$*"
  exit 1
}

bpftool="${BPFTOOL:-$(PATH="$PATH:/usr/sbin:/sbin" command -v bpftool || true)}"
[[ -n "$bpftool" ]] || die "no bpftool (scripts/setup.sh installs it)"
out_dir="$(dirname "$out")"
mkdir -p "$out_dir"
state="$out_dir/apt-$arch"
mkdir -p "$state/lists/partial" "$state/cache/archives/partial"
apt_opts=(
  -o "APT::Architecture=$arch" -o "APT::Architectures::=$arch"
  -o "Dir::State::Lists=$state/lists" -o "Dir::Cache=$state/cache"
  -o "Dir::State::status=/dev/null" -o "Debug::NoLocking=1"
)

# The versioned package behind the meta-package, e.g. linux-image-6.1.0-57-arm64.
resolve_package() {
  apt-cache "${apt_opts[@]}" depends "linux-image-$arch:$arch" 2>/dev/null |
    awk -v a="$arch" '$1 == "Depends:" && $2 ~ ("^linux-image-[0-9].*-" a "$") { print $2; exit }'
}

say "updating the package lists for $arch in $state"
apt-get "${apt_opts[@]}" -qq update >&2 || say "apt-get update failed; trying the lists as they are"
package="$(resolve_package || true)"
[[ -n "$package" ]] || die "apt knows no linux-image-$arch (no network, or no $arch in the sources?)"

work="$(mktemp -d "$out_dir/.fetch-$arch.XXXXXX")"
trap 'rm -rf "$work"' EXIT
say "downloading $package"
# apt's sandbox user cannot write into root-owned build trees; the download
# then runs unsandboxed, which is fine for a package only dpkg-deb reads.
(cd "$work" && apt-get "${apt_opts[@]}" download -q "$package:$arch" >/dev/null 2>&1) ||
  (cd "$work" && apt-get "${apt_opts[@]}" download "$package:$arch" >&2) ||
  die "apt-get download $package:$arch failed"
deb="$(ls "$work"/*.deb)"
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work" --wildcards './boot/vmlinuz-*'
rm -f "$deb"
image="$(ls "$work"/boot/vmlinuz-*)"

# Prints "OFFSET LENGTH" of the largest BTF blob in FILE, nothing if none.
find_btf() {
  local file="$1" off type_off type_len str_off str_len best_off="" best_len=0
  # magic 9f eb, version 1, flags 0, hdr_len 24, type_off 0
  while IFS=: read -r off _; do
    read -r type_off type_len str_off str_len < <(od -An -tu4 -j "$((off + 8))" -N16 "$file")
    [[ "$type_off" == 0 && "$str_off" == "$type_len" ]] || continue
    if ((24 + str_off + str_len > best_len)); then
      best_off="$off"
      best_len=$((24 + str_off + str_len))
    fi
  done < <(LC_ALL=C grep -obUaP '\x9f\xeb\x01\x00\x18\x00\x00\x00\x00\x00\x00\x00' "$file" || true)
  [[ -n "$best_off" ]] && echo "$best_off $best_len"
  return 0
}

found="$(find_btf "$image")"
if [[ -z "$found" ]]; then
  # Decompress the payload from the first place its compressor's magic fits.
  for c in "gzip -dc:\x1f\x8b\x08" "xz -dc:\xfd\x37\x7a\x58\x5a\x00" "zstd -qdc:\x28\xb5\x2f\xfd"; do
    tool="${c%%:*}"
    magic="${c#*:}"
    while IFS=: read -r off _; do
      # Trailing bytes after the stream make the tool complain; what it
      # wrote before that is the image.
      tail -c "+$((off + 1))" "$image" | $tool >"$work/vmlinux" 2>/dev/null || true
      found="$(find_btf "$work/vmlinux")"
      if [[ -n "$found" ]]; then
        image="$work/vmlinux"
        break 2
      fi
    done < <(LC_ALL=C grep -obUaP "$magic" "$image" | head -3 || true)
  done
fi
[[ -n "$found" ]] || die "no BTF in $package's kernel image"

read -r off len <<<"$found"
dd if="$image" of="$work/vmlinux.btf" iflag=skip_bytes,count_bytes skip="$off" count="$len" \
  bs=1M status=none
# bpftool reads the whole blob or refuses it: a cut that is wrong stops here.
"$bpftool" btf dump file "$work/vmlinux.btf" >/dev/null ||
  die "the BTF cut from $package's image does not parse"
mv "$work/vmlinux.btf" "$out"
echo "$package" >"$out.package"
say "ready: $out ($len bytes of BTF from $package)"
