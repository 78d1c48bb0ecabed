// SPDX-License-Identifier: Apache-2.0
#pragma once

// Scaffolding the trace benchmarks share: the root and namespace checks,
// a tmpfs scratch directory, tracer arguments for a node that reads nothing
// real, load average, percentiles. Header-only for the reason given in
// trace_tracer_process.h.

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "fixture/private_namespace.h"
#include "util/result.h"

namespace mountleak::bench {

// Root, then a private mount namespace of our own before anything else
// (before threads, see private_namespace.h): every mount a benchmark makes
// stays in it, and it plays the node's host namespace.
inline Status enter_bench_namespace(const char* name) {
  if (geteuid() != 0)
    return Error{std::string(name) + " needs root (BPF programs, mount namespaces, mounts)"};
  return fixture::enter_private_mount_namespace();
}

struct LoadAverage {
  double one = 0, five = 0, fifteen = 0;
};

inline LoadAverage load_average() {
  LoadAverage l;
  std::ifstream in("/proc/loadavg");
  in >> l.one >> l.five >> l.fifteen;
  return l;
}

// Nearest-rank percentile (p in 0..100) of a sample; 0 when empty.
inline double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

inline double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

inline double minimum(const std::vector<double>& v) {
  return v.empty() ? 0 : *std::min_element(v.begin(), v.end());
}

// A directory under /tmp with a tmpfs on it. The tmpfs exists only in this
// process's private namespace, so the host never sees it; the directory
// itself is removed on destruction.
class ScratchDir {
 public:
  static Result<ScratchDir> create(const std::string& prefix) {
    std::string templ = "/tmp/" + prefix + "-XXXXXX";
    if (!mkdtemp(templ.data())) return Error::from_errno("mkdtemp " + templ);
    if (mount("mountleak-bench", templ.c_str(), "tmpfs", 0, "size=64m,mode=0755") != 0) {
      Error e = Error::from_errno("mounting a tmpfs on " + templ);
      rmdir(templ.c_str());
      return e;
    }
    ScratchDir d;
    d.path_ = templ;
    return d;
  }
  ScratchDir() = default;
  ScratchDir(ScratchDir&& o) noexcept : path_(std::move(o.path_)) { o.path_.clear(); }
  ScratchDir& operator=(ScratchDir&& o) noexcept {
    std::swap(path_, o.path_);
    return *this;
  }
  ~ScratchDir() {
    if (path_.empty()) return;
    umount2(path_.c_str(), MNT_DETACH);
    rmdir(path_.c_str());
  }
  const std::string& path() const { return path_; }

  // mkdir -p below the scratch dir.
  Result<std::string> make_dir(const std::string& relative) const {
    std::error_code ec;
    std::string p = path_ + "/" + relative;
    std::filesystem::create_directories(p, ec);
    if (ec) return Error{"mkdir " + p + ": " + ec.message()};
    return p;
  }

 private:
  std::string path_;
};

// Tracer arguments for a node with no runtimes and no tracked device (the
// glob matches nothing): every runtime path points at an empty directory,
// and our own namespace is the host's.
inline std::vector<std::string> bare_node_args(const ScratchDir& scratch) {
  const std::string empty = scratch.path() + "/empty";
  std::filesystem::create_directories(empty);
  return {"--devices",          "mountleak-bench-none*",
          "--host-mntns",       std::to_string(getpid()),
          "--kubelet-root",     empty,
          "--containerd-state", empty,
          "--crio-state",       empty,
          "--docker-root",      empty,
          "--pod-log-dir",      empty};
}

}  // namespace mountleak::bench
