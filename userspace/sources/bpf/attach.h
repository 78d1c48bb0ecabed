// SPDX-License-Identifier: Apache-2.0
#pragma once

// Attaching a loaded program, as bpf_program__attach() does, except for
// the two kinds where libbpf 1.1 would go through tracefs on its own:
//
// - Tracepoint programs: libbpf reads the id below /sys/kernel/debug/tracing
//   whenever that directory exists, which triggers debugfs's tracing
//   automount and leaves a tracefs mount in our (the host's) namespace.
//   Here the id comes from find_tracefs() (tracefs.h), and the program is
//   attached to a perf event of that tracepoint, as libbpf itself does.
// - kprobes: without the kprobe PMU, libbpf falls back to writing
//   tracefs's kprobe_events (the same automount). That fallback is for
//   kernels before 4.17, older than any with BTF, so here a missing PMU is
//   simply the attach failing with ENOENT. A kprobe on a module's function
//   ("kprobe/rbd:remove_store") is attached by that name, which libbpf's
//   section parser would cut at the colon.

#include <bpf/libbpf.h>

#include <string>

#include "util/result.h"

namespace mountleak {

// The link, or an error whose errno_value is always set; its message says
// why when we know better than the errno (empty when libbpf failed: its
// log says why).
Result<bpf_link*> attach_program(bpf_program* prog);

// "ENOENT (No such file or directory)", then ": " and the error's message
// when there is one.
std::string attach_failure_text(const Error& error);

}  // namespace mountleak
