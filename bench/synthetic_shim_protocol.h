// SPDX-License-Identifier: Apache-2.0
#pragma once

// What SyntheticNode and synthetic_shim tell each other. The node passes a
// container's plan in an environment variable (the command line must look
// like a real docker-containerd-shim's, which the seed script greps for);
// every process of the container reports back one fixed-size message on an
// inherited pipe. Plain C types: the shim links nothing of mountleak.

#include <cstdint>

namespace mountleak::bench {

// Lines "key=value": container=<index>, ready_fd=<fd>, processes=<n> (in the
// container, its init included), init_comm=, worker_comm=, then any number of
// cgroup=<.../cgroup.procs> (joined by the init before unshare), rslave=1
// (make the new namespace's "/" rslave, as runc does), drop=<mount point>
// (unmounted in the container's namespace, in order), private=<mount point>
// (made rprivate there) and init_arg=<argv[i]> (the container's command line,
// at least one). The shim adds stage=init when it re-executes itself as the
// container's init.
inline constexpr const char* kShimPlanEnv = "MOUNTLEAK_SYNTHETIC_SHIM_PLAN";

enum ShimRole : int32_t { kRoleShim = 0, kRoleInit = 1, kRoleWorker = 2 };

// Below PIPE_BUF, so concurrent writers never interleave.
struct ShimReport {
  int32_t container = -1;
  int32_t role = kRoleShim;
  int32_t pid = 0;
  int32_t err = 0;      // errno of the failed step; 0 = ready
  char step[112] = {};  // what failed, NUL-terminated
};
static_assert(sizeof(ShimReport) == 128);

}  // namespace mountleak::bench
