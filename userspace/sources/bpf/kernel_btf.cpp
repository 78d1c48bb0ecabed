// SPDX-License-Identifier: Apache-2.0
#include "sources/bpf/kernel_btf.h"

#include <cerrno>
#include <fstream>

namespace mountleak {

namespace {

struct BtfCloser {
  void operator()(btf* b) const { btf__free(b); }
};

}  // namespace

KernelBtf::KernelBtf(std::string sys_root, std::string kallsyms)
    : sys_root_(std::move(sys_root)), kallsyms_(std::move(kallsyms)) {}

KernelBtf::~KernelBtf() { btf__free(vmlinux_); }

Result<btf*> KernelBtf::vmlinux() {
  if (vmlinux_) return vmlinux_;
  if (vmlinux_error_) return *vmlinux_error_;
  const std::string path = sys_root_ + "/kernel/btf/vmlinux";
  vmlinux_ = btf__parse(path.c_str(), nullptr);
  if (!vmlinux_) {
    vmlinux_error_ = Error::from_errno("reading vmlinux's BTF from " + path);
    return *vmlinux_error_;
  }
  return vmlinux_;
}

Result<Presence> KernelBtf::btf_function(const std::string& module, const std::string& function) {
  auto base = vmlinux();
  if (!base) return base.error();
  if (module.empty())
    return btf__find_by_name_kind(*base, function.c_str(), BTF_KIND_FUNC) >= 0 ? Presence::kPresent
                                                                                : Presence::kAbsent;
  const std::string path = sys_root_ + "/kernel/btf/" + module;
  std::unique_ptr<btf, BtfCloser> own(btf__parse_split(path.c_str(), *base));
  if (!own) {
    const int err = errno;
    if (err == ENOENT)
      return Error{"the kernel has no BTF for " + module + " (" + path +
                       ": module not loaded, or built without BTF)",
                   ENOENT};
    return Error::from_errno("reading " + module + "'s BTF from " + path, err);
  }
  // The module's own types follow vmlinux's: a function of the same name
  // in vmlinux is not the module's.
  for (uint32_t id = btf__type_cnt(*base); id < btf__type_cnt(own.get()); ++id) {
    const btf_type* t = btf__type_by_id(own.get(), id);
    if (btf_is_func(t) && function == btf__name_by_offset(own.get(), t->name_off)) return Presence::kPresent;
  }
  return Presence::kAbsent;
}

Result<Presence> KernelBtf::kernel_symbol(const std::string& module, const std::string& function) {
  // "ffffffff81234560 T path_umount", or "... t remove_store\t[rbd]".
  std::ifstream in(kallsyms_);
  if (!in) return Error::from_errno("reading " + kallsyms_);
  const std::string owner = "[" + module + "]";
  for (std::string line; std::getline(in, line);) {
    const size_t type = line.find(' ');
    const size_t name = type == std::string::npos ? type : line.find(' ', type + 1);
    if (name == std::string::npos) continue;
    const size_t end = line.find('\t', name + 1);
    if (line.compare(name + 1, end == std::string::npos ? std::string::npos : end - name - 1, function) != 0)
      continue;
    if (module.empty() || (end != std::string::npos && line.compare(end + 1, std::string::npos, owner) == 0))
      return Presence::kPresent;
  }
  return Presence::kAbsent;
}

}  // namespace mountleak
