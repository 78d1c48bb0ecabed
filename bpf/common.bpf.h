/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers shared by every mountleak BPF program: the ring buffer, the
 * per-CPU drop counters, the per-thread "pending syscall" map and the code
 * that fills an event's common header. Every object defines the maps as
 * weak symbols with identical types, and `bpftool gen object` folds them
 * into one map each.
 */
#ifndef MOUNTLEAK_COMMON_BPF_H
#define MOUNTLEAK_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "mountleak/events.h"
#include "arch.bpf.h"

/* The BPF side's view of the ABI must match userspace's
 * (tests/unit/events_abi_test.cpp pins the same numbers). */
_Static_assert(sizeof(struct ml_event) == 632, "ml_event size: bump MOUNTLEAK_ABI_VERSION");
_Static_assert(__builtin_offsetof(struct ml_event, kind) == 40, "ml_event layout");
_Static_assert(__builtin_offsetof(struct ml_event, comm) == 88, "ml_event layout");
_Static_assert(__builtin_offsetof(struct ml_event, path1) == 104, "ml_event layout");
_Static_assert(__builtin_offsetof(struct ml_event, fstype) == 616, "ml_event layout");

#define EBUSY 16
#define CLONE_NEWNS 0x00020000
#define O_EXCL 00000200
#define ML_AT_FDCWD (-100) /* AT_FDCWD */

/* Arguments of a syscall in flight, saved at entry for its exit. */
struct pending_syscall {
	__u64 args[6];
	__u32 kind;
	__u32 old_mntns;
};

struct events_map {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22); /* userspace may resize before load */
};

struct counters_map {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ML_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
};

struct pending_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct pending_syscall);
};

struct events_map events SEC(".maps") __weak;
struct counters_map counters SEC(".maps") __weak;
struct pending_map pending SEC(".maps") __weak;

static __always_inline void count(__u32 which)
{
	__u64 *slot = bpf_map_lookup_elem(&counters, &which);

	if (slot)
		*slot += 1;
}

static __always_inline __u32 task_mntns(struct task_struct *task)
{
	return BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
}

static __always_inline __u32 current_mntns(void)
{
	return task_mntns((struct task_struct *)bpf_get_current_task());
}

/* Reserves an event and fills the header from the current task. Every
 * field is written, since ring buffer memory is not zeroed. */
static __always_inline struct ml_event *event_reserve(__u32 kind)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct ml_event *e;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(ML_CNT_DROPPED_RINGBUF);
		return NULL;
	}
	e->ts_ns = bpf_ktime_get_ns();
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->flags = 0;
	e->arg = 0;
	e->arg2 = 0;
	e->kind = kind;
	e->pid = pid_tgid >> 32;
	e->tid = (__u32)pid_tgid;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->mntns = task_mntns(task);
	e->old_mntns = 0;
	e->ret = 0;
	e->dfd1 = 0;
	e->dfd2 = 0;
	e->busy_source = ML_BUSY_NONE;
	e->tier = ML_TIER_TRACEPOINT;
	e->pad0 = 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	e->path1[0] = 0;
	e->path2[0] = 0;
	e->fstype[0] = 0;
	return e;
}

/* Whether to wake the collector for this event. A wakeup is an interrupt
 * and a context switch per event: in a mount storm it was 37% of the CPU
 * the storm cost. Mount and namespace events need none, since the collector
 * polls every 20 ms anyway and judges a namespace only once its events
 * settle (50 ms). A busy event is what an operator waits for: it wakes the
 * collector at once. So does any event while the ring is more than an
 * eighth full, so that a storm cannot fill the ring between two polls. */
static __always_inline __u64 wakeup_flag(const struct ml_event *e)
{
	if (e->kind == ML_EV_BUSY)
		return BPF_RB_FORCE_WAKEUP;
	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >
	    bpf_ringbuf_query(&events, BPF_RB_RING_SIZE) / 8)
		return BPF_RB_FORCE_WAKEUP;
	return BPF_RB_NO_WAKEUP;
}

static __always_inline void event_submit(struct ml_event *e)
{
	bpf_ringbuf_submit(e, wakeup_flag(e));
	count(ML_CNT_EMITTED);
}

/* A busy event: an EBUSY from one of the busy hooks. */
static __always_inline struct ml_event *busy_reserve(__u32 source, long ret)
{
	struct ml_event *e = event_reserve(ML_EV_BUSY);

	if (e) {
		e->busy_source = source;
		e->ret = ret;
		/* A relative path is the process's cwd's unless a call says otherwise. */
		e->dfd1 = ML_AT_FDCWD;
	}
	return e;
}

/* The block device a file is open on: its kernel dev_t and its node's name,
 * for an ioctl that failed on it (both tiers). */
static __always_inline void name_block_file(struct ml_event *e, struct file *f)
{
	e->arg2 = BPF_CORE_READ(f, f_inode, i_rdev);
	if (bpf_probe_read_kernel_str(e->path1, sizeof(e->path1),
				      BPF_CORE_READ(f, f_path.dentry, d_name.name)) < 0)
		e->path1[0] = 0;
}

/* The current task's user registers: its syscall's arguments and number,
 * read with PT_REGS_PARMn_CORE_SYSCALL and ML_REGS_SYSCALL_NR. */
static __always_inline struct pt_regs *user_regs(void)
{
	return (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
}

static __always_inline void read_user_str(char *dst, __u32 size, __u64 user_ptr)
{
	if (!user_ptr || bpf_probe_read_user_str(dst, size, (const void *)user_ptr) < 0)
		dst[0] = 0;
}

/* Saves a syscall's first `nargs` arguments at entry; the exit handler takes
 * them back. Only the arguments the syscall has may be read: the kernel
 * refuses to attach a program that reads past the end of the tracepoint's
 * record (EACCES), and unshare's record has one argument. */
static __always_inline void pending_save(struct trace_event_raw_sys_enter *ctx, __u32 kind,
					 const int nargs)
{
	struct pending_syscall p = {};
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	/* Spelled out: a loop becomes a variable ctx offset, which the
	 * verifier rejects. nargs is a constant, so the dead reads vanish. */
	p.args[0] = ctx->args[0];
	if (nargs > 1)
		p.args[1] = ctx->args[1];
	if (nargs > 2)
		p.args[2] = ctx->args[2];
	if (nargs > 3)
		p.args[3] = ctx->args[3];
	if (nargs > 4)
		p.args[4] = ctx->args[4];
	if (nargs > 5)
		p.args[5] = ctx->args[5];
	p.kind = kind;
	p.old_mntns = current_mntns();
	if (bpf_map_update_elem(&pending, &tid, &p, BPF_ANY))
		count(ML_CNT_DROPPED_PENDING);
}

/* Copies and removes the saved arguments; false when entry was not seen.
 * With `expected`, a missing entry is counted: the program was attached
 * mid-syscall or the map was full at entry, and an event may be lost. */
static __always_inline bool pending_take(struct pending_syscall *out, bool expected)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct pending_syscall *p = bpf_map_lookup_elem(&pending, &tid);

	if (!p) {
		if (expected)
			count(ML_CNT_MISSED_ENTRY);
		return false;
	}
	__builtin_memcpy(out, p, sizeof(*out));
	bpf_map_delete_elem(&pending, &tid);
	return true;
}

#endif /* MOUNTLEAK_COMMON_BPF_H */
