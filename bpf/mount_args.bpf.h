/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What a mount-API syscall's arguments say, copied into its event. Shared by
 * the tracepoint tier (arguments saved at sys_enter) and the kernel tier's
 * fexit on the syscall function itself (arguments read from its pt_regs).
 */
#ifndef MOUNTLEAK_MOUNT_ARGS_BPF_H
#define MOUNTLEAK_MOUNT_ARGS_BPF_H

#include "common.bpf.h"

/* struct mount_attr of mount_setattr(2); declared here because older
 * vmlinux.h files predate it. */
struct ml_mount_attr {
	__u64 attr_set;
	__u64 attr_clr;
	__u64 propagation;
	__u64 userns_fd;
};

/* The event of a mount-API call that returned `ret`, from its saved
 * arguments, each kind in its own record. */
static __always_inline void emit_mount_call(const struct pending_syscall *p, long ret, __u32 tier)
{
	switch (p->kind) {
	case ML_EV_MOUNT: { /* mount(source, target, fstype, flags, data) */
		struct ml_mount_event *e = event_reserve(ml_mount_event, ML_EV_MOUNT);

		if (!e)
			return;
		e->h.ret = ret;
		e->h.tier = tier;
		e->flags = p->args[3];
		read_user_str(e->source, sizeof(e->source), p->args[0]);
		read_user_str(e->target, sizeof(e->target), p->args[1]);
		read_user_str(e->fstype, sizeof(e->fstype), p->args[2]);
		event_submit(e);
		break;
	}
	case ML_EV_UMOUNT: { /* umount2(target, flags) */
		struct ml_umount_event *e = event_reserve(ml_umount_event, ML_EV_UMOUNT);

		if (!e)
			return;
		e->h.ret = ret;
		e->h.tier = tier;
		e->flags = p->args[1];
		read_user_str(e->target, sizeof(e->target), p->args[0]);
		event_submit(e);
		break;
	}
	case ML_EV_OPEN_TREE: { /* open_tree(dfd, path, flags) */
		struct ml_open_tree_event *e = event_reserve(ml_open_tree_event, ML_EV_OPEN_TREE);

		if (!e)
			return;
		e->h.ret = ret;
		e->h.tier = tier;
		e->flags = p->args[2];
		e->dfd = (__s32)p->args[0];
		e->pad0 = 0;
		read_user_str(e->path, sizeof(e->path), p->args[1]);
		event_submit(e);
		break;
	}
	case ML_EV_MOVE_MOUNT: { /* move_mount(from_dfd, from, to_dfd, to, flags) */
		struct ml_move_mount_event *e = event_reserve(ml_move_mount_event, ML_EV_MOVE_MOUNT);

		if (!e)
			return;
		e->h.ret = ret;
		e->h.tier = tier;
		e->flags = p->args[4];
		e->from_dfd = (__s32)p->args[0];
		e->to_dfd = (__s32)p->args[2];
		read_user_str(e->from, sizeof(e->from), p->args[1]);
		read_user_str(e->to, sizeof(e->to), p->args[3]);
		event_submit(e);
		break;
	}
	case ML_EV_FSMOUNT: { /* fsmount(fs_fd, flags, attr_flags) */
		struct ml_fsmount_event *e = event_reserve(ml_fsmount_event, ML_EV_FSMOUNT);

		if (!e)
			return;
		e->h.ret = ret;
		e->h.tier = tier;
		e->flags = p->args[1];
		e->attr_flags = p->args[2];
		e->fs_fd = (__s32)p->args[0];
		e->pad0 = 0;
		event_submit(e);
		break;
	}
	case ML_EV_MOUNT_SETATTR: { /* mount_setattr(dfd, path, flags, attr, size) */
		struct ml_mount_setattr_event *e;
		struct ml_mount_attr attr = {};

		if (p->args[3])
			bpf_probe_read_user(&attr, sizeof(attr), (const void *)p->args[3]);
		e = event_reserve(ml_mount_setattr_event, ML_EV_MOUNT_SETATTR);
		if (!e)
			return;
		e->h.ret = ret;
		e->h.tier = tier;
		e->flags = p->args[2];
		e->attr_set = attr.attr_set;
		e->propagation = attr.propagation;
		e->dfd = (__s32)p->args[0];
		e->pad0 = 0;
		read_user_str(e->path, sizeof(e->path), p->args[1]);
		event_submit(e);
		break;
	}
	}
}

#endif /* MOUNTLEAK_MOUNT_ARGS_BPF_H */
