#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs everything mountleak needs to build and test, from Debian 12's
# packages only. Idempotent: installs nothing when everything is present.
#
# usage: setup.sh [--arm64]
#   --arm64  also what the opt-in arm64 vm lane needs (cmake
#            -DMOUNTLEAK_VM_ARM64=ON): arm64 as a foreign dpkg architecture,
#            the cross toolchain, arm64 libraries and qemu-system-arm
set -euo pipefail

arm64=0
case "${1:-}" in
  "") ;;
  --arm64) arm64=1 ;;
  *) echo "usage: setup.sh [--arm64]" >&2; exit 2 ;;
esac

packages=(
  # build
  cmake ninja-build g++ pkg-config
  clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev
  libcli11-dev nlohmann-json3-dev libfmt-dev librbd-dev librados-dev libcap-dev libyaml-cpp-dev
  libmicrohttpd-dev
  # tests: GoogleTest, libFuzzer's runtime, and the tools the fixture uses
  libgtest-dev googletest libclang-rt-14-dev e2fsprogs util-linux procps libfuse3-dev
  # the Ceph tests: a throwaway loopback cluster (scripts/ceph)
  ceph-mon ceph-osd ceph-common socat
  # the cross tier (tests/arch): another architecture's kernel BTF cut from
  # its image (xz: x86's bzImage payload), the object checked with readelf
  binutils xz-utils
  # the vm lane: Debian's kernel under QEMU with a busybox initramfs, and
  # dmsetup shipped into it for the dm remove scenarios
  qemu-system-x86 busybox-static jq dmsetup
  # deploy/: the DaemonSet parsed with yaml-cpp, the unit checked by
  # systemd-analyze, and the DaemonSet's container run under containerd
  libyaml-cpp-dev systemd containerd runc
  # the privileged tier's real dockerd (20.10; tests start their own, see
  # tests/privileged/dockerd_runtime.h)
  docker.io
)

# The arm64 lane (tests/vm/, scripts/build_cross.sh), only when asked: Debian's
# cross toolchain, the arm64 libraries mountleak and privileged_tests link
# (multiarch, beside this machine's), and the emulator. librbd's and
# librados' headers are the same on every architecture and only they are
# used (the libraries are opened at run time), so the machine's librbd-dev
# serves; the arm64 -dev packages would remove the machine's Ceph.
# libyaml-cpp-dev:arm64 cannot be installed beside libyaml-cpp-dev: the
# cross build unpacks it (scripts/unpack_debs.sh), as the arm64 guest does
# busybox-static, dash, e2fsprogs, mount and dmsetup.
if ((arm64)); then
  packages+=(
    g++-aarch64-linux-gnu binutils-aarch64-linux-gnu file qemu-system-arm
    libbpf-dev:arm64 libelf-dev:arm64 zlib1g-dev:arm64 libfmt-dev:arm64 libcap-dev:arm64
    libmicrohttpd-dev:arm64 libgtest-dev:arm64 libfuse3-dev:arm64 libyaml-cpp0.7:arm64
  )
fi

# The arm64 packages above come from the same archive once dpkg knows the
# architecture (apt-get update below then fetches its lists).
if ((arm64)) && ! dpkg --print-foreign-architectures | grep -qx arm64; then
  if [[ $EUID -ne 0 ]]; then
    echo "setup.sh: dpkg does not know arm64; run as root to add it" >&2
    exit 1
  fi
  dpkg --add-architecture arm64
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  if [[ $EUID -ne 0 ]]; then
    echo "setup.sh: missing packages (${missing[*]}); run as root to install them" >&2
    exit 1
  fi
  echo "setup.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The tests run a dockerd of their own, with its own data root and socket.
  # The package's units would start the system's (/var/lib/docker,
  # /run/docker.sock) on a machine that had none: stop it and leave it off.
  # A docker.io that was already installed is the operator's and left alone.
  if [[ " ${missing[*]} " == *" docker.io "* ]]; then
    if [[ -d /run/systemd/system ]]; then
      systemctl disable --now docker.service docker.socket >/dev/null 2>&1 || true
    else
      systemctl disable docker.service docker.socket >/dev/null 2>&1 || true
      if [[ -x /etc/init.d/docker ]]; then
        /etc/init.d/docker stop >/dev/null 2>&1 || true
        update-rc.d docker disable >/dev/null 2>&1 || true
      fi
    fi
  fi
fi
