// SPDX-License-Identifier: GPL-2.0-only
/*
 * Mount table changes on the tracepoint tier: mount(2), umount2(2) and the
 * new mount API (open_tree, move_mount, fsmount, mount_setattr) that modern
 * runc and containerd use. Arguments are saved at entry and the event is
 * emitted at exit, only when the call succeeded; an umount2 that fails with
 * EBUSY becomes a busy event.
 */
#include "common.bpf.h"

SEC("tp/syscalls/sys_enter_mount")
int ml_enter_mount(struct trace_event_raw_sys_enter *ctx)
{
	pending_save(ctx, ML_EV_MOUNT, 5);
	return 0;
}

SEC("tp/syscalls/sys_enter_umount")
int ml_enter_umount(struct trace_event_raw_sys_enter *ctx)
{
	pending_save(ctx, ML_EV_UMOUNT, 2);
	return 0;
}

SEC("tp/syscalls/sys_enter_open_tree")
int ml_enter_open_tree(struct trace_event_raw_sys_enter *ctx)
{
	pending_save(ctx, ML_EV_OPEN_TREE, 3);
	return 0;
}

SEC("tp/syscalls/sys_enter_move_mount")
int ml_enter_move_mount(struct trace_event_raw_sys_enter *ctx)
{
	pending_save(ctx, ML_EV_MOVE_MOUNT, 5);
	return 0;
}

SEC("tp/syscalls/sys_enter_fsmount")
int ml_enter_fsmount(struct trace_event_raw_sys_enter *ctx)
{
	pending_save(ctx, ML_EV_FSMOUNT, 3);
	return 0;
}

SEC("tp/syscalls/sys_enter_mount_setattr")
int ml_enter_mount_setattr(struct trace_event_raw_sys_enter *ctx)
{
	pending_save(ctx, ML_EV_MOUNT_SETATTR, 5);
	return 0;
}

/* struct mount_attr of mount_setattr(2); declared here because older
 * vmlinux.h files predate it. */
struct ml_mount_attr {
	__u64 attr_set;
	__u64 attr_clr;
	__u64 propagation;
	__u64 userns_fd;
};

static __always_inline void fill_mount(struct ml_event *e, struct pending_syscall *p)
{
	switch (p->kind) {
	case ML_EV_MOUNT: /* mount(source, target, fstype, flags, data) */
		read_user_str(e->path1, sizeof(e->path1), p->args[0]);
		read_user_str(e->path2, sizeof(e->path2), p->args[1]);
		read_user_str(e->fstype, sizeof(e->fstype), p->args[2]);
		e->flags = p->args[3];
		break;
	case ML_EV_UMOUNT: /* umount2(target, flags) */
		read_user_str(e->path1, sizeof(e->path1), p->args[0]);
		e->flags = p->args[1];
		break;
	case ML_EV_OPEN_TREE: /* open_tree(dfd, path, flags) */
		e->dfd1 = (__s32)p->args[0];
		read_user_str(e->path1, sizeof(e->path1), p->args[1]);
		e->flags = p->args[2];
		break;
	case ML_EV_MOVE_MOUNT: /* move_mount(from_dfd, from, to_dfd, to, flags) */
		e->dfd1 = (__s32)p->args[0];
		read_user_str(e->path1, sizeof(e->path1), p->args[1]);
		e->dfd2 = (__s32)p->args[2];
		read_user_str(e->path2, sizeof(e->path2), p->args[3]);
		e->flags = p->args[4];
		break;
	case ML_EV_FSMOUNT: /* fsmount(fs_fd, flags, attr_flags) */
		e->dfd1 = (__s32)p->args[0];
		e->flags = p->args[1];
		e->arg = p->args[2];
		break;
	case ML_EV_MOUNT_SETATTR: { /* mount_setattr(dfd, path, flags, attr, size) */
		struct ml_mount_attr attr = {};

		e->dfd1 = (__s32)p->args[0];
		read_user_str(e->path1, sizeof(e->path1), p->args[1]);
		e->flags = p->args[2];
		if (p->args[3])
			bpf_probe_read_user(&attr, sizeof(attr), (const void *)p->args[3]);
		e->arg = attr.attr_set;
		e->arg2 = attr.propagation;
		break;
	}
	}
}

static __always_inline int mount_exit(struct trace_event_raw_sys_exit *ctx)
{
	struct pending_syscall p;
	struct ml_event *e;
	__u32 kind;

	if (!pending_take(&p, true))
		return 0;
	kind = p.kind;
	if (ctx->ret < 0) {
		if (!(kind == ML_EV_UMOUNT && ctx->ret == -EBUSY))
			return 0;
		kind = ML_EV_BUSY;
	}
	e = event_reserve(kind);
	if (!e)
		return 0;
	if (kind == ML_EV_BUSY)
		e->busy_source = ML_BUSY_UMOUNT;
	e->ret = ctx->ret;
	fill_mount(e, &p);
	event_submit(e);
	return 0;
}

SEC("tp/syscalls/sys_exit_mount")
int ml_exit_mount(struct trace_event_raw_sys_exit *ctx) { return mount_exit(ctx); }

SEC("tp/syscalls/sys_exit_umount")
int ml_exit_umount(struct trace_event_raw_sys_exit *ctx) { return mount_exit(ctx); }

SEC("tp/syscalls/sys_exit_open_tree")
int ml_exit_open_tree(struct trace_event_raw_sys_exit *ctx) { return mount_exit(ctx); }

SEC("tp/syscalls/sys_exit_move_mount")
int ml_exit_move_mount(struct trace_event_raw_sys_exit *ctx) { return mount_exit(ctx); }

SEC("tp/syscalls/sys_exit_fsmount")
int ml_exit_fsmount(struct trace_event_raw_sys_exit *ctx) { return mount_exit(ctx); }

SEC("tp/syscalls/sys_exit_mount_setattr")
int ml_exit_mount_setattr(struct trace_event_raw_sys_exit *ctx) { return mount_exit(ctx); }
