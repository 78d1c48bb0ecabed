// SPDX-License-Identifier: Apache-2.0
#pragma once

// Opening mountleak's BPF object: from the bytes embedded in the skeleton
// (the normal case) or from a file (tests, and operators who build the BPF
// side separately), always checking the event ABI it was built for.

#include <bpf/libbpf.h>

#include <memory>
#include <string>

#include "util/result.h"

namespace mountleak {

struct BpfObjectCloser {
  void operator()(bpf_object* obj) const { bpf_object__close(obj); }
};
using BpfObjectPtr = std::unique_ptr<bpf_object, BpfObjectCloser>;

// Where the object comes from: embedded (path empty) or a .bpf.o file.
struct BpfObjectSource {
  std::string path;
  std::string describe() const { return path.empty() ? "embedded BPF object" : path; }
};

// Opens (does not load) the object and refuses it unless its
// `mountleak_abi_version` equals MOUNTLEAK_ABI_VERSION.
Result<BpfObjectPtr> open_bpf_object(const BpfObjectSource& source);

// The ABI version compiled into an opened object, read through its BTF.
Result<uint32_t> object_abi_version(bpf_object* obj);

// libbpf prints warnings (including verifier logs) through a callback. While
// a LibbpfLogCapture is alive they are collected instead of printed, so a
// refused program's reason can travel inside an Error.
class LibbpfLogCapture {
 public:
  LibbpfLogCapture();
  ~LibbpfLogCapture();
  LibbpfLogCapture(const LibbpfLogCapture&) = delete;
  LibbpfLogCapture& operator=(const LibbpfLogCapture&) = delete;
  // The last few lines: the verifier's verdict is at the end of its log.
  std::string tail(size_t max_lines = 6) const;
};

// Route libbpf's own messages: printed to stderr when verbose, else dropped
// (outside a LibbpfLogCapture).
void set_libbpf_verbose(bool verbose);

}  // namespace mountleak
