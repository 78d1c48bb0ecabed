// SPDX-License-Identifier: GPL-2.0-only
/*
 * Kernel tier for EBUSY: rbd's own remove path, exclusive claims of a
 * block device at the block layer (O_EXCL opens, mounts, anything that
 * claims it), and block-device ioctls (loop detach and its kin), rather
 * than one syscall at a time.
 */
#include "common.bpf.h"

/*
 * rbd's remove attributes, in the rbd module (module BTF). do_rbd_remove,
 * which does the work, is no target: Debian's 6.1 build has only a clone
 * (do_rbd_remove.constprop.0) and no BTF for it. The bus attribute store
 * functions that call it are reached through function pointers, so they
 * keep their names and BTF: (bus, buf, count) -> ssize_t, with bus const
 * since 6.4 (bus_type constification), which changes no argument's place.
 * remove_store serves /sys/bus/rbd/remove, remove_single_major_store
 * /sys/bus/rbd/remove_single_major; an unmap goes through one of them.
 * "fexit.module/rbd:" binds them in rbd's own BTF (see
 * userspace/sources/bpf/module_fexit.h): vmlinux has a remove_store too.
 * The add attributes carry the cephx secret and are never hooked.
 */
static __always_inline int rbd_remove_exit(const char *buf, long ret)
{
	struct ml_busy_event *e;

	if (ret != -EBUSY)
		return 0;
	e = busy_reserve(ML_BUSY_RBD_REMOVE, ret);
	if (!e)
		return 0;
	e->h.tier = ML_TIER_KERNEL;
	/* The text written, e.g. "4" or "4 force": the collector reads the
	 * device id from it, as it does for the tracepoint tier. */
	if (bpf_probe_read_kernel_str(e->path, sizeof(e->path), buf) < 0)
		e->path[0] = 0;
	event_submit(e);
	return 0;
}

SEC("?fexit.module/rbd:remove_single_major_store")
int BPF_PROG(ml_fexit_remove_single_major_store, void *bus, const char *buf, size_t count,
	     long ret)
{
	return rbd_remove_exit(buf, ret);
}

SEC("?fexit.module/rbd:remove_store")
int BPF_PROG(ml_fexit_remove_store, void *bus, const char *buf, size_t count, long ret)
{
	return rbd_remove_exit(buf, ret);
}

/* The kprobe tier names the module in the symbol ("MOD:SYM"), which the
 * kernel resolves among that module's symbols only, so rbd's remove_store
 * is found where fexit before 6.3 binds vmlinux's (module_fexit.h); the
 * loader attaches these by that name (sources/bpf/attach.h). buf is sysfs's
 * page, kept until the store returns. */
ML_ENTRY_MAP(remove_store_args);

SEC("?kprobe/rbd:remove_store")
int BPF_KPROBE(ml_kprobe_remove_store, void *bus, const char *buf)
{
	struct pending_syscall p = {.args = {(__u64)buf}};

	entry_save(&remove_store_args, &p);
	return 0;
}

SEC("?kretprobe/rbd:remove_store")
int BPF_KRETPROBE(ml_kretprobe_remove_store, long ret)
{
	struct pending_syscall p;

	if (!entry_take(&remove_store_args, &p))
		return 0;
	return rbd_remove_exit((const char *)p.args[0], ret);
}

ML_ENTRY_MAP(remove_single_major_store_args);

SEC("?kprobe/rbd:remove_single_major_store")
int BPF_KPROBE(ml_kprobe_remove_single_major_store, void *bus, const char *buf)
{
	struct pending_syscall p = {.args = {(__u64)buf}};

	entry_save(&remove_single_major_store_args, &p);
	return 0;
}

SEC("?kretprobe/rbd:remove_single_major_store")
int BPF_KRETPROBE(ml_kretprobe_remove_single_major_store, long ret)
{
	struct pending_syscall p;

	if (!entry_take(&remove_single_major_store_args, &p))
		return 0;
	return rbd_remove_exit((const char *)p.args[0], ret);
}

/* bd_prepare_to_claim(bdev, holder[, hops]): the hops argument came later;
 * bdev is first and the return value is read through the helper, so one
 * program serves both. */
static __always_inline int claim_done(struct block_device *bdev, int ret)
{
	struct ml_busy_event *e;

	if (ret != -EBUSY)
		return 0;
	e = busy_reserve(ML_BUSY_OPEN_EXCL, ret);
	if (!e)
		return 0;
	e->h.tier = ML_TIER_KERNEL;
	e->dev = BPF_CORE_READ(bdev, bd_dev);
	event_submit(e);
	return 0;
}

SEC("?fexit/bd_prepare_to_claim")
int BPF_PROG(ml_fexit_bd_prepare_to_claim, struct block_device *bdev)
{
	__u64 ret = 0;

	/* An int result: only the low 32 bits of the return slot are set. */
	if (bpf_get_func_ret(ctx, &ret))
		return 0;
	return claim_done(bdev, (int)ret);
}

ML_ENTRY_MAP(bd_prepare_to_claim_args);

