// SPDX-License-Identifier: GPL-2.0-only
/*
 * EBUSY failures that name a device someone still holds: `rbd unmap`
 * (a write to /sys/bus/rbd/remove or remove_single_major), exclusive opens
 * of a block device, detach ioctls (loop's and friends) and device-mapper's
 * remove on its control device.
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

/*
 * device-mapper's control device, /dev/mapper/control: the misc device
 * 10:236 (MAPPER_CTRL_MINOR). Its ioctl handler looks only at an ioctl
 * command's type and number, never at its size or direction bits, so a
 * remove is recognised the same way: type 0xfd, number 4 (DM_DEV_REMOVE).
 */
#define ML_DM_CONTROL_DEV ((10u << 20) | 236u)
#define ML_DM_IOCTL_TYPE 0xfd
#define ML_DM_DEV_REMOVE_NR 4
/* Where the device's name and uuid sit in the struct dm_ioctl the caller
 * passes (include/uapi/linux/dm-ioctl.h, unchanged since 2.6): 12 bytes of
 * version, seven 32-bit counters and flags, a 64-bit dev, then the names. */
#define ML_DM_IOCTL_NAME_AT 48
#define ML_DM_NAME_LEN 128
#define ML_DM_IOCTL_UUID_AT (ML_DM_IOCTL_NAME_AT + ML_DM_NAME_LEN)
#define ML_DM_UUID_LEN 129

static __always_inline bool is_dm_remove(struct file *f, __u64 cmd)
{
	return ((cmd >> 8) & 0xff) == ML_DM_IOCTL_TYPE && (cmd & 0xff) == ML_DM_DEV_REMOVE_NR &&
	       BPF_CORE_READ(f, f_inode, i_rdev) == ML_DM_CONTROL_DEV;
}

/* A dm remove failing with EBUSY: the tracepoint tier's dm_remove_busy. The
 * kernel does not copy its result back into the caller's struct when the
 * ioctl fails, so the name and uuid the caller gave are still where they
 * were, and are read here at the exit rather than saved at an entry that
 * every ioctl on the node would pay for. The caller may have changed them
 * since (another thread): they only name the device for the collector,
 * which checks them against sysfs. A struct that cannot be read still
 * makes the event, with no name. */
SEC("tp/syscalls/sys_exit_ioctl")
int ml_exit_ioctl_dm_remove(struct trace_event_raw_sys_exit *ctx)
{
	struct ml_busy_event *e;
	struct pt_regs *regs;
	struct file *f;
	__u64 cmd, arg;
	int fd;

	if (ctx->ret != -EBUSY)
		return 0;
	/* ioctl(fd, cmd, arg) */
	regs = user_regs();
	cmd = PT_REGS_PARM2_CORE_SYSCALL(regs);
	fd = (int)PT_REGS_PARM1_CORE_SYSCALL(regs);
	f = current_file(fd);
	if (!f || !is_dm_remove(f, cmd))
		return 0;
	e = busy_reserve(ML_BUSY_DM_REMOVE, ctx->ret);
	if (!e)
		return 0;
	e->dfd = fd;
	e->arg = cmd;
	arg = PT_REGS_PARM3_CORE_SYSCALL(regs);
	/* Bounded by the struct's own fields: the name is 128 bytes, the uuid
	 * 129, each NUL-terminated by the kernel's rules but not by a hostile
	 * caller's; the copies stop at their field's end. */
	if (!arg || bpf_probe_read_user_str(e->path, ML_DM_NAME_LEN, (const void *)(arg + ML_DM_IOCTL_NAME_AT)) < 0)
		e->path[0] = 0;
	if (!arg || bpf_probe_read_user_str(e->file, ML_DM_UUID_LEN, (const void *)(arg + ML_DM_IOCTL_UUID_AT)) < 0)
		e->file[0] = 0;
	event_submit(e);
	return 0;
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
	/* A dm remove is dm_remove_busy's (above): the control device is no
	 * block device anyone holds. */
	if (!f || is_dm_remove(f, PT_REGS_PARM2_CORE_SYSCALL(regs)))
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
