// SPDX-License-Identifier: Apache-2.0
#include "runtime_support.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "fixture/cgroups.h"
#include "fixture/stale_sweep.h"

namespace mountleak::testing {

using namespace std::chrono_literals;

std::string read_whole_file(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

pid_t spawn_to_files(const std::vector<std::string>& argv, const std::string& out_path, const std::string& err_path) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (out < 0 || err < 0 || in < 0) _exit(126);
  dup2(in, 0);
  dup2(out, 1);
  dup2(err, 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  execv(args[0], args.data());
  _exit(127);
}

int reap_within(pid_t pid, std::chrono::steady_clock::duration timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (true) {
    pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (done < 0) return -1;
    if (std::chrono::steady_clock::now() >= deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(20ms);
  }
}

bool seed_node_gone(const std::string& seed_dir) {
  struct stat st {};
  if (stat(seed_dir.c_str(), &st) != 0) return true;
  int fd = open((seed_dir + "/" + fixture::kOwnerLockName).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;  // between mkdtemp and its lock: not ours to judge
  const bool free = flock(fd, LOCK_EX | LOCK_NB) == 0;
  close(fd);
  return free;
}

std::vector<std::string> cgroup_dirs_named(const std::string& parent) {
  namespace fs = std::filesystem;
  std::vector<std::string> out;
  if (parent.empty()) return out;
  std::error_code ec;
  if (fs::is_directory("/sys/fs/cgroup/" + parent, ec)) out.push_back("/sys/fs/cgroup/" + parent);
  for (const auto& h : fs::directory_iterator("/sys/fs/cgroup", ec)) {
    const std::string candidate = h.path().string() + "/" + parent;
    if (fs::is_directory(candidate, ec)) out.push_back(candidate);
  }
  return out;
}

void empty_and_remove_cgroups(const std::string& parent, std::vector<std::string>& notes) {
  namespace fs = std::filesystem;
  for (const auto& top : cgroup_dirs_named(parent)) {
    for (int round = 0; round < 50 && fixture::cgroup_tree_has_processes(top); ++round) {
      std::error_code ec;
      for (const auto& entry : fs::recursive_directory_iterator(top, ec))
        if (entry.path().filename() == "cgroup.procs")
          for (const auto& pid : lines_of(read_whole_file(entry.path())))
            if (kill(std::stoi(pid), SIGKILL) == 0 && round == 0)
              notes.push_back("process " + pid + " was left in " + entry.path().parent_path().string() + "; killed");
      std::this_thread::sleep_for(20ms);
    }
    if (auto s = fixture::remove_cgroup_tree(top); !s) notes.push_back(s.error().message);
  }
}

std::vector<pid_t> pids_with_cmdline_containing(const std::string& needle) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& p : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = p.path().filename();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = std::stoi(name);
    if (pid == getpid()) continue;
    std::string cmdline = read_whole_file(p.path().string() + "/cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    if (cmdline.find(needle) != std::string::npos) out.push_back(pid);
  }
  return out;
}

CommandResult run_client(const std::vector<std::string>& argv, const std::string& dir, const std::string& name,
                         std::chrono::seconds timeout) {
  static int serial = 0;
  const std::string base = dir + "/" + name + "-" + std::to_string(++serial);
  const std::string out = base + ".out", err = base + ".err";
  CommandResult r;
  pid_t pid = spawn_to_files(argv, out, err);
  if (pid < 0) {
    r.err = std::string("fork: ") + strerror(errno);
    return r;
  }
  r.exit_code = reap_within(pid, timeout);
  r.out = read_whole_file(out);
  r.err = read_whole_file(err);
  unlink(out.c_str());
  unlink(err.c_str());
  return r;
}

}  // namespace mountleak::testing
