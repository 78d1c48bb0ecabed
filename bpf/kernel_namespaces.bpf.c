// SPDX-License-Identifier: GPL-2.0-only
/*
 * Kernel tier for mount namespace copies: copy_mnt_ns itself, for clone,
 * unshare and anything else that copies a namespace.
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
	struct ml_event *e;

	if (!(flags & CLONE_NEWNS) || (unsigned long)ret >= (unsigned long)-4095 || !ret)
		return 0;
	e = event_reserve(ML_EV_MNTNS);
	if (!e)
		return 0;
	e->tier = ML_TIER_KERNEL;
	/* For clone the new namespace's task does not exist yet: the event
	 * names the task that asked for the copy (the parent). */
	e->old_mntns = BPF_CORE_READ(ns, ns.inum);
	e->mntns = BPF_CORE_READ(ret, ns.inum);
	e->flags = flags;
	event_submit(e);
	return 0;
}
