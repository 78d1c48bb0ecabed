// SPDX-License-Identifier: GPL-2.0-only
/* The object-wide read-only knobs and the license, defined exactly once. */
#include "common.bpf.h"

/* The event ABI this object was built for; the loader refuses a mismatch. */
const volatile __u32 mountleak_abi_version = MOUNTLEAK_ABI_VERSION;

char LICENSE[] SEC("license") = "GPL";
