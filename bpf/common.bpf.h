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
#define ML_ABI_SIZE(type, n) _Static_assert(sizeof(struct type) == n, #type " size: bump MOUNTLEAK_ABI_VERSION")
#define ML_ABI_AT(type, field, n) _Static_assert(__builtin_offsetof(struct type, field) == n, #type " layout")
ML_ABI_SIZE(ml_event_header, 64);
ML_ABI_AT(ml_event_header, kind, 16);
ML_ABI_AT(ml_event_header, size, 20);
ML_ABI_AT(ml_event_header, ret, 40);
ML_ABI_AT(ml_event_header, comm, 48);
ML_ABI_SIZE(ml_namespace_event, 80);
ML_ABI_AT(ml_namespace_event, old_mntns, 72);
ML_ABI_SIZE(ml_mount_event, 600);
ML_ABI_AT(ml_mount_event, target, 328);
ML_ABI_AT(ml_mount_event, fstype, 584);
ML_ABI_SIZE(ml_umount_event, 328);
ML_ABI_SIZE(ml_open_tree_event, 336);
ML_ABI_AT(ml_open_tree_event, path, 80);
ML_ABI_SIZE(ml_move_mount_event, 592);
ML_ABI_AT(ml_move_mount_event, to, 336);
ML_ABI_SIZE(ml_fsmount_event, 88);
ML_ABI_SIZE(ml_mount_setattr_event, 352);
ML_ABI_AT(ml_mount_setattr_event, path, 96);
ML_ABI_SIZE(ml_propagate_event, 328);
ML_ABI_SIZE(ml_busy_event, 608);
ML_ABI_AT(ml_busy_event, source, 88);
ML_ABI_AT(ml_busy_event, path, 96);
ML_ABI_AT(ml_busy_event, file, 352);

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

/* Reserves a record of `size` bytes and fills its header from the current
 * task; the caller fills the rest. Every field must be written, since ring
 * buffer memory is not zeroed (a string's first byte will do). */
static __always_inline void *header_reserve(__u32 kind, __u32 size)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct ml_event_header *h;

	h = bpf_ringbuf_reserve(&events, size, 0);
	if (!h) {
		count(ML_CNT_DROPPED_RINGBUF);
		return NULL;
	}
	h->ts_ns = bpf_ktime_get_ns();
	h->cgroup_id = bpf_get_current_cgroup_id();
	h->kind = kind;
	h->size = size;
	h->pid = pid_tgid >> 32;
	h->tid = (__u32)pid_tgid;
	h->ppid = BPF_CORE_READ(task, real_parent, tgid);
	h->mntns = task_mntns(task);
	h->ret = 0;
	h->tier = ML_TIER_TRACEPOINT;
	bpf_get_current_comm(h->comm, sizeof(h->comm));
	return h;
}

/* A record of `type` (struct ml_..._event) for `kind`, at its own size. */
#define event_reserve(type, kind) ((struct type *)header_reserve(kind, sizeof(struct type)))

/* Whether to wake the collector for this event. A wakeup is an interrupt
 * and a context switch per event: in a mount storm it was 37% of the CPU
 * the storm cost. Mount and namespace events need none, since the collector
 * polls every 20 ms anyway and judges a namespace only once its events
 * settle (50 ms). A busy event is what an operator waits for: it wakes the
 * collector at once. So does any event while the ring is more than an
 * eighth full, so that a storm cannot fill the ring between two polls. */
static __always_inline __u64 wakeup_flag(const struct ml_event_header *h)
{
	if (h->kind == ML_EV_BUSY)
		return BPF_RB_FORCE_WAKEUP;
	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >
	    bpf_ringbuf_query(&events, BPF_RB_RING_SIZE) / 8)
		return BPF_RB_FORCE_WAKEUP;
	return BPF_RB_NO_WAKEUP;
}

/* Submits any record by its header (its first member). */
#define event_submit(e) header_submit(&(e)->h)

