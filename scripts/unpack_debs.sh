#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Unpacks Debian packages of one architecture into OUT_DIR without installing
# them: `apt-get download` and `dpkg-deb -x`, no dpkg database touched. For
# the arm64 packages that cannot be installed beside this machine's own
# (not Multi-Arch: same, e.g. libyaml-cpp-dev, busybox-static): the cross
# build (cmake/aarch64-linux-gnu.cmake) and the arm64 guest (scripts/vm/)
# read them from OUT_DIR.
#
# OUT_DIR/.packages records "name:arch=version" of what is unpacked; a second
# run with the same versions does nothing. Without an answer from apt
# (offline) what is unpacked is used as it is.
#
# usage: unpack_debs.sh --arch ARCH --out OUT_DIR PACKAGE...
#   needs ARCH among dpkg's architectures (scripts/setup.sh adds arm64) and
#   its package lists (apt-get update).
set -euo pipefail

say() { echo "unpack_debs: $*" >&2; }
die() {
  say "$*"
  exit 1
}

arch="" out=""
packages=()
while (($#)); do
  case "$1" in
    --arch) arch="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -*) die "unknown argument $1" ;;
    *) packages+=("$1"); shift ;;
  esac
done
[[ -n "$arch" && -n "$out" && ${#packages[@]} -gt 0 ]] ||
  die "usage: unpack_debs.sh --arch ARCH --out OUT_DIR PACKAGE..."

wanted=""
for p in "${packages[@]}"; do
  version="$(apt-cache show --no-all-versions "$p:$arch" 2>/dev/null | awk '$1 == "Version:" { print $2; exit }')"
  if [[ -z "$version" ]]; then
    [[ -s "$out/.packages" ]] || die "apt knows no $p:$arch (is $arch added with dpkg --add-architecture, and apt-get update run?)"
    say "apt cannot resolve $p:$arch; using what $out holds: $(tr '\n' ' ' <"$out/.packages")"
    exit 0
  fi
  wanted+="$p:$arch=$version"$'\n'
done
if [[ -s "$out/.packages" && "$(cat "$out/.packages")"$'\n' == "$wanted" ]]; then
  say "cached: $(tr '\n' ' ' <<<"$wanted")"
  exit 0
fi

mkdir -p "$out"
work="$(mktemp -d "$out/../.unpack.XXXXXX")"
trap 'rm -rf "$work"' EXIT
while IFS= read -r spec; do
  [[ -n "$spec" ]] || continue
  # apt's sandbox user cannot write into root-owned build trees; the download
  # then runs unsandboxed, which is fine for a package only dpkg-deb reads.
  (cd "$work" && apt-get download -q "$spec" >/dev/null 2>&1) ||
    (cd "$work" && apt-get download "$spec" >&2) || die "apt-get download $spec failed"
done <<<"$wanted"
rm -f "$out/.packages"
for deb in "$work"/*.deb; do
  dpkg-deb -x "$deb" "$out"
done
printf '%s' "$wanted" >"$out/.packages"
say "unpacked into $out: $(tr '\n' ' ' <<<"$wanted")"
