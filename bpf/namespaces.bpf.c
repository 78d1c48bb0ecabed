// SPDX-License-Identifier: GPL-2.0-only
/*
 * Mount namespace creation and entry, on the tracepoint tier.
 *
 * clone/clone3/vfork are all seen through sched_process_fork, where the
 * child's nsproxy is already set up: one hook for every way to fork, and
 * for the common case (no CLONE_NEWNS) the cost is two pointer reads and a
 * compare.
 */
#include "common.bpf.h"

SEC("raw_tp/sched_process_fork")
int BPF_PROG(ml_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 parent_ns = task_mntns(parent);
	__u32 child_ns = task_mntns(child);
	struct ml_namespace_event *e;

	if (parent_ns == child_ns || !child_ns)
		return 0;
	e = event_reserve(ml_namespace_event, ML_EV_MNTNS);
	if (!e)
		return 0;
	/* The event describes the child: the task that owns the new namespace. */
	e->h.pid = BPF_CORE_READ(child, tgid);
	e->h.tid = BPF_CORE_READ(child, pid);
	e->h.ppid = BPF_CORE_READ(parent, tgid);
	e->h.mntns = child_ns;
	e->old_mntns = parent_ns;
	e->flags = CLONE_NEWNS;
	e->pad0 = 0;
	event_submit(e);
	return 0;
}

/*
 * The passive tier's view of unshare and setns, which it has no syscall
 * hook for: a task that execs in a mount namespace other than its parent's
 * has moved since the parent made it (runc's container init, `unshare -m
 * CMD`, `nsenter -m CMD`). flags 0 says "seen, not made here": the
 * collector adds the task to a namespace it knows and reads one it does
 * not. Exec is rare next to syscalls; the common case costs two reads and
 * a compare.
 */
SEC("raw_tp/sched_process_exec")
int BPF_PROG(ml_exec, struct task_struct *task)
{
	struct task_struct *parent = BPF_CORE_READ(task, real_parent);
	__u32 parent_ns = parent ? task_mntns(parent) : 0;
	__u32 ns = task_mntns(task);
	struct ml_namespace_event *e;

	if (ns == parent_ns || !ns)
		return 0;
	e = event_reserve(ml_namespace_event, ML_EV_MNTNS);
	if (!e)
		return 0;
	e->old_mntns = parent_ns;
	e->flags = 0;
	e->pad0 = 0;
	event_submit(e);
	return 0;
}

SEC("tp/syscalls/sys_enter_unshare")
int ml_enter_unshare(struct trace_event_raw_sys_enter *ctx)
{
	if (!(ctx->args[0] & CLONE_NEWNS))
		return 0;
	pending_save(ctx, ML_EV_MNTNS, 1);
	return 0;
}

SEC("tp/syscalls/sys_enter_setns")
int ml_enter_setns(struct trace_event_raw_sys_enter *ctx)
{
	pending_save(ctx, ML_EV_SETNS, 2);
	return 0;
}

/* Shared by unshare and setns: emit when the namespace really changed. */
static __always_inline int namespace_exit(struct trace_event_raw_sys_exit *ctx, bool expected)
{
	struct pending_syscall p;
	struct ml_namespace_event *e;
	__u32 now_ns;

	if (!pending_take(&p, expected))
		return 0;
	now_ns = current_mntns();
	if (ctx->ret != 0 || now_ns == p.old_mntns)
		return 0;
	e = event_reserve(ml_namespace_event, p.kind);
	if (!e)
		return 0;
	e->old_mntns = p.old_mntns;
	e->flags = p.kind == ML_EV_MNTNS ? p.args[0] : p.args[1];
	e->pad0 = 0;
	e->h.ret = ctx->ret;
	event_submit(e);
	return 0;
}

SEC("tp/syscalls/sys_exit_unshare")
int ml_exit_unshare(struct trace_event_raw_sys_exit *ctx)
{
	/* Entry saved only unshare(CLONE_NEWNS); other unshares are not missed. */
	return namespace_exit(ctx, false);
}

SEC("tp/syscalls/sys_exit_setns")
int ml_exit_setns(struct trace_event_raw_sys_exit *ctx)
{
	return namespace_exit(ctx, true);
}