SEC("?kprobe/bd_prepare_to_claim")
int BPF_KPROBE(ml_kprobe_bd_prepare_to_claim, struct block_device *bdev)
{
	struct pending_syscall p = {.args = {(__u64)bdev}};

	entry_save(&bd_prepare_to_claim_args, &p);
	return 0;
}

SEC("?kretprobe/bd_prepare_to_claim")
int BPF_KRETPROBE(ml_kretprobe_bd_prepare_to_claim, int ret)
{
	struct pending_syscall p;

	if (!entry_take(&bd_prepare_to_claim_args, &p))
		return 0;
	return claim_done((struct block_device *)p.args[0], ret);
}

/* Every ioctl on a block device, loop's included, passes here; the
 * tracepoint tier's ioctl exit sees the same failures, one syscall exit at
 * a time. */
static __always_inline int blkdev_ioctl_done(struct file *file, unsigned int cmd, long ret)
{
	struct ml_busy_event *e;

	if (ret != -EBUSY)
		return 0;
	e = busy_reserve(ML_BUSY_DETACH, ret);
	if (!e)
		return 0;
	e->h.tier = ML_TIER_KERNEL;
	e->arg = cmd;
	name_block_file(e, file);
	event_submit(e);
	return 0;
}

SEC("?fexit/blkdev_ioctl")
int BPF_PROG(ml_fexit_blkdev_ioctl, struct file *file, unsigned int cmd, unsigned long arg, long ret)
{
	return blkdev_ioctl_done(file, cmd, ret);
}

/* Every block-device ioctl pays the entry's map update, not only failing
 * ones: the result is known only at return. */
ML_ENTRY_MAP(blkdev_ioctl_args);

SEC("?kprobe/blkdev_ioctl")
int BPF_KPROBE(ml_kprobe_blkdev_ioctl, struct file *file, unsigned int cmd)
{
	struct pending_syscall p = {.args = {(__u64)file, cmd}};

	entry_save(&blkdev_ioctl_args, &p);
	return 0;
}

SEC("?kretprobe/blkdev_ioctl")
int BPF_KRETPROBE(ml_kretprobe_blkdev_ioctl, long ret)
{
	struct pending_syscall p;

	if (!entry_take(&blkdev_ioctl_args, &p))
		return 0;
	return blkdev_ioctl_done((struct file *)p.args[0], (unsigned int)p.args[1], ret);
}

/*
 * device-mapper's check before it deletes a device, in the dm_mod module
 * (module BTF on Debian's 6.1 and 6.12, a global function called from
 * dm-ioctl.c's dev_remove, so never inlined there). It answers -EBUSY while
 * the dm device is open: mounted in some namespace, or opened by a process.
 * struct mapped_device is dm's own (drivers/md/dm-core.h), absent from
 * vmlinux's BTF: this flavour names the one field read, and libbpf finds
 * the type in dm_mod's BTF when vmlinux has none.
 */
struct mapped_device___ml {
	struct gendisk *disk;
} __attribute__((preserve_access_index));

static __always_inline int dm_remove_done(struct mapped_device___ml *md, bool mark_deferred, bool only_deferred,
					  int ret)
{
	struct ml_busy_event *e;
	struct gendisk *disk;

	/* With mark_deferred the remove succeeds and is done when the last
	 * opener goes (`dmsetup remove --deferred`); only_deferred is that
	 * deferred work itself. Neither is a remove the caller saw fail. */
	if (ret != -EBUSY || mark_deferred || only_deferred)
		return 0;
	e = busy_reserve(ML_BUSY_DM_REMOVE, ret);
	if (!e)
		return 0;
	e->h.tier = ML_TIER_KERNEL;
	disk = BPF_CORE_READ(md, disk);
	if (disk) {
		e->dev = ((__u64)BPF_CORE_READ(disk, major) << 20) | (__u32)BPF_CORE_READ(disk, first_minor);
		if (bpf_probe_read_kernel_str(e->path, sizeof(e->path), disk->disk_name) < 0)
			e->path[0] = 0;
	}
	event_submit(e);
	return 0;
}

SEC("?fexit.module/dm_mod:dm_lock_for_deletion")
int BPF_PROG(ml_fexit_dm_lock_for_deletion, struct mapped_device___ml *md, bool mark_deferred,
	     bool only_deferred, int ret)
{
	return dm_remove_done(md, mark_deferred, only_deferred, ret);
}

ML_ENTRY_MAP(dm_lock_for_deletion_args);

SEC("?kprobe/dm_mod:dm_lock_for_deletion")
int BPF_KPROBE(ml_kprobe_dm_lock_for_deletion, struct mapped_device___ml *md, bool mark_deferred,
	       bool only_deferred)
{
	struct pending_syscall p = {.args = {(__u64)md, mark_deferred, only_deferred}};

	entry_save(&dm_lock_for_deletion_args, &p);
	return 0;
}

SEC("?kretprobe/dm_mod:dm_lock_for_deletion")
int BPF_KRETPROBE(ml_kretprobe_dm_lock_for_deletion, int ret)
{
	struct pending_syscall p;

	if (!entry_take(&dm_lock_for_deletion_args, &p))
		return 0;
	return dm_remove_done((struct mapped_device___ml *)p.args[0], p.args[1], p.args[2], ret);
}