static __always_inline void header_submit(struct ml_event_header *h)
{
	bpf_ringbuf_submit(h, wakeup_flag(h));
	count(ML_CNT_EMITTED);
}

/* A busy event: an EBUSY from one of the busy hooks, every field but the
 * header's set to nothing, the caller fills what its hook knows. */
static __always_inline struct ml_busy_event *busy_reserve(__u32 source, long ret)
{
	struct ml_busy_event *e = event_reserve(ml_busy_event, ML_EV_BUSY);

	if (e) {
		e->h.ret = ret;
		e->flags = 0;
		e->arg = 0;
		e->dev = 0;
		e->source = source;
		/* A relative path is the process's cwd's unless a call says otherwise. */
		e->dfd = ML_AT_FDCWD;
		e->path[0] = 0;
		e->file[0] = 0;
	}
	return e;
}

/* The block device a file is open on: its kernel dev_t and its node's name,
 * for an ioctl that failed on it (both tiers). */
static __always_inline void name_block_file(struct ml_busy_event *e, struct file *f)
{
	e->dev = BPF_CORE_READ(f, f_inode, i_rdev);
	if (bpf_probe_read_kernel_str(e->path, sizeof(e->path),
				      BPF_CORE_READ(f, f_path.dentry, d_name.name)) < 0)
		e->path[0] = 0;
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

/*
 * A kretprobe sees only the return value: the arguments it needs are saved
 * by the kprobe at the function's entry, per thread, in a map of that
 * function's own (ML_ENTRY_MAP), never in `pending`. path_mount calls
 * attach_recursive_mnt on the same thread, and a syscall tracepoint of
 * another hook may be active beside a kprobe: one shared slot per thread
 * would be overwritten by the inner call and read back by the outer one.
 *
 * A record must not outlive its call into another call's return: the entry
 * overwrites any record its thread left (a return the kernel missed, e.g.
 * more calls in flight than the kretprobe's instances), and when it cannot
 * store one it deletes the old one; the return always deletes. A return
 * finds its own entry's arguments or none, and none is counted. One case
 * is left: a missed return, then on the same thread an entry whose program
 * did not run at all (the kernel skips a kprobe program while another runs
 * on that CPU) would hand the older call's arguments to the newer return.
 * Both misses are the kernel's own counters (the kretprobe's nmissed, the
 * program's recursion misses), and the stale arguments are those of the
 * same function on the same thread.
 *
 * The bound: calls in flight at once, which kretprobe instances cap anyway
 * (the kernel's default is 2 per CPU, at least 10), plus stale records of
 * threads that exited after a missed return, until the bound is reached.
 * The map of ml_kprobe_F is named F_args: the loader shrinks the maps of
 * kprobes it does not load by that name (sources/bpf/entry_maps.h).
 */
#define ML_ENTRY_MAX 1024
#define ML_ENTRY_MAP(name)                                      \
	struct {                                                \
		__uint(type, BPF_MAP_TYPE_HASH);                \
		__uint(max_entries, ML_ENTRY_MAX);              \
		__type(key, __u32);                             \
		__type(value, struct pending_syscall);          \
	} name SEC(".maps")

/* At a kprobe: keeps `p` for this thread's return from the same function. */
static __always_inline void entry_save(void *map, const struct pending_syscall *p)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	if (bpf_map_update_elem(map, &tid, p, BPF_ANY)) {
		count(ML_CNT_DROPPED_PENDING);
		bpf_map_delete_elem(map, &tid);
	}
}

/* At the kretprobe: the entry's record, removed; false (and counted) when
 * the entry was not seen or could not be kept. */
static __always_inline bool entry_take(void *map, struct pending_syscall *out)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct pending_syscall *p = bpf_map_lookup_elem(map, &tid);

	if (!p) {
		count(ML_CNT_MISSED_ENTRY);
		return false;
	}
	__builtin_memcpy(out, p, sizeof(*out));
	bpf_map_delete_elem(map, &tid);
	return true;
}

#endif /* MOUNTLEAK_COMMON_BPF_H */
