/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What a mount-API syscall's arguments say, copied into an event. Shared by
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

#endif /* MOUNTLEAK_MOUNT_ARGS_BPF_H */
