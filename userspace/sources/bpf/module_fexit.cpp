// SPDX-License-Identifier: Apache-2.0
#include "sources/bpf/module_fexit.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>

namespace mountleak {

namespace {

constexpr const char* kSection = "fexit.module/";

struct BtfCloser {
  void operator()(btf* b) const { btf__free(b); }
};
using BtfPtr = std::unique_ptr<btf, BtfCloser>;

// The kernel's BTF objects by name ("vmlinux", "rbd", ...), as fds kept
// open for the life of the process: a program's load needs its target's
// fd, and there are only a few.
Result<std::pair<int, uint32_t>> kernel_btf_named(const std::string& name) {
  static std::map<std::string, std::pair<int, uint32_t>> cache;
  if (auto it = cache.find(name); it != cache.end()) return it->second;
  for (uint32_t id = 0; bpf_btf_get_next_id(id, &id) == 0;) {
    const int fd = bpf_btf_get_fd_by_id(id);
    if (fd < 0) continue;
    char object_name[64] = {};
    bpf_btf_info info{};
    info.name = reinterpret_cast<uint64_t>(object_name);
    info.name_len = sizeof object_name;
    uint32_t len = sizeof info;
    if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && info.kernel_btf && name == object_name) {
      cache.emplace(name, std::make_pair(fd, id));
      return std::make_pair(fd, id);
    }
    ::close(fd);
  }
  // The kernel lets only CAP_SYS_ADMIN list its BTF objects: "not found"
  // would then be a wrong reason for falling back.
  if (errno == EPERM)
    return Error{"listing the kernel's BTF objects (for " + name + "'s) needs CAP_SYS_ADMIN", EPERM};
  return Error{"the kernel has no BTF for " + name + " (module not loaded, or built without BTF)", ENOENT};
}

// The BTF type id of FUNCTION among MODULE's own types, never vmlinux's.
Result<int> module_function_id(const std::string& module, const std::string& function, int& btf_fd) {
  auto object = kernel_btf_named(module);
  if (!object) return object.error();
  BtfPtr vmlinux(btf__load_vmlinux_btf());
  if (!vmlinux) return Error::from_errno("reading vmlinux BTF");
  BtfPtr own(btf__load_from_kernel_by_id_split(object->second, vmlinux.get()));
  if (!own) return Error::from_errno("reading " + module + "'s BTF");
  for (uint32_t id = btf__type_cnt(vmlinux.get()); id < btf__type_cnt(own.get()); ++id) {
    const btf_type* t = btf__type_by_id(own.get(), id);
    if (btf_is_func(t) && function == btf__name_by_offset(own.get(), t->name_off)) {
      btf_fd = object->first;
      return static_cast<int>(id);
    }
  }
  return Error{module + "'s BTF has no function " + function, ENOENT};
}

int prepare_load(bpf_program* prog, bpf_prog_load_opts* opts, long) {
  const std::string section = bpf_program__section_name(prog);
  const std::string module = module_of_section(section);
  const std::string function = section.substr(section.find(':') + 1);
  int btf_fd = -1;
  auto id = module_function_id(module, function, btf_fd);
  if (!id) return -(id.error().errno_value ? id.error().errno_value : ENOENT);
  opts->attach_btf_obj_fd = static_cast<uint32_t>(btf_fd);
  opts->attach_btf_id = static_cast<uint32_t>(*id);
  return 0;
}

int attach(const bpf_program* prog, long, bpf_link** link) {
  *link = bpf_program__attach_trace(prog);
  return *link ? 0 : -errno;
}

}  // namespace

void register_module_fexit_section() {
  static std::once_flag once;
  std::call_once(once, [] {
    LIBBPF_OPTS(libbpf_prog_handler_opts, opts, .prog_prepare_load_fn = prepare_load, .prog_attach_fn = attach);
    libbpf_register_prog_handler(kSection, BPF_PROG_TYPE_TRACING, BPF_TRACE_FEXIT, &opts);
  });
}

std::string module_of_section(const std::string& section) {
  std::string s = section.rfind('?', 0) == 0 ? section.substr(1) : section;
  if (s.rfind(kSection, 0) != 0) return "";
  s = s.substr(std::strlen(kSection));
  const size_t colon = s.find(':');
  return colon == std::string::npos || colon == 0 ? "" : s.substr(0, colon);
}

std::string shadowed_by_vmlinux(const std::string& section) {
  const std::string module = module_of_section(section);
  if (module.empty()) return "";
  const std::string function = section.substr(section.find(':') + 1);
  utsname u{};
  int major = 0, minor = 0;
  if (::uname(&u) == 0 && std::sscanf(u.release, "%d.%d", &major, &minor) == 2 &&
      (major > 6 || (major == 6 && minor >= 3)))
    return "";
  // "ffffffff81234560 t remove_store" for vmlinux; module symbols end in
  // "\t[rbd]".
  std::ifstream kallsyms("/proc/kallsyms");
  for (std::string line; std::getline(kallsyms, line);) {
    const size_t name = line.find(' ', line.find(' ') + 1);
    if (name == std::string::npos || line.compare(name + 1, std::string::npos, function) != 0) continue;
    return "Linux " + std::to_string(major) + "." + std::to_string(minor) + " binds fexit by symbol name, and " +
           function + " is vmlinux's before it is " + module + "'s (fixed in 6.3)";
  }
  return "";
}

Result<std::string> attach_btf_object(int prog_fd) {
  bpf_prog_info info{};
  uint32_t len = sizeof info;
  if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) != 0) return Error::from_errno("reading program info");
  if (info.attach_btf_obj_id == 0 && info.attach_btf_id == 0)
    return Error{"this kernel does not say where a program is attached (6.0+ does)", ENOTSUP};
  const int fd = bpf_btf_get_fd_by_id(info.attach_btf_obj_id);
  if (fd < 0) return Error::from_errno("opening BTF object " + std::to_string(info.attach_btf_obj_id));
  char name[64] = {};
  bpf_btf_info btf_info{};
  btf_info.name = reinterpret_cast<uint64_t>(name);
  btf_info.name_len = sizeof name;
  uint32_t btf_len = sizeof btf_info;
  const int rc = bpf_obj_get_info_by_fd(fd, &btf_info, &btf_len);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return Error::from_errno("reading BTF object info", err);
  return std::string(name);
}

}  // namespace mountleak
