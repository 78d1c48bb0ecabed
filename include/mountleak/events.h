/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * The event ABI shared by the BPF programs (bpf/) and the C++ collector.
 *
 * Plain C, fixed-size fields, explicit padding and no includes, so the file
 * compiles after either vmlinux.h (BPF side) or <linux/types.h> (userspace).
 * Every change to a struct below bumps MOUNTLEAK_ABI_VERSION; the BPF object
 * carries the version it was built with and the loader refuses a mismatch.
 */
#ifndef MOUNTLEAK_EVENTS_H
#define MOUNTLEAK_EVENTS_H

#ifndef MOUNTLEAK_ABI_VERSION
#define MOUNTLEAK_ABI_VERSION 2
#endif

#define ML_COMM_LEN 16
#define ML_PATH_LEN 256
#define ML_FSTYPE_LEN 16

/* What happened. One event struct serves every kind; the kind says which
 * fields carry meaning (see the comments on struct ml_event). */
enum ml_event_kind {
	ML_EV_MNTNS = 1,      /* unshare/clone/clone3 created a mount namespace */
	ML_EV_SETNS = 2,      /* setns moved a task into another mount namespace */
	ML_EV_MOUNT = 3,      /* mount(2): new mount, bind, move, remount, propagation */
	ML_EV_UMOUNT = 4,     /* umount2(2) */
	ML_EV_OPEN_TREE = 5,  /* open_tree(2), the new mount API's bind */
	ML_EV_MOVE_MOUNT = 6, /* move_mount(2) */
	ML_EV_FSMOUNT = 7,    /* fsmount(2) */
	ML_EV_MOUNT_SETATTR = 8, /* mount_setattr(2), incl. propagation */
	ML_EV_BUSY = 9,       /* a hook saw -EBUSY; busy_source says which */
	/* Kernel tier: a copy the kernel propagated into (or an unmount it
	 * propagated out of) namespace `mntns`; pid/comm are the task whose
	 * mount or unmount caused it, which lives in another namespace. */
	ML_EV_PROPAGATE_MOUNT = 10,
	ML_EV_PROPAGATE_UMOUNT = 11,
};

/* Which hook reported an -EBUSY. */
enum ml_busy_source {
	ML_BUSY_NONE = 0,
	ML_BUSY_RBD_REMOVE = 1, /* write to /sys/bus/rbd/remove{,_single_major} */
	ML_BUSY_UMOUNT = 2,     /* umount2 */
	ML_BUSY_OPEN_EXCL = 3,  /* open/openat with O_EXCL on a block device */
	ML_BUSY_DETACH = 4,     /* loop / device-mapper detach ioctl */
};

/* Which tier produced the event; the collector does not care, but the
 * event log records it so a finding can be traced back to its hook. */
enum ml_tier {
	ML_TIER_TRACEPOINT = 1,
	ML_TIER_KERNEL = 2,
};

struct ml_event {
	__u64 ts_ns;      /* bpf_ktime_get_ns() at syscall exit (CLOCK_MONOTONIC) */
	__u64 cgroup_id;  /* cgroup v2 id of the task */
	__u64 flags;      /* mount/clone/open/open_tree/move_mount/setattr flags */
	__u64 arg;        /* MOUNT_SETATTR: attr_set; BUSY(detach): ioctl command */
	__u64 arg2;       /* MOUNT_SETATTR: propagation; BUSY, PROPAGATE_*: the
			   * device as a kernel dev_t (major << 20 | minor), 0 if unknown */
	__u32 kind;       /* enum ml_event_kind */
	__u32 pid;        /* tgid */
	__u32 tid;
	__u32 ppid;
	__u32 mntns;      /* mount namespace inode after the syscall */
	__u32 old_mntns;  /* mount namespace inode before (MNTNS, SETNS) */
	__s32 ret;        /* syscall return value */
	__s32 dfd1;       /* dirfd / fd argument 1 (open_tree, move_mount, setattr) */
	__s32 dfd2;       /* move_mount to_dfd */
	__u32 busy_source; /* enum ml_busy_source when kind == ML_EV_BUSY */
	__u32 tier;       /* enum ml_tier */
	__u32 pad0;
	char comm[ML_COMM_LEN];
	char path1[ML_PATH_LEN];   /* MOUNT: source; UMOUNT/OPEN_TREE/SETATTR: path; MOVE: from; BUSY: path or buffer */
	char path2[ML_PATH_LEN];   /* MOUNT: target; MOVE: to */
	char fstype[ML_FSTYPE_LEN];/* MOUNT: filesystem type */
};

/* Per-CPU counters, indexed by enum ml_counter, in the map "counters". */
enum ml_counter {
	ML_CNT_EMITTED = 0,
	ML_CNT_DROPPED_RINGBUF = 1,  /* ring buffer full: event lost */
	ML_CNT_DROPPED_PENDING = 2,  /* pending-syscall map full at entry */
	ML_CNT_MISSED_ENTRY = 3,     /* exit without a recorded entry */
	ML_CNT_MAX = 4,
};

#endif /* MOUNTLEAK_EVENTS_H */
