// SPDX-License-Identifier: GPL-2.0-only
/*
 * Kernel tier for mount namespaces: copy_mnt_ns itself, for clone, unshare
 * and anything else that copies a namespace; mntns_install for setns(2)
 * into one (by namespace file or pidfd).
 *
 * Its first argument is `unsigned long` on older kernels and `u64` on newer
 * ones; both are one 64-bit slot of the fexit context on every 64-bit
 * architecture, so one program reads both.
 */
#include "common.bpf.h"

SEC("?fexit/copy_mnt_ns")
int BPF_PROG(ml_fexit_copy_mnt_ns, __u64 flags, struct mnt_namespace *ns,
	     struct user_namespace *user_ns, struct fs_struct *new_fs, struct mnt_namespace *ret)
{
	struct ml_namespace_event *e;

	if (!(flags & CLONE_NEWNS) || (unsigned long)ret >= (unsigned long)-4095 || !ret)
		return 0;
	e = event_reserve(ml_namespace_event, ML_EV_MNTNS);
	if (!e)
		return 0;
	e->h.tier = ML_TIER_KERNEL;
	/* For clone the new namespace's task does not exist yet: the event
	 * names the task that asked for the copy (the parent). */
	e->old_mntns = BPF_CORE_READ(ns, ns.inum);
	e->h.mntns = BPF_CORE_READ(ret, ns.inum);
	e->flags = flags;
	e->pad0 = 0;
	event_submit(e);
	return 0;
}

/* The task is still in its old namespace here; the switch follows once
 * every namespace of the set is installed. */
SEC("?fexit/mntns_install")
int BPF_PROG(ml_fexit_mntns_install, struct nsset *nsset, struct ns_common *ns, int ret)
{
	struct ml_namespace_event *e;
	__u32 target = BPF_CORE_READ(ns, inum);
	__u32 current_ns = current_mntns();

	if (ret != 0 || target == current_ns)
		return 0;
	e = event_reserve(ml_namespace_event, ML_EV_SETNS);
	if (!e)
		return 0;
	e->h.tier = ML_TIER_KERNEL;
	e->old_mntns = current_ns;
	e->h.mntns = target;
	e->flags = CLONE_NEWNS;
	e->pad0 = 0;
	event_submit(e);
	return 0;
}
