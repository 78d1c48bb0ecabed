#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fetches one of Debian 12's kernels with `apt-get download`, and lays out in
# OUT_DIR what a QEMU guest needs from it:
#   OUT_DIR/vmlinuz, OUT_DIR/config       the kernel and its build config
#   OUT_DIR/modules/lib/modules/<kver>/   the requested modules, their
#                                         dependencies, and a modules.dep
#   OUT_DIR/modules.load                  module paths, dependencies first
#   OUT_DIR/package                       "<package> <version>", the cache key
# A second run with the same package version does nothing, so the 70 MB
# download happens once per build tree (and per kernel update). When apt
# cannot answer (offline) an already fetched kernel is used as it is.
#
# usage: fetch_kernel.sh [--arch amd64|arm64] [--kernel 6.1|6.12] OUT_DIR [MODULE...]
#   --arch amd64   (default) or arm64: Debian's kernel for that architecture
#                  (arm64 needs `dpkg --add-architecture arm64`: scripts/setup.sh)
#   --kernel 6.1   (default) the package linux-image-ARCH depends on today:
#                  Debian 12's own kernel
#   --kernel 6.12  the newest linux-image-6.12.*+deb12-ARCH the archive has
#                  (bookworm's backported 6.12, from the same archive)
#   Each kernel wants its own OUT_DIR: the cache holds one package.
#   default modules: loop ext4 overlay crc32c_generic rbd dm_mod. crc32c_generic is
#   named because libcrc32c (under rbd) wants it only as a soft dependency on
#   the crypto alias "crc32c", which .modinfo's depends= does not list.
#   dm_mod (device-mapper, with dm-linear built into it) serves the dm
#   remove scenarios (tests/privileged/dm_remove_test.cpp).
#   On arm64 also virtio_mmio and virtio_console: the results port is a
#   virtio console there (the virt machine has one UART; scripts/vm/qemu_guest.sh).
set -euo pipefail

kernel=6.1 arch=amd64
while [[ "${1:-}" == --kernel || "${1:-}" == --arch ]]; do
  case "$1" in
    --kernel) kernel="${2:?--kernel needs 6.1 or 6.12}" ;;
    --arch) arch="${2:?--arch needs amd64 or arm64}" ;;
  esac
  shift 2
done
out="${1:?usage: fetch_kernel.sh [--arch amd64|arm64] [--kernel 6.1|6.12] OUT_DIR [MODULE...]}"
shift
modules=("$@")
if ((${#modules[@]} == 0)); then
  modules=(loop ext4 overlay crc32c_generic rbd dm_mod)
  [[ "$arch" == arm64 ]] && modules+=(virtio_mmio virtio_console)
fi

say() { echo "fetch_kernel: $*" >&2; }
die() {
  say "$*"
  exit 1
}

# The versioned package of the kernel asked for, e.g. linux-image-6.1.0-56-amd64
# (behind the meta-package) or linux-image-6.12.117+deb12-amd64 (no
# meta-package names it: the highest version among the names wins).
resolve_package() {
  case "$kernel" in
    6.1)
      apt-cache depends "linux-image-$arch:$arch" 2>/dev/null |
        awk -v a="$arch" '$1 == "Depends:" && $2 ~ ("^linux-image-6\\.1\\.[0-9].*-" a "(:" a ")?$") { sub(/:.*/, "", $2); print $2; exit }'
      ;;
    6.12)
      apt-cache search --names-only "^linux-image-6\\.12\\.[0-9]+\\+deb12-$arch\$" 2>/dev/null |
        awk '{ print $1 }' | sort -V | tail -n1
      ;;
  esac
}
case "$kernel" in
  6.1 | 6.12) ;;
  *) die "--kernel must be 6.1 or 6.12, not $kernel" ;;
esac
case "$arch" in
  amd64 | arm64) ;;
  *) die "--arch must be amd64 or arm64, not $arch" ;;
esac

package="$(resolve_package || true)"
if [[ -z "$package" && $EUID -eq 0 && -z "${MOUNTLEAK_VM_NO_APT_UPDATE:-}" ]]; then
  # A machine that never ran `apt-get update` knows no candidates yet.
  say "apt-cache knows no $kernel kernel package; running apt-get update"
  apt-get update -qq >&2 || true
  package="$(resolve_package || true)"
fi
version=""
[[ -n "$package" ]] && version="$(apt-cache show --no-all-versions "$package:$arch" 2>/dev/null |
  awk '$1 == "Version:" { print $2; exit }')"

if [[ -z "$package" || -z "$version" ]]; then
  [[ -s "$out/package" && -s "$out/vmlinuz" ]] ||
    die "cannot resolve Debian's $kernel kernel with apt-cache, and nothing is cached in $out"
  say "apt-cache cannot resolve Debian's $kernel kernel; using the cached $(cat "$out/package")"
  exit 0
fi

wanted="$package $version ${modules[*]}"
if [[ -s "$out/package" && "$(cat "$out/package")" == "$wanted" && -s "$out/vmlinuz" ]]; then
  say "cached: $package $version"
  exit 0
fi

mkdir -p "$out"
work="$(mktemp -d "$out/.fetch.XXXXXX")"
trap 'rm -rf "$work"' EXIT

deb=""
for d in "$out"/"$package"_*.deb; do
  [[ -f "$d" && "$(dpkg-deb -f "$d" Version)" == "$version" ]] && deb="$d"
