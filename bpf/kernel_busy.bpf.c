// SPDX-License-Identifier: GPL-2.0-only
/*
 * Kernel tier for EBUSY: rbd's own remove path, and exclusive claims of a
 * block device at the block layer (O_EXCL opens, mounts, anything that
 * claims it), rather than one syscall at a time.
 */
#include "common.bpf.h"

/* do_rbd_remove lives in the rbd module (module BTF). Its arguments
 * changed: (bus, buf, count) until the bus argument was dropped, (buf,
 * count) after; buf is always the second to last. */
SEC("?fexit/do_rbd_remove")
int BPF_PROG(ml_fexit_do_rbd_remove)
{
	__u64 ret = 0, buf = 0;
	struct ml_event *e;
	long n;

	if (bpf_get_func_ret(ctx, &ret) || (long)ret != -EBUSY)
		return 0;
	n = bpf_get_func_arg_cnt(ctx);
	if (n < 2 || bpf_get_func_arg(ctx, n - 2, &buf))
		return 0;
	e = event_reserve(ML_EV_BUSY);
	if (!e)
		return 0;
	e->tier = ML_TIER_KERNEL;
	e->busy_source = ML_BUSY_RBD_REMOVE;
	e->ret = (long)ret;
	/* The text written to /sys/bus/rbd/remove*, e.g. "4": a kernel copy. */
	if (bpf_probe_read_kernel_str(e->path1, sizeof(e->path1), (const void *)buf) < 0)
		e->path1[0] = 0;
	event_submit(e);
	return 0;
}

/* bd_prepare_to_claim(bdev, holder[, hops]): the hops argument came later;
 * bdev is first and the return value is read through the helper, so one
 * program serves both. */
SEC("?fexit/bd_prepare_to_claim")
int BPF_PROG(ml_fexit_bd_prepare_to_claim, struct block_device *bdev)
{
	__u64 ret = 0;
	struct ml_event *e;

	/* An int result: only the low 32 bits of the return slot are set. */
	if (bpf_get_func_ret(ctx, &ret) || (int)ret != -EBUSY)
		return 0;
	e = event_reserve(ML_EV_BUSY);
	if (!e)
		return 0;
	e->tier = ML_TIER_KERNEL;
	e->busy_source = ML_BUSY_OPEN_EXCL;
	e->ret = (int)ret;
	e->arg2 = BPF_CORE_READ(bdev, bd_dev);
	event_submit(e);
	return 0;
}
