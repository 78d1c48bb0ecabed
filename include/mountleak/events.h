/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * The event ABI shared by the BPF programs (bpf/) and the C++ collector.
 *
 * Plain C, fixed-size fields, explicit padding and no includes, so the file
 * compiles after either vmlinux.h (BPF side) or <linux/types.h> (userspace).
 * Every record is one kind's struct, reserved in the ring buffer at its own
 * size: a common header, then only what that kind carries.
 * Every change to a struct below bumps MOUNTLEAK_ABI_VERSION; the BPF object
 * carries the version it was built with and the loader refuses a mismatch.
 */
#ifndef MOUNTLEAK_EVENTS_H
#define MOUNTLEAK_EVENTS_H

#ifndef MOUNTLEAK_ABI_VERSION
#define MOUNTLEAK_ABI_VERSION 3
#endif

#define ML_COMM_LEN 16
#define ML_PATH_LEN 256
#define ML_NAME_LEN 256 /* one path component, as a dentry holds it: NAME_MAX + NUL */
#define ML_FSTYPE_LEN 16

/* What happened; each kind has its own record (struct ml_<...>_event
 * below), which starts with struct ml_event_header. */
enum ml_event_kind {
	ML_EV_MNTNS = 1,      /* unshare/clone/clone3 created a mount namespace */
	ML_EV_SETNS = 2,      /* setns moved a task into another mount namespace */
	ML_EV_MOUNT = 3,      /* mount(2): new mount, bind, move, remount, propagation */
	ML_EV_UMOUNT = 4,     /* umount2(2) */
	ML_EV_OPEN_TREE = 5,  /* open_tree(2), the new mount API's bind */
	ML_EV_MOVE_MOUNT = 6, /* move_mount(2) */
	ML_EV_FSMOUNT = 7,    /* fsmount(2) */
	ML_EV_MOUNT_SETATTR = 8, /* mount_setattr(2), incl. propagation */
	ML_EV_BUSY = 9,       /* a hook saw -EBUSY; the record's source says which */
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
	ML_BUSY_DM_REMOVE = 5,  /* device-mapper remove (`dmsetup remove`): the dm device is open */
};

/* Which tier produced the event; the collector does not care, but the
 * event log records it so a finding can be traced back to its hook. */
enum ml_tier {
	ML_TIER_TRACEPOINT = 1,
	ML_TIER_KERNEL = 2,
};

/* The start of every record: who, where and when. `size` is the size of
 * the kind's whole record, header included; a reader takes a record only
 * when the kind is known, `size` is that kind's and the bytes are there. */
struct ml_event_header {
	__u64 ts_ns;      /* bpf_ktime_get_ns() at the hook (CLOCK_MONOTONIC) */
	__u64 cgroup_id;  /* cgroup v2 id of the task */
	__u32 kind;       /* enum ml_event_kind */
	__u32 size;       /* sizeof the kind's record */
	__u32 pid;        /* tgid */
	__u32 tid;
	__u32 ppid;
	__u32 mntns;      /* mount namespace inode after the call (PROPAGATE_*: where it landed) */
	__s32 ret;        /* the call's return value */
	__u32 tier;       /* enum ml_tier */
	char comm[ML_COMM_LEN];
};

/* ML_EV_MNTNS, ML_EV_SETNS */
struct ml_namespace_event {
	struct ml_event_header h;
	__u64 flags;      /* clone/unshare flags, or setns's nstype */
	__u32 old_mntns;  /* mount namespace inode before */
	__u32 pad0;
};

/* ML_EV_MOUNT: mount(2) on the tracepoint tier; path_mount (target: the
 * mount point's last component) or attach_recursive_mnt (target only) on
 * the kernel tier. */
struct ml_mount_event {
	struct ml_event_header h;
	__u64 flags;                  /* MS_* */
	char source[ML_PATH_LEN];
	char target[ML_PATH_LEN];
	char fstype[ML_FSTYPE_LEN];
};

/* ML_EV_UMOUNT */
struct ml_umount_event {
	struct ml_event_header h;
	__u64 flags;                  /* MNT_*, UMOUNT_* */
	char target[ML_PATH_LEN];     /* kernel tier: the mount point's last component */
};

/* ML_EV_OPEN_TREE */
struct ml_open_tree_event {
	struct ml_event_header h;
	__u64 flags;
	__s32 dfd;
	__u32 pad0;
	char path[ML_PATH_LEN];
};

/* ML_EV_MOVE_MOUNT */
struct ml_move_mount_event {
	struct ml_event_header h;
	__u64 flags;
	__s32 from_dfd;
	__s32 to_dfd;
	char from[ML_PATH_LEN];
	char to[ML_PATH_LEN];
};

/* ML_EV_FSMOUNT */
struct ml_fsmount_event {
	struct ml_event_header h;
	__u64 flags;
	__u64 attr_flags;
	__s32 fs_fd;
	__u32 pad0;
};

/* ML_EV_MOUNT_SETATTR */
struct ml_mount_setattr_event {
	struct ml_event_header h;
	__u64 flags;                  /* AT_* */
	__u64 attr_set;               /* MOUNT_ATTR_* */
	__u64 propagation;            /* MS_SHARED, MS_SLAVE, MS_PRIVATE or MS_UNBINDABLE */
	__s32 dfd;
	__u32 pad0;
	char path[ML_PATH_LEN];
};

/* ML_EV_PROPAGATE_MOUNT, ML_EV_PROPAGATE_UMOUNT */
struct ml_propagate_event {
	struct ml_event_header h;
	__u64 dev;                    /* kernel dev_t (major << 20 | minor) */
	char mountpoint_name[ML_NAME_LEN];
};

/* ML_EV_BUSY */
struct ml_busy_event {
	struct ml_event_header h;
	__u64 flags;                  /* open flags, umount flags */
	__u64 arg;                    /* detach, dm remove (tracepoint tier): the ioctl command */
	__u64 dev;                    /* kernel dev_t when the hook knew it, else 0 */
	__u32 source;                 /* enum ml_busy_source */
	__s32 dfd;                    /* the directory `path` is relative to, or the fd */
	/* The path or buffer the failing call was given: a umount target (kernel
	 * tier: its last component), an opened device node, the block device's
	 * name (detach), the text written to rbd's remove file, the dm device's
	 * name (dm remove: its disk's, "dm-0", on the kernel tier; the name the
	 * caller gave the control device on the tracepoint tier). */
	char path[ML_PATH_LEN];
	/* rbd remove (tracepoint tier): the file written to; dm remove
	 * (tracepoint tier): the uuid the caller gave, when it gave one. */
	char file[ML_NAME_LEN];
};

/* Per-CPU counters, indexed by enum ml_counter, in the map "counters". */
enum ml_counter {
	ML_CNT_EMITTED = 0,
	ML_CNT_DROPPED_RINGBUF = 1,  /* ring buffer full: event lost */
	ML_CNT_DROPPED_PENDING = 2,  /* pending-syscall or kprobe entry map full at entry */
	ML_CNT_MISSED_ENTRY = 3,     /* exit or kretprobe without a recorded entry */
	ML_CNT_MAX = 4,
};

#endif /* MOUNTLEAK_EVENTS_H */