done
if [[ -z "$deb" ]]; then
  say "downloading $package $version"
  rm -f "$out"/linux-image-*.deb
  # apt's sandbox user cannot write into root-owned build trees; the download
  # then runs unsandboxed, which is fine for a package only dpkg-deb reads.
  (cd "$work" && apt-get download -q "$package:$arch=$version" >/dev/null 2>&1) ||
    (cd "$work" && apt-get download "$package:$arch=$version" >&2) ||
    die "apt-get download $package:$arch=$version failed"
  mv "$work"/*.deb "$out/"
  deb="$(ls "$out"/"$package"_*.deb)"
fi

say "extracting $(basename "$deb")"
dpkg-deb -x "$deb" "$work/root"
kver="$(ls "$work/root/lib/modules")"
[[ -n "$kver" && -f "$work/root/boot/vmlinuz-$kver" ]] || die "no vmlinuz-$kver in $deb"
src="$work/root/lib/modules/$kver"

# Dependencies come from each module's own .modinfo "depends=" (what
# `modinfo -F depends` prints); the package ships no modules.dep (its
# postinst runs depmod), and kmod need not be installed here.
declare -A path_of=()
# No subshells per module: there are thousands, and forks are slow here.
while IFS= read -r p; do
  name="${p##*/}"
  name="${name%%.ko*}"
  path_of["${name//-/_}"]="${p#"$src/"}"
done < <(find "$src/kernel" -name '*.ko*')

depends_of() {
  local file="$src/$1" tmp="$work/modinfo"
  case "$file" in
    *.ko.xz) xz -dc "$file" >"$tmp.ko" ;;
    *.ko.zst) zstd -qdc "$file" >"$tmp.ko" ;;
    *.ko.gz) gzip -dc "$file" >"$tmp.ko" ;;
    *) cp "$file" "$tmp.ko" ;;
  esac
  "$objcopy" -O binary --only-section=.modinfo "$tmp.ko" "$tmp.bin" || return 1
  tr '\0' '\n' <"$tmp.bin" | sed -n 's/^depends=//p' | tr ',' '\n' | sed '/^$/d'
}

config="$work/root/boot/config-$kver"
# The machine's objcopy reads its own architecture's ELF only.
objcopy=objcopy
[[ "$arch" == arm64 ]] && objcopy=aarch64-linux-gnu-objcopy
command -v "$objcopy" >/dev/null || die "no $objcopy (scripts/setup.sh installs it)"
declare -A loaded=() all_deps=()
order=()
# Depth-first: a module is appended after everything it depends on.
visit() {
  local name="${1//-/_}" dep deps=()
  [[ -n "${loaded[$name]:-}" ]] && return 0
  local rel="${path_of[$name]:-}"
  if [[ -z "$rel" ]]; then
    # Built in (=y) needs no loading; anything else is a real gap.
    if grep -qxF "$name" <(sed 's#.*/##; s/\.ko.*//; s/-/_/g' "$src/modules.builtin"); then
      say "$name is built into $kver"
      loaded[$name]=builtin
      return 0
    fi
    die "module $name is neither built into $kver nor shipped in $package"
  fi
  loaded[$name]=visiting
  # Not read from a process substitution: its failure would go unseen, and
  # a module loaded without its dependencies fails only in the guest.
  depends_of "$rel" >"$work/deps" || die "cannot read .modinfo of $rel"
  mapfile -t deps <"$work/deps"
  local closure=""
  for dep in "${deps[@]}"; do
    visit "$dep"
    dep="${dep//-/_}"
    [[ "${loaded[$dep]}" == builtin ]] && continue
    closure+=" ${path_of[$dep]}${all_deps[$dep]:-}"
  done
  all_deps[$name]="$closure"
  loaded[$name]=done
  order+=("$rel")
}
for m in "${modules[@]}"; do visit "$m"; done

stage="$work/out"
mkdir -p "$stage/modules/lib/modules/$kver"
cp "$work/root/boot/vmlinuz-$kver" "$stage/vmlinuz"
cp "$config" "$stage/config"
cp "$src/modules.builtin" "$src/modules.order" "$stage/modules/lib/modules/$kver/" 2>/dev/null || true
: >"$stage/modules/lib/modules/$kver/modules.dep"
: >"$stage/modules.load"
for rel in "${order[@]}"; do
  name="${rel##*/}"
  name="${name%%.ko*}"
  name="${name//-/_}"
  mkdir -p "$stage/modules/lib/modules/$kver/$(dirname "$rel")"
  # Decompressed here: busybox insmod in the guest takes plain ELF only.
  dest="$stage/modules/lib/modules/$kver/${rel%%.ko*}.ko"
  case "$rel" in
    *.ko.xz) xz -dc "$src/$rel" >"$dest" ;;
    *.ko.zst) zstd -qdc "$src/$rel" >"$dest" ;;
    *.ko.gz) gzip -dc "$src/$rel" >"$dest" ;;
    *) cp "$src/$rel" "$dest" ;;
  esac
  # modules.dep lists the whole closure, nearest dependency first.
  deps="$(echo "${all_deps[$name]}" | tr ' ' '\n' | sed '/^$/d; s/\.ko.*/.ko/' | awk '!seen[$0]++' | tr '\n' ' ')"
  echo "${rel%%.ko*}.ko: ${deps% }" | sed 's/: $/:/' >>"$stage/modules/lib/modules/$kver/modules.dep"
  echo "lib/modules/$kver/${rel%%.ko*}.ko" >>"$stage/modules.load"
done
echo "$wanted" >"$stage/package"
echo "$kver" >"$stage/kver"

# Swap in atomically enough: a half-written cache never carries a package stamp.
rm -rf "$out/vmlinuz" "$out/config" "$out/modules" "$out/modules.load" "$out/package" "$out/kver"
mv "$stage"/* "$out/"
say "ready: $package $version ($kver), modules: $(tr '\n' ' ' <"$out/modules.load")"
