// SPDX-License-Identifier: GPL-2.0-only
/*
 * Minimal programs, one per program type, that `mountleak probe` loads and
 * attaches one at a time to learn what this kernel really accepts. The "?"
 * prefix keeps them out of every other load.
 */
#include "common.bpf.h"

SEC("?tp/syscalls/sys_enter_getppid")
int ml_probe_tracepoint(void *ctx) { return 0; }

SEC("?raw_tp/sys_enter")
int ml_probe_raw_tracepoint(void *ctx) { return 0; }

SEC("?fentry/path_umount")
int BPF_PROG(ml_probe_fentry) { return 0; }

SEC("?fexit/path_umount")
int BPF_PROG(ml_probe_fexit) { return 0; }

SEC("?kprobe/path_umount")
int BPF_KPROBE(ml_probe_kprobe) { return 0; }

SEC("?lsm/sb_umount")
int BPF_PROG(ml_probe_lsm) { return 0; }

/* The ring buffer is probed by reserving from it. */
SEC("?tp/syscalls/sys_enter_getppid")
int ml_probe_ringbuf(void *ctx)
{
	struct ml_event_header *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (e)
		bpf_ringbuf_discard(e, 0);
	return 0;
}
