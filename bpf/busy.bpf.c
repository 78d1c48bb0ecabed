// SPDX-License-Identifier: GPL-2.0-only
/*
 * EBUSY failures that name a device someone still holds: `rbd unmap`
 * (a write to /sys/bus/rbd/remove or remove_single_major), exclusive opens
 * of a block device, and detach ioctls (device-mapper remove and friends).
 * umount2's EBUSY is reported by mounts.bpf.c.
 *
 * These exits fire for every write/open/ioctl on the node, so each handler
 * compares the return value first and leaves unless it is -EBUSY. The
 * arguments are read from the task's saved user registers instead of being
 * stashed at entry, which would cost a map update on every call; which
 * register holds which argument is bpf_tracing.h's to know
 * (PT_REGS_PARMn_CORE_SYSCALL).
 */
#include "common.bpf.h"

/* Reads the struct file behind a descriptor of the current task. */
static __always_inline struct file *current_file(int fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct file **fds = BPF_CORE_READ(task, files, fdt, fd);
	struct file *f = NULL;

	if (fd < 0 || !fds)
		return NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

static __always_inline bool has_prefix(const char *s, const char *prefix, int n)
{
	for (int i = 0; i < n; i++)
		if (s[i] != prefix[i])
			return false;
	return true;
}

#define ML_SYSFS_MAGIC 0x62656572

/* True for /sys/bus/rbd/remove and, unless legacy_only, for
 * /sys/bus/rbd/remove_single_major, on sysfs itself: a file elsewhere (FUSE,
 * a tmpfs) that calls itself rbd/remove is not rbd's. Only their buffers are
 * ever read: a write to add/add_single_major carries the Ceph secret and is
 * never captured. */
static __always_inline bool is_rbd_remove(struct file *f, bool legacy_only)
{
	struct dentry *d = BPF_CORE_READ(f, f_path.dentry);
	char name[24] = {};
	char parent[4] = {};

	if (BPF_CORE_READ(f, f_inode, i_sb, s_magic) != ML_SYSFS_MAGIC)
		return false;
	bpf_probe_read_kernel_str(name, sizeof(name), BPF_CORE_READ(d, d_name.name));
	/* Lengths include the NUL: whole names, not prefixes. */
	if (!has_prefix(name, "remove", 7) &&
	    (legacy_only || !has_prefix(name, "remove_single_major", 20)))
		return false;
	bpf_probe_read_kernel_str(parent, sizeof(parent), BPF_CORE_READ(d, d_parent, d_name.name));
	return has_prefix(parent, "rbd", 4);
}

static __always_inline int rbd_remove_write_exit(struct trace_event_raw_sys_exit *ctx, bool legacy_only)
{
	struct ml_busy_event *e;
	struct pt_regs *regs;
	struct file *f;
	__u64 buf, len;
	int fd;

	if (ctx->ret != -EBUSY)
		return 0;
	/* write(fd, buf, count) */
	regs = user_regs();
	fd = (int)PT_REGS_PARM1_CORE_SYSCALL(regs);
	f = current_file(fd);
	if (!f || !is_rbd_remove(f, legacy_only))
		return 0;
	e = busy_reserve(ML_BUSY_RBD_REMOVE, ctx->ret);
	if (!e)
		return 0;
	e->dfd = fd;
	/* The written text, e.g. "4" or "4 force": the rbd device id. */
	buf = PT_REGS_PARM2_CORE_SYSCALL(regs);
	len = PT_REGS_PARM3_CORE_SYSCALL(regs);
	if (len > sizeof(e->path) - 1)
		len = sizeof(e->path) - 1;
	if (bpf_probe_read_user(e->path, len & (sizeof(e->path) - 1), (const void *)buf))
		len = 0;
	e->path[len & (sizeof(e->path) - 1)] = 0;
	if (bpf_probe_read_kernel_str(e->file, sizeof(e->file),
				      BPF_CORE_READ(f, f_path.dentry, d_name.name)) < 0)
		e->file[0] = 0;
	event_submit(e);
	return 0;
}

/* Both remove files: the tracepoint tier's rbd hook. */
SEC("tp/syscalls/sys_exit_write")
int ml_exit_write(struct trace_event_raw_sys_exit *ctx)
{
	return rbd_remove_write_exit(ctx, false);
}

/* The legacy file only, beside the kernel tier's remove_single_major_store
 * program, on kernels whose fexit cannot reach rbd's own remove_store (see
 * userspace/sources/bpf/module_fexit.h). */
SEC("tp/syscalls/sys_exit_write")
int ml_exit_write_legacy(struct trace_event_raw_sys_exit *ctx)
{
	return rbd_remove_write_exit(ctx, true);
}

static __always_inline int open_exit(long ret, __s32 dfd, __u64 path, __u64 flags)
{
	struct ml_busy_event *e;

	if (!(flags & O_EXCL))
		return 0;
	e = busy_reserve(ML_BUSY_OPEN_EXCL, ret);
	if (!e)
		return 0;
	e->flags = flags;
	e->dfd = dfd;
	read_user_str(e->path, sizeof(e->path), path);
	event_submit(e);
	return 0;
}

SEC("tp/syscalls/sys_exit_openat")
int ml_exit_openat(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs;

	if (ctx->ret != -EBUSY)
		return 0;
	/* openat(dfd, path, flags, mode) */
	regs = user_regs();
	return open_exit(ctx->ret, (__s32)PT_REGS_PARM1_CORE_SYSCALL(regs),
			 PT_REGS_PARM2_CORE_SYSCALL(regs), PT_REGS_PARM3_CORE_SYSCALL(regs));
}

SEC("tp/syscalls/sys_exit_open")
int ml_exit_open(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs;

	if (ctx->ret != -EBUSY)
		return 0;
	/* open(path, flags, mode) */
	regs = user_regs();
	return open_exit(ctx->ret, ML_AT_FDCWD, PT_REGS_PARM1_CORE_SYSCALL(regs),
			 PT_REGS_PARM2_CORE_SYSCALL(regs));
}

SEC("tp/syscalls/sys_exit_ioctl")
int ml_exit_ioctl(struct trace_event_raw_sys_exit *ctx)
{
	struct ml_busy_event *e;
	struct pt_regs *regs;
	struct file *f;
	int fd;

	if (ctx->ret != -EBUSY)
		return 0;
	/* ioctl(fd, cmd, arg) */
	regs = user_regs();
	fd = (int)PT_REGS_PARM1_CORE_SYSCALL(regs);
	f = current_file(fd);
	if (!f)
		return 0;
	e = busy_reserve(ML_BUSY_DETACH, ctx->ret);
	if (!e)
		return 0;
	e->dfd = fd;
	e->arg = PT_REGS_PARM2_CORE_SYSCALL(regs); /* ioctl command */
	name_block_file(e, f);
	event_submit(e);
	return 0;
}
