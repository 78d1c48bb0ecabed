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

static __always_inline int mntns_copied(__u64 flags, struct mnt_namespace *ns, struct mnt_namespace *ret)
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

SEC("?fexit/copy_mnt_ns")
int BPF_PROG(ml_fexit_copy_mnt_ns, __u64 flags, struct mnt_namespace *ns,
	     struct user_namespace *user_ns, struct fs_struct *new_fs, struct mnt_namespace *ret)
{
	return mntns_copied(flags, ns, ret);
}

/* Every call is saved, CLONE_NEWNS or not (it is called for any new
 * namespace set), so that a missing entry at return is a real miss. The
 * old namespace is held by the caller until the copy returns. */
ML_ENTRY_MAP(copy_mnt_ns_args);

SEC("?kprobe/copy_mnt_ns")
int BPF_KPROBE(ml_kprobe_copy_mnt_ns, __u64 flags, struct mnt_namespace *ns)
{
	struct pending_syscall p = {.args = {flags, (__u64)ns}};

	entry_save(&copy_mnt_ns_args, &p);
	return 0;
}

SEC("?kretprobe/copy_mnt_ns")
int BPF_KRETPROBE(ml_kretprobe_copy_mnt_ns, struct mnt_namespace *ret)
{
	struct pending_syscall p;

	if (!entry_take(&copy_mnt_ns_args, &p))
		return 0;
	return mntns_copied(p.args[0], (struct mnt_namespace *)p.args[1], ret);
}

/* The task is still in its old namespace here; the switch follows once
 * every namespace of the set is installed. */
static __always_inline int mntns_installed(__u32 target, int ret)
{
	struct ml_namespace_event *e;
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

SEC("?fexit/mntns_install")
int BPF_PROG(ml_fexit_mntns_install, struct nsset *nsset, struct ns_common *ns, int ret)
{
	return mntns_installed(BPF_CORE_READ(ns, inum), ret);
}

ML_ENTRY_MAP(mntns_install_args);

SEC("?kprobe/mntns_install")
int BPF_KPROBE(ml_kprobe_mntns_install, struct nsset *nsset, struct ns_common *ns)
{
	struct pending_syscall p = {.args = {BPF_CORE_READ(ns, inum)}};

	entry_save(&mntns_install_args, &p);
	return 0;
}

SEC("?kretprobe/mntns_install")
int BPF_KRETPROBE(ml_kretprobe_mntns_install, int ret)
{
	struct pending_syscall p;

	if (!entry_take(&mntns_install_args, &p))
		return 0;
	return mntns_installed((__u32)p.args[0], ret);
}
