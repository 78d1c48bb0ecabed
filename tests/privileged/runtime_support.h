// SPDX-License-Identifier: Apache-2.0
#pragma once

// What the real-runtime helpers (containerd_runtime.h, dockerd_runtime.h)
// share: running their command-line clients as children that die with the
// test, and telling a seed node that is gone from one still in use.

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace mountleak::testing {

// The whole file, or "" when it cannot be read.
std::string read_whole_file(const std::string& path);

// The non-empty lines of `text`.
std::vector<std::string> lines_of(const std::string& text);

// Runs argv (argv[0] a path) with stdin from /dev/null and stdout and
// stderr sent to the given files; the child dies with the test. Its pid,
// or -1 when fork failed.
pid_t spawn_to_files(const std::vector<std::string>& argv, const std::string& out_path, const std::string& err_path);

// What a client command did.
struct CommandResult {
  int exit_code = -1;  // -1 when killed at the deadline
  std::string out;
  std::string err;
};

// Runs argv to completion (killed after `timeout`), its output kept in
// files under `dir` named for `name` while it runs, then read and removed.
CommandResult run_client(const std::vector<std::string>& argv, const std::string& dir, const std::string& name,
                         std::chrono::seconds timeout);

// Reaps `pid`, killing it at the deadline. Its exit status, or -1 when it
// was killed or died of a signal.
int reap_within(pid_t pid, std::chrono::steady_clock::duration timeout);

// Whether the seed node that owned `seed_dir` is gone: no directory, or an
// owner lock nobody holds (fixture/stale_sweep.h).
bool seed_node_gone(const std::string& seed_dir);

// The cgroup directories named `parent` at the top of each hierarchy
// (cgroup v1 controllers, the named systemd one, v2's unified tree,
// /sys/fs/cgroup itself on a pure v2 host) that exist.
std::vector<std::string> cgroup_dirs_named(const std::string& parent);

// SIGKILLs every process in the cgroup trees named `parent` (each
// hierarchy's, as cgroup_dirs_named finds them), then removes the trees,
// children first. What it had to kill ("process N was left in DIR; killed")
// and what it could not remove go to `notes`.
void empty_and_remove_cgroups(const std::string& parent, std::vector<std::string>& notes);

// The pids of processes whose command line (NULs as spaces) contains
// `needle`, other than this process.
std::vector<pid_t> pids_with_cmdline_containing(const std::string& needle);

}  // namespace mountleak::testing
