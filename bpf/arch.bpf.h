/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What differs between the architectures the object is built for, chosen
 * by -D__TARGET_ARCH_<arch> (MOUNTLEAK_BPF_ARCH in cmake/BpfObject.cmake):
 * syscall numbers, the names of the syscall functions programs attach to,
 * and where the saved user registers keep the syscall number.
 *
 * Syscall arguments are not here: bpf_tracing.h's
 * PT_REGS_PARMn_CORE_SYSCALL(regs) reads them from a task's saved user
 * registers on every architecture (on arm64 the first one from orig_x0,
 * since x0 holds the return value once the syscall is done).
 */
#ifndef MOUNTLEAK_ARCH_BPF_H
#define MOUNTLEAK_ARCH_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>

#if defined(__TARGET_ARCH_x86)

/* arch/x86/entry/syscalls/syscall_64.tbl */
#define ML_NR_MOUNT 165
/* The syscall functions take the user registers (ARCH_HAS_SYSCALL_WRAPPER). */
#define ML_SYSCALL_FUNC(name) "__x64_sys_" #name
#define ML_REGS_SYSCALL_NR(regs) BPF_CORE_READ(regs, orig_ax)

#elif defined(__TARGET_ARCH_arm64)

/* include/uapi/asm-generic/unistd.h, arm64's table */
#define ML_NR_MOUNT 40
#define ML_SYSCALL_FUNC(name) "__arm64_sys_" #name
#define ML_REGS_SYSCALL_NR(regs) BPF_CORE_READ(regs, syscallno)

#else
#error "bpf/ knows the syscalls of x86 and arm64 only: build with -D__TARGET_ARCH_x86 or -D__TARGET_ARCH_arm64"
#endif

#endif /* MOUNTLEAK_ARCH_BPF_H */
