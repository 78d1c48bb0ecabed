// SPDX-License-Identifier: GPL-2.0-only
/*
 * Kernel tier for mount-table changes: the functions that do the work,
 * whichever syscall led there. Off by default ("?" sections); the loader
 * turns them on when the kernel accepts fexit (or kprobes) and the tier
 * table picks them. Each function has an fexit program and, for kernels
 * with kprobes but no BPF trampolines, a kprobe/kretprobe pair that saves
 * the arguments at entry (ML_ENTRY_MAP, common.bpf.h) and builds the same
 * event at return through the same helper.
 *
 *  - path_mount: mount(2) in all its forms, propagation changes included.
 *  - attach_recursive_mnt: every mount attached to a tree (new, bind,
 *    move_mount), in the namespace it lands in.
 *  - path_umount: every unmount and its EBUSY, from umount2 or anywhere.
 *  - propagate_mnt: each copy the kernel makes of a new mount in a peer or
 *    slave mount, i.e. in another namespace.
 *  - propagate_umount: each mount an unmount takes out of other namespaces.
 *  - mount_setattr(2): its work function is static and inlined, so the
 *    program sits on the syscall function itself, whose name is the
 *    architecture's (ML_SYSCALL_FUNC, bpf/arch.bpf.h). A trampoline on one
 *    function, unlike a syscall tracepoint, costs nothing to every other
 *    syscall.
 */
#include "common.bpf.h"
#include "mount_args.bpf.h"

#define MAX_PROPAGATED 32

/* A kernel dev_t as the collector expects it: major << 20 | minor. */
static __always_inline __u64 mount_dev(struct mount *m)
{
	return BPF_CORE_READ(m, mnt.mnt_sb, s_dev);
}

static __always_inline __u32 mount_ns(struct mount *m)
{
	return BPF_CORE_READ(m, mnt_ns, ns.inum);
}

static __always_inline void dentry_name(char *dst, __u32 size, struct dentry *d)
{
	if (bpf_probe_read_kernel_str(dst, size, BPF_CORE_READ(d, d_name.name)) < 0)
		dst[0] = 0;
}

static __always_inline int mount_done(const char *dev_name, struct path *path, unsigned long flags,
				      int ret)
{
	struct ml_mount_event *e;

	if (ret != 0)
		return 0;
	e = event_reserve(ml_mount_event, ML_EV_MOUNT);
	if (!e)
		return 0;
	e->h.tier = ML_TIER_KERNEL;
	e->flags = flags;
	if (bpf_probe_read_kernel_str(e->source, sizeof(e->source), dev_name) < 0)
		e->source[0] = 0;
	dentry_name(e->target, sizeof(e->target), BPF_CORE_READ(path, dentry));
	e->fstype[0] = 0;
	event_submit(e);
	return 0;
}

SEC("?fexit/path_mount")
int BPF_PROG(ml_fexit_path_mount, const char *dev_name, struct path *path, const char *type_page,
	     unsigned long flags, void *data_page, int ret)
{
	return mount_done(dev_name, path, flags, ret);
}

/* dev_name is do_mount's kernel copy and path its lookup: both live until
 * path_mount has returned. */
ML_ENTRY_MAP(path_mount_args);

SEC("?kprobe/path_mount")
int BPF_KPROBE(ml_kprobe_path_mount, const char *dev_name, struct path *path, const char *type_page,
	       unsigned long flags)
{
	struct pending_syscall p = {.args = {(__u64)dev_name, (__u64)path, flags}};

	entry_save(&path_mount_args, &p);
	return 0;
}

SEC("?kretprobe/path_mount")
int BPF_KRETPROBE(ml_kretprobe_path_mount, int ret)
{
	struct pending_syscall p;

	if (!entry_take(&path_mount_args, &p))
		return 0;
	return mount_done((const char *)p.args[0], (struct path *)p.args[1], p.args[2], ret);
}

