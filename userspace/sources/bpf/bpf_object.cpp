// SPDX-License-Identifier: Apache-2.0
#include "sources/bpf/bpf_object.h"

#include <bpf/btf.h>
#include <linux/types.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <vector>

#include "mountleak/events.h"
#include "sources/bpf/module_fexit.h"
#include "mountleak_bpf.skel.h"

namespace mountleak {

namespace {

bool g_verbose = false;
std::string* g_capture = nullptr;

int libbpf_print(enum libbpf_print_level level, const char* format, va_list args) {
  if (g_capture) {
    char line[1024];
    vsnprintf(line, sizeof(line), format, args);
    g_capture->append(line);
    return 0;
  }
  if (!g_verbose && level == LIBBPF_DEBUG) return 0;
  if (!g_verbose) return 0;
  return vfprintf(stderr, format, args);
}

struct PrintInstaller {
  PrintInstaller() { libbpf_set_print(libbpf_print); }
};
const PrintInstaller g_install;

}  // namespace

LibbpfLogCapture::LibbpfLogCapture() { g_capture = new std::string(); }
LibbpfLogCapture::~LibbpfLogCapture() {
  delete g_capture;
  g_capture = nullptr;
}

std::string LibbpfLogCapture::tail(size_t max_lines) const {
  if (!g_capture) return "";
  std::vector<std::string> lines;
  std::istringstream in(*g_capture);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  std::string out;
  size_t first = lines.size() > max_lines ? lines.size() - max_lines : 0;
  for (size_t i = first; i < lines.size(); ++i) {
    if (!out.empty()) out += " | ";
    out += lines[i];
  }
  return out;
}

void set_libbpf_verbose(bool verbose) { g_verbose = verbose; }

Result<uint32_t> object_abi_version(bpf_object* obj) {
  const char* kVar = "mountleak_abi_version";
  btf* object_btf = bpf_object__btf(obj);
  bpf_map* rodata = bpf_object__find_map_by_name(obj, ".rodata");
  if (!object_btf || !rodata)
    return Error{"BPF object has no BTF or no .rodata: it was not built by mountleak's build"};
  int sec_id = btf__find_by_name_kind(object_btf, ".rodata", BTF_KIND_DATASEC);
  if (sec_id < 0) return Error{"BPF object's BTF has no .rodata section"};
  const btf_type* sec = btf__type_by_id(object_btf, sec_id);
  const btf_var_secinfo* vars = btf_var_secinfos(sec);
  size_t size = 0;
  const auto* data = static_cast<const char*>(bpf_map__initial_value(rodata, &size));
  for (int i = 0; i < btf_vlen(sec); ++i) {
    const btf_type* var = btf__type_by_id(object_btf, vars[i].type);
    if (std::strcmp(btf__name_by_offset(object_btf, var->name_off), kVar) != 0) continue;
    if (!data || vars[i].offset + sizeof(uint32_t) > size)
      return Error{"BPF object's mountleak_abi_version lies outside .rodata"};
    uint32_t version;
    std::memcpy(&version, data + vars[i].offset, sizeof(version));
    return version;
  }
  return Error{"BPF object carries no mountleak_abi_version: it predates the versioned ABI"};
}

Result<BpfObjectPtr> open_bpf_object(const BpfObjectSource& source) {
  register_module_fexit_section();
  LibbpfLogCapture capture;
  bpf_object* raw = nullptr;
  if (source.path.empty()) {
    size_t size = 0;
    const void* bytes = mountleak_bpf__elf_bytes(&size);
    LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = "mountleak");
    raw = bpf_object__open_mem(bytes, size, &opts);
  } else {
    raw = bpf_object__open_file(source.path.c_str(), nullptr);
  }
  if (!raw) {
    int err = errno;
    return Error{"opening " + source.describe() + ": " + std::strerror(err) +
                     (capture.tail().empty() ? "" : " (" + capture.tail() + ")"),
                 err};
  }
  BpfObjectPtr obj(raw);
  auto version = object_abi_version(obj.get());
  if (!version) return Error{source.describe() + ": " + version.error().message};
  if (*version != MOUNTLEAK_ABI_VERSION)
    return Error{source.describe() + " was built for event ABI version " +
                 std::to_string(*version) + ", but this mountleak speaks version " +
                 std::to_string(MOUNTLEAK_ABI_VERSION) +
                 "; rebuild both from the same source tree"};
  return obj;
}

}  // namespace mountleak
