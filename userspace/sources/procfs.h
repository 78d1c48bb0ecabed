// SPDX-License-Identifier: Apache-2.0
#pragma once

// Small readers for /proc, with errors as values. Every function takes the
// proc root (HostPaths::proc()) so tests and DaemonSets can point it elsewhere.
//
// A process can exit between any two calls; callers tell "gone" from
// "unreadable" with process_vanished() on the error.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/process.h"
#include "util/result.h"

namespace mountleak {

// No file under /proc is read past this: 64 MiB holds a mount table at the
// kernel's default fs.mount-max (100000 mounts) with long paths, and a
// namespace a container filled beyond it must not take our memory with it.
inline constexpr size_t kMaxProcFileBytes = 64u << 20;

// Reads a whole file. Works for /proc files that report st_size 0 and for
// seq_files that return less than asked before the end. A file longer than
// max_bytes is an error (EFBIG), never a truncated answer.
Result<std::string> read_file(const std::string& path, size_t max_bytes = kMaxProcFileBytes);

// Same, reusing buf's capacity (the scan reads hundreds of mountinfo files).
Status read_file_into(const std::string& path, std::string& buf, size_t max_bytes = kMaxProcFileBytes);

// Numeric entries of the proc root, ascending. Empty if it cannot be read.
std::vector<int> list_pids(const std::string& proc);

// st_ino of <proc>/<pid>/ns/<ns>, the namespace's identity.
Result<uint64_t> ns_inode(const std::string& proc, int pid, std::string_view ns = "mnt");

// st_ino of any namespace file (an nsfs bind mount, /proc/PID/ns/mnt, ...).
Result<uint64_t> ns_inode_of_path(const std::string& path);

// True when the error means the process (or its namespace) is gone rather
// than unreadable: ENOENT, ESRCH, and EINVAL (mountinfo of a zombie).
bool process_vanished(const Error& error);

// What /proc/PID/stat tells us. comm may hold spaces and parentheses, so it
// is taken between the first '(' and the last ')'.
struct ProcStat {
  std::string comm;
  char state = '?';
  int ppid = 0;
  uint32_t flags = 0;
  // Clock ticks after boot: with the pid, a process's identity (pids are
  // reused). 0 when the stat text is too short to say.
  uint64_t start_time = 0;
  bool kernel_thread() const { return (flags & 0x00200000u) != 0; }  // PF_KTHREAD
};
std::optional<ProcStat> parse_proc_stat(std::string_view text);

Result<ProcStat> read_proc_stat(const std::string& proc, int pid);
Result<std::string> read_comm(const std::string& proc, int pid);  // without the newline
Result<int> read_ppid(const std::string& proc, int pid);
// argv split at NULs; empty for kernel threads and zombies.
Result<std::vector<std::string>> read_cmdline(const std::string& proc, int pid);
std::vector<std::string> split_cmdline(std::string_view raw);
Result<std::string> read_cgroup(const std::string& proc, int pid);  // /proc/PID/cgroup as is

// stat, cmdline and cgroup of one process. Fails if stat cannot be read or
// the process vanished half way; an unreadable cmdline or cgroup (EACCES)
// leaves that member empty.
Result<ProcessInfo> read_process_info(const std::string& proc, int pid);

}  // namespace mountleak