/* attach_recursive_mnt(source_mnt, ...): its later arguments changed over
 * time (Debian's 6.1 has (source, dest, dest_mp, bool moving), its 6.12
 * (source, top, dest_mp, mnt_tree_flags_t flags)); the source is always
 * first and the result is read by helper, so one program serves both.
 * mount(2) is reported once, by path_mount, with its flags and paths (it
 * can only attach in the caller's own namespace); this program reports the
 * attaches of the new mount API (move_mount), which path_mount never sees.
 * Reporting both doubled the ring traffic of every bind. */
static __always_inline int attached(struct mount *source_mnt, int ret)
{
	struct pt_regs *regs = user_regs();
	struct ml_mount_event *e;
	__u32 ns;

	if (ret != 0)
		return 0;
	if (ML_REGS_SYSCALL_NR(regs) == ML_NR_MOUNT)
		return 0;
	ns = mount_ns(source_mnt);
	e = event_reserve(ml_mount_event, ML_EV_MOUNT);
	if (!e)
		return 0;
	e->h.tier = ML_TIER_KERNEL;
	if (ns)
		e->h.mntns = ns;
	e->flags = 0;
	e->source[0] = 0;
	dentry_name(e->target, sizeof(e->target), BPF_CORE_READ(source_mnt, mnt_mountpoint));
	e->fstype[0] = 0;
	event_submit(e);
	return 0;
}

SEC("?fexit/attach_recursive_mnt")
int BPF_PROG(ml_fexit_attach_recursive_mnt, struct mount *source_mnt)
{
	__u64 ret = 0;

	/* An int result: only the low 32 bits of the return slot are set. */
	if (bpf_get_func_ret(ctx, &ret))
		return 0;
	return attached(source_mnt, (int)ret);
}

/* Its own map: it runs inside path_mount on the same thread. */
ML_ENTRY_MAP(attach_recursive_mnt_args);

SEC("?kprobe/attach_recursive_mnt")
int BPF_KPROBE(ml_kprobe_attach_recursive_mnt, struct mount *source_mnt)
{
	struct pending_syscall p = {.args = {(__u64)source_mnt}};

	entry_save(&attach_recursive_mnt_args, &p);
	return 0;
}

SEC("?kretprobe/attach_recursive_mnt")
int BPF_KRETPROBE(ml_kretprobe_attach_recursive_mnt, int ret)
{
	struct pending_syscall p;

	if (!entry_take(&attach_recursive_mnt_args, &p))
		return 0;
	return attached((struct mount *)p.args[0], ret);
}

static __always_inline int umount_done(struct path *path, int flags, long ret)
{
	/* struct vfsmount is embedded in struct mount. */
	struct mount *m = (struct mount *)((void *)BPF_CORE_READ(path, mnt) -
					   bpf_core_field_offset(struct mount, mnt));

	/* path->dentry is the mounted root ("/"); name the mount point. */
	if (ret == 0) {
		struct ml_umount_event *e = event_reserve(ml_umount_event, ML_EV_UMOUNT);

		if (!e)
			return 0;
		e->h.tier = ML_TIER_KERNEL;
		e->flags = flags;
		dentry_name(e->target, sizeof(e->target), BPF_CORE_READ(m, mnt_mountpoint));
		event_submit(e);
	} else if (ret == -EBUSY) {
		struct ml_busy_event *e = busy_reserve(ML_BUSY_UMOUNT, ret);

		if (!e)
			return 0;
		e->h.tier = ML_TIER_KERNEL;
		e->flags = flags;
		/* No directory: the name is a mount point's last component,
		 * and the device below is what the collector goes by. */
		e->dfd = 0;
		e->dev = mount_dev(m);
		dentry_name(e->path, sizeof(e->path), BPF_CORE_READ(m, mnt_mountpoint));
		event_submit(e);
	}
	return 0;
}

SEC("?fexit/path_umount")
int BPF_PROG(ml_fexit_path_umount, struct path *path, int flags, int ret)
{
	return umount_done(path, flags, ret);
}

