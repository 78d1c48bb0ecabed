// SPDX-License-Identifier: GPL-2.0-only
/*
 * Mount table changes on the tracepoint tier: mount(2), umount2(2) and the
 * new mount API (open_tree, move_mount, fsmount, mount_setattr) that modern
 * runc and containerd use. Arguments are saved at entry and the event is
 * emitted at exit, only when the call succeeded; an umount2 that fails with
 * EBUSY becomes a busy event.
 */
#include "common.bpf.h"
#include "mount_args.bpf.h"

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

static __always_inline int mount_exit(struct trace_event_raw_sys_exit *ctx)
{
	struct pending_syscall p;

	if (!pending_take(&p, true))
		return 0;
	if (ctx->ret >= 0) {
		emit_mount_call(&p, ctx->ret, ML_TIER_TRACEPOINT);
	} else if (p.kind == ML_EV_UMOUNT && ctx->ret == -EBUSY) {
		/* umount2(target, flags) */
		struct ml_busy_event *e = busy_reserve(ML_BUSY_UMOUNT, ctx->ret);

		if (!e)
			return 0;
		e->flags = p.args[1];
		read_user_str(e->path, sizeof(e->path), p.args[0]);
		event_submit(e);
	}
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
