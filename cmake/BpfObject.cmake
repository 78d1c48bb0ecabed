# SPDX-License-Identifier: Apache-2.0
#
# bpf_skeleton(NAME SOURCES a.bpf.c b.bpf.c ... [DEFINES X=1 ...])
#
# Compiles every .bpf.c with clang for the BPF target, links the objects into
# one with `bpftool gen object` and generates one skeleton header,
# ${CMAKE_BINARY_DIR}/gen/NAME.skel.h. The result is an INTERFACE target NAME
# that adds the generated directory to the include path; the linked object is
# also kept as ${CMAKE_BINARY_DIR}/gen/NAME.bpf.o for tests that load it by
# path.

find_program(BPF_CLANG NAMES clang clang-14 REQUIRED)
find_program(BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin REQUIRED)

set(MOUNTLEAK_VMLINUX_BTF "/sys/kernel/btf/vmlinux" CACHE FILEPATH
    "Kernel BTF used to generate vmlinux.h (any kernel with BTF will do; CO-RE relocates at load time)")

set(BPF_GEN_DIR ${CMAKE_BINARY_DIR}/gen)
file(MAKE_DIRECTORY ${BPF_GEN_DIR})

# vmlinux.h is generated, not checked in: CO-RE relocations make the program
# independent of the kernel the header came from, and a generated header
# never drifts from the types it describes.
add_custom_command(
  OUTPUT ${BPF_GEN_DIR}/vmlinux.h
  COMMAND ${BPFTOOL} btf dump file ${MOUNTLEAK_VMLINUX_BTF} format c > ${BPF_GEN_DIR}/vmlinux.h.tmp
  COMMAND ${CMAKE_COMMAND} -E rename ${BPF_GEN_DIR}/vmlinux.h.tmp ${BPF_GEN_DIR}/vmlinux.h
  COMMENT "Generating vmlinux.h from ${MOUNTLEAK_VMLINUX_BTF}"
  VERBATIM)
add_custom_target(vmlinux_h DEPENDS ${BPF_GEN_DIR}/vmlinux.h)

function(bpf_skeleton name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEFINES;DEPENDS" ${ARGN})
  set(objects "")
  set(define_flags "")
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
      COMMAND ${BPF_CLANG} -g -O2 -target bpf -D__TARGET_ARCH_x86 ${define_flags}
              -Wall -Werror -Wno-unused-function
              -I${BPF_GEN_DIR} -I${CMAKE_SOURCE_DIR}/include -I${CMAKE_SOURCE_DIR}/bpf
              -c ${CMAKE_SOURCE_DIR}/${src} -o ${obj}
      DEPENDS ${CMAKE_SOURCE_DIR}/${src} ${bpf_headers} ${BPF_GEN_DIR}/vmlinux.h ${ARG_DEPENDS}
      COMMENT "BPF ${src} (${name})"
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