ML_ENTRY_MAP(path_umount_args);

SEC("?kprobe/path_umount")
int BPF_KPROBE(ml_kprobe_path_umount, struct path *path, int flags)
{
	struct pending_syscall p = {.args = {(__u64)path, flags}};

	entry_save(&path_umount_args, &p);
	return 0;
}

SEC("?kretprobe/path_umount")
int BPF_KRETPROBE(ml_kretprobe_path_umount, int ret)
{
	struct pending_syscall p;

	if (!entry_take(&path_umount_args, &p))
		return 0;
	return umount_done((struct path *)p.args[0], (int)p.args[1], ret);
}

/* One PROPAGATE_* event for mount m in namespace ns; false when the ring
 * buffer is full (counted), so the caller stops walking. */
static __always_inline bool emit_propagated(__u32 kind, __u32 ns, struct mount *m)
{
	struct ml_propagate_event *e = event_reserve(ml_propagate_event, kind);

	if (!e)
		return false;
	e->h.tier = ML_TIER_KERNEL;
	e->h.mntns = ns;
	e->dev = mount_dev(m);
	dentry_name(e->mountpoint_name, sizeof(e->mountpoint_name),
		    BPF_CORE_READ(m, mnt_mountpoint));
	event_submit(e);
	return true;
}

/* The propagated copies are chained through mnt_hash in tree_list; each
 * one's parent is the mount it was attached under, in its namespace. */
static __always_inline int copies_propagated(struct hlist_head *tree_list, int ret)
{
	struct hlist_node *node;
	__u32 own_ns = current_mntns();

	if (ret != 0)
		return 0;
	node = BPF_CORE_READ(tree_list, first);
	for (int i = 0; i < MAX_PROPAGATED && node; i++) {
		struct mount *copy = (struct mount *)((void *)node -
						      bpf_core_field_offset(struct mount, mnt_hash));
		__u32 ns = mount_ns(BPF_CORE_READ(copy, mnt_parent));

		node = BPF_CORE_READ(node, next);
		if (!ns || ns == own_ns)
			continue;
		if (!emit_propagated(ML_EV_PROPAGATE_MOUNT, ns, copy))
			return 0;
	}
	return 0;
}

SEC("?fexit/propagate_mnt")
int BPF_PROG(ml_fexit_propagate_mnt, struct mount *dest_mnt, struct mountpoint *dest_mp,
	     struct mount *source_mnt, struct hlist_head *tree_list, int ret)
{
	return copies_propagated(tree_list, ret);
}

/* tree_list is the caller's (attach_recursive_mnt's) list head. */
ML_ENTRY_MAP(propagate_mnt_args);

SEC("?kprobe/propagate_mnt")
int BPF_KPROBE(ml_kprobe_propagate_mnt, struct mount *dest_mnt, struct mountpoint *dest_mp,
	       struct mount *source_mnt, struct hlist_head *tree_list)
{
	struct pending_syscall p = {.args = {(__u64)tree_list}};

	entry_save(&propagate_mnt_args, &p);
	return 0;
}

SEC("?kretprobe/propagate_mnt")
int BPF_KRETPROBE(ml_kretprobe_propagate_mnt, int ret)
{
	struct pending_syscall p;

	if (!entry_take(&propagate_mnt_args, &p))
		return 0;
	return copies_propagated((struct hlist_head *)p.args[0], ret);
}

/* The mounts an unmount takes away, the propagated ones included, are on
 * `list` through mnt_list. Its return type changed (int, then void), which
 * does not matter: it is not read. */
