# SPDX-License-Identifier: Apache-2.0
# Cross-building mountleak for arm64 on a Debian machine of another
# architecture, with Debian's own cross toolchain (g++-aarch64-linux-gnu) and
# its multiarch libraries (libbpf-dev:arm64, ... in /usr/lib/aarch64-linux-gnu;
# scripts/setup.sh installs them):
#
#   cmake -S . -B build/arm64 -G Ninja \
#         -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake \
#         -DMOUNTLEAK_CROSS_EXTRA_ROOT=<dir>
#
# The sysroot is / itself: multiarch keeps each architecture's libraries in
# their own directory, and headers that are the same on every architecture
# are shared in /usr/include. MOUNTLEAK_CROSS_EXTRA_ROOT is a second root
# searched after / for the arm64 -dev packages that cannot be installed beside
# the machine's own (Debian's libyaml-cpp-dev is not Multi-Arch: same):
# scripts/unpack_debs.sh unpacks them there. The BPF object is then built for
# arm64 (cmake/BpfObject.cmake picks MOUNTLEAK_BPF_ARCH from
# CMAKE_SYSTEM_PROCESSOR and fetches arm64 kernel BTF for its vmlinux.h).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

# Try-compiles see the same roots as the project.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES MOUNTLEAK_CROSS_EXTRA_ROOT)
set(CMAKE_FIND_ROOT_PATH / ${MOUNTLEAK_CROSS_EXTRA_ROOT})
# Programs (clang, bpftool, pkg-config) are the build machine's; libraries,
# headers and CMake packages only the target's.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# pkg-config reads arm64's .pc files only, never the build machine's (Debian's
# pkg-config has no aarch64-linux-gnu-pkg-config wrapper without
# pkgconf); pkg_check_modules runs at configure time, when this is set.
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_PATH} "")
