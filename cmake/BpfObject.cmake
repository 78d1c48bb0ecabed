# SPDX-License-Identifier: Apache-2.0
#
# bpf_skeleton(NAME SOURCES a.bpf.c b.bpf.c ... [ARCH arch] [DEFINES X=1 ...]
#              [DEPENDS ...])
#
# Compiles every .bpf.c with clang for the BPF target, links the objects into
# one with `bpftool gen object` and generates one skeleton header,
# ${CMAKE_BINARY_DIR}/gen/NAME.skel.h. The result is an INTERFACE target NAME
# that adds the generated directory to the include path; the linked object is
# also kept as ${CMAKE_BINARY_DIR}/gen/NAME.bpf.o for tests that load it by
# path. Like every custom target it is built only when something needs it
# (the loader links NAME).
#
# ARCH (default MOUNTLEAK_BPF_ARCH) is the architecture of the kernel that
# will load the object: it picks vmlinux.h, bpf_tracing.h's register names
# (-D__TARGET_ARCH_<arch>) and bpf/arch.bpf.h's syscall numbers and names.
# Its vmlinux.h comes from bpf_vmlinux_header(); MOUNTLEAK_BPF_ARCH's is
# declared here.

find_program(BPF_CLANG NAMES clang clang-14 REQUIRED)
find_program(BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin REQUIRED)

# The architectures bpf/ is written for, each with the name Debian gives it
# (scripts/fetch_kernel_btf.sh fetches a kernel's BTF by that name).
set(MOUNTLEAK_BPF_ARCHES x86 arm64)
set(MOUNTLEAK_BPF_DEBIAN_ARCH_x86 amd64)
set(MOUNTLEAK_BPF_DEBIAN_ARCH_arm64 arm64)

# The BPF architecture a processor name stands for, "" if bpf/ knows none.
function(_ml_bpf_arch_of processor out)
  if(processor MATCHES "^(x86_64|AMD64|amd64)$")
    set(${out} x86 PARENT_SCOPE)
  elseif(processor MATCHES "^(aarch64|arm64|ARM64)$")
    set(${out} arm64 PARENT_SCOPE)
  else()
    set(${out} "" PARENT_SCOPE)
  endif()
endfunction()
# The target's (the toolchain file's when cross-building) picks the default;
# the build machine's says whose BTF /sys/kernel/btf/vmlinux is.
_ml_bpf_arch_of("${CMAKE_SYSTEM_PROCESSOR}" _ml_system_bpf_arch)
_ml_bpf_arch_of("${CMAKE_HOST_SYSTEM_PROCESSOR}" _ml_host_bpf_arch)
set(MOUNTLEAK_BPF_ARCH "${_ml_system_bpf_arch}" CACHE STRING
    "Architecture of the kernel the BPF object is built for (x86, arm64); defaults to CMAKE_SYSTEM_PROCESSOR's")
set_property(CACHE MOUNTLEAK_BPF_ARCH PROPERTY STRINGS ${MOUNTLEAK_BPF_ARCHES})
if(NOT MOUNTLEAK_BPF_ARCH IN_LIST MOUNTLEAK_BPF_ARCHES)
  message(FATAL_ERROR "MOUNTLEAK_BPF_ARCH is '${MOUNTLEAK_BPF_ARCH}' (CMAKE_SYSTEM_PROCESSOR "
                      "${CMAKE_SYSTEM_PROCESSOR}); bpf/ is written for: ${MOUNTLEAK_BPF_ARCHES}")
endif()

# This machine's BTF describes this machine's architecture only: another
# architecture's object (a cross build, or MOUNTLEAK_BPF_ARCH set by hand)
# needs that architecture's kernel BTF. Unless one is given, the build
# fetches Debian's (scripts/fetch_kernel_btf.sh: apt, no root) into the
# build tree, once.
set(MOUNTLEAK_VMLINUX_BTF "" CACHE FILEPATH
    "Kernel BTF of MOUNTLEAK_BPF_ARCH for vmlinux.h (any kernel with BTF will do: CO-RE relocates at load time); empty: this machine's if it is that architecture, else Debian's kernel's, fetched by the build")
# The BTF of Debian's kernel for `debian_arch` (amd64, arm64), fetched into
# the build tree by the build (scripts/fetch_kernel_btf.sh); its path in out.
function(mountleak_debian_kernel_btf debian_arch out)
  set(btf ${CMAKE_BINARY_DIR}/kernel-btf/${debian_arch}/vmlinux.btf)
  add_custom_command(
    OUTPUT ${btf}
    COMMAND ${CMAKE_COMMAND} -E env BPFTOOL=${BPFTOOL}
            ${CMAKE_SOURCE_DIR}/scripts/fetch_kernel_btf.sh ${debian_arch} ${btf}
    COMMENT "Fetching the BTF of Debian's ${debian_arch} kernel"
    VERBATIM)
  set(${out} ${btf} PARENT_SCOPE)
endfunction()