static __always_inline int umounts_propagated(struct list_head *list)
{
	struct list_head *pos;
	__u32 own_ns = current_mntns();
	__u32 last_ns = 0;

	pos = BPF_CORE_READ(list, next);
	for (int i = 0; i < MAX_PROPAGATED && pos && pos != list; i++) {
		struct mount *m = (struct mount *)((void *)pos -
						   bpf_core_field_offset(struct mount, mnt_list));
		__u32 ns = mount_ns(m);

		pos = BPF_CORE_READ(pos, next);
		/* One event per namespace run: the collector re-reads it whole. */
		if (!ns || ns == own_ns || ns == last_ns)
			continue;
		last_ns = ns;
		if (!emit_propagated(ML_EV_PROPAGATE_UMOUNT, ns, m))
			return 0;
	}
	return 0;
}

SEC("?fexit/propagate_umount")
int BPF_PROG(ml_fexit_propagate_umount, struct list_head *list)
{
	return umounts_propagated(list);
}

/* list is umount_tree's local list head, alive until it returns. */
ML_ENTRY_MAP(propagate_umount_args);

SEC("?kprobe/propagate_umount")
int BPF_KPROBE(ml_kprobe_propagate_umount, struct list_head *list)
{
	struct pending_syscall p = {.args = {(__u64)list}};

	entry_save(&propagate_umount_args, &p);
	return 0;
}

SEC("?kretprobe/propagate_umount")
int BPF_KRETPROBE(ml_kretprobe_propagate_umount)
{
	struct pending_syscall p;

	if (!entry_take(&propagate_umount_args, &p))
		return 0;
	return umounts_propagated((struct list_head *)p.args[0]);
}

/* mount_setattr(dfd, path, flags, uattr, usize), from the user registers
 * the syscall function was given. */
static __always_inline void setattr_args(const struct pt_regs *regs, struct pending_syscall *p)
{
	p->kind = ML_EV_MOUNT_SETATTR;
	p->args[0] = PT_REGS_PARM1_CORE_SYSCALL(regs);
	p->args[1] = PT_REGS_PARM2_CORE_SYSCALL(regs);
	p->args[2] = PT_REGS_PARM3_CORE_SYSCALL(regs);
	p->args[3] = PT_REGS_PARM4_CORE_SYSCALL(regs);
	p->args[4] = PT_REGS_PARM5_CORE_SYSCALL(regs);
}

static __always_inline int setattr_done(const struct pending_syscall *p, long ret)
{
	if (ret == 0)
		emit_mount_call(p, 0, ML_TIER_KERNEL);
	return 0;
}

SEC("?fexit/" ML_SYSCALL_FUNC(mount_setattr))
int BPF_PROG(ml_fexit_sys_mount_setattr, const struct pt_regs *regs, long ret)
{
	struct pending_syscall p = {};

	if (ret != 0)
		return 0;
	setattr_args(regs, &p);
	return setattr_done(&p, ret);
}

ML_ENTRY_MAP(sys_mount_setattr_args);

/* A kprobe on the syscall function sees the wrapper's registers, whose
 * first argument is the user's (ARCH_HAS_SYSCALL_WRAPPER, which
 * ML_SYSCALL_FUNC presumes); the syscall's arguments are read through
 * those, on every architecture. Not BPF_KSYSCALL: its kconfig extern makes
 * libbpf probe for the wrapper at every load of the object, with a kprobe
 * of its own, through tracefs's kprobe_events where there is no kprobe
 * PMU (the automount sources/bpf/attach.h avoids). */
SEC("?kprobe/" ML_SYSCALL_FUNC(mount_setattr))
int BPF_KPROBE(ml_kprobe_sys_mount_setattr, const struct pt_regs *regs)
{
	struct pending_syscall p = {};

	setattr_args(regs, &p);
	entry_save(&sys_mount_setattr_args, &p);
	return 0;
}

SEC("?kretprobe/" ML_SYSCALL_FUNC(mount_setattr))
int BPF_KRETPROBE(ml_kretprobe_sys_mount_setattr, long ret)
{
	struct pending_syscall p;

	if (!entry_take(&sys_mount_setattr_args, &p))
		return 0;
	return setattr_done(&p, ret);
}
