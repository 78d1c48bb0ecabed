// SPDX-License-Identifier: Apache-2.0
#pragma once

// --metrics-textfile: the page for node-exporter's textfile collector, which
// reads every *.prom file of a directory at each scrape. A reader must never
// see half a page, and a name planted in that directory must never redirect
// the write: the page goes into a fresh temporary file in the same directory
// (O_CREAT|O_EXCL|O_NOFOLLOW, a name that does not end in .prom), which is
// then renamed over FILE. rename(2) replaces whatever FILE is, a planted
// symlink included, and never writes through it.

#include <string>

#include "util/result.h"

namespace mountleak {

class MetricsTextfile {
 public:
  // Checks FILE's name (it must end in .prom, or the collector ignores it)
  // and opens its directory, which stays the one written to.
  static Result<MetricsTextfile> open(const std::string& path);
  MetricsTextfile(MetricsTextfile&& other) noexcept;
  MetricsTextfile& operator=(MetricsTextfile&&) = delete;
  ~MetricsTextfile();

  Status write(const std::string& page);
  const std::string& path() const { return path_; }

 private:
  MetricsTextfile(std::string path, int dir_fd, std::string name);

  std::string path_;
  int dir_fd_ = -1;
  std::string name_;  // FILE's last component
  std::string temp_;  // the temporary name beside it
};

}  // namespace mountleak