set(_ml_btf "${MOUNTLEAK_VMLINUX_BTF}")
set(_ml_btf_depends "")
if(NOT _ml_btf AND MOUNTLEAK_BPF_ARCH STREQUAL _ml_host_bpf_arch)
  set(_ml_btf "/sys/kernel/btf/vmlinux")
elseif(NOT _ml_btf)
  mountleak_debian_kernel_btf(${MOUNTLEAK_BPF_DEBIAN_ARCH_${MOUNTLEAK_BPF_ARCH}} _ml_btf)
  set(_ml_btf_depends ${_ml_btf})
endif()

set(BPF_GEN_DIR ${CMAKE_BINARY_DIR}/gen)
file(MAKE_DIRECTORY ${BPF_GEN_DIR})

# bpf_vmlinux_header(ARCH BTF_FILE [DEPENDS ...]): gen/vmlinux/ARCH/vmlinux.h
# from BTF_FILE, once per architecture. DEPENDS names what produces BTF_FILE
# when the build does.
#
# vmlinux.h is generated, not checked in: CO-RE relocations make the program
# independent of the kernel the header came from, and a generated header
# never drifts from the types it describes.
function(bpf_vmlinux_header arch btf)
  cmake_parse_arguments(ARG "" "" "DEPENDS" ${ARGN})
  if(TARGET vmlinux_h_${arch})
    return()
  endif()
  set(dir ${BPF_GEN_DIR}/vmlinux/${arch})
  add_custom_command(
    OUTPUT ${dir}/vmlinux.h
    COMMAND ${CMAKE_COMMAND} -E make_directory ${dir}
    COMMAND ${BPFTOOL} btf dump file ${btf} format c > ${dir}/vmlinux.h.tmp
    COMMAND ${CMAKE_COMMAND} -E rename ${dir}/vmlinux.h.tmp ${dir}/vmlinux.h
    DEPENDS ${ARG_DEPENDS}
    COMMENT "Generating ${arch} vmlinux.h from ${btf}"
    VERBATIM)
  add_custom_target(vmlinux_h_${arch} DEPENDS ${dir}/vmlinux.h)
endfunction()

bpf_vmlinux_header(${MOUNTLEAK_BPF_ARCH} ${_ml_btf} DEPENDS ${_ml_btf_depends})

function(bpf_skeleton name)
  cmake_parse_arguments(ARG "" "ARCH" "SOURCES;DEFINES;DEPENDS" ${ARGN})
  if(NOT ARG_ARCH)
    set(ARG_ARCH ${MOUNTLEAK_BPF_ARCH})
  endif()
  if(NOT TARGET vmlinux_h_${ARG_ARCH})
    message(FATAL_ERROR "bpf_skeleton(${name}): no vmlinux.h for ${ARG_ARCH}; call bpf_vmlinux_header first")
  endif()
  set(vmlinux_dir ${BPF_GEN_DIR}/vmlinux/${ARG_ARCH})
  set(objects "")
  set(define_flags "-D__TARGET_ARCH_${ARG_ARCH}")
  foreach(def ${ARG_DEFINES})
    list(APPEND define_flags "-D${def}")
  endforeach()
  file(GLOB bpf_headers ${CMAKE_SOURCE_DIR}/bpf/*.bpf.h ${CMAKE_SOURCE_DIR}/include/mountleak/*.h)
  foreach(src ${ARG_SOURCES})
    get_filename_component(base ${src} NAME_WE)
    set(obj ${BPF_GEN_DIR}/${name}/${base}.bpf.o)
    add_custom_command(
      OUTPUT ${obj}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${BPF_GEN_DIR}/${name}
      COMMAND ${BPF_CLANG} -g -O2 -target bpf ${define_flags}
              -Wall -Werror -Wno-unused-function
              -I${vmlinux_dir} -I${CMAKE_SOURCE_DIR}/include -I${CMAKE_SOURCE_DIR}/bpf
              -c ${CMAKE_SOURCE_DIR}/${src} -o ${obj}
      DEPENDS ${CMAKE_SOURCE_DIR}/${src} ${bpf_headers} ${vmlinux_dir}/vmlinux.h ${ARG_DEPENDS}
      COMMENT "BPF ${src} (${name}, ${ARG_ARCH})"
      VERBATIM)
    list(APPEND objects ${obj})
  endforeach()

  set(linked ${BPF_GEN_DIR}/${name}.bpf.o)
  set(skel ${BPF_GEN_DIR}/${name}.skel.h)
  add_custom_command(
    OUTPUT ${linked} ${skel}
    COMMAND ${BPFTOOL} gen object ${linked} ${objects}
    COMMAND ${BPFTOOL} gen skeleton ${linked} name ${name} > ${skel}.tmp
    COMMAND ${CMAKE_COMMAND} -E rename ${skel}.tmp ${skel}
    DEPENDS ${objects}
    COMMENT "BPF link + skeleton ${name}"
    VERBATIM)
  add_custom_target(${name}_gen DEPENDS ${linked} ${skel})
  add_library(${name} INTERFACE)
  add_dependencies(${name} ${name}_gen)
  target_include_directories(${name} INTERFACE ${BPF_GEN_DIR})
endfunction()
