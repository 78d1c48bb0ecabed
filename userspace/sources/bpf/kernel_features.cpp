// SPDX-License-Identifier: Apache-2.0
#include "sources/bpf/kernel_features.h"

#include "sources/bpf/attach.h"
#include "sources/bpf/entry_maps.h"
#include "sources/bpf/kernel_btf.h"
#include "sources/bpf/module_fexit.h"
#include "sources/bpf/object_programs.h"
#include "sources/kernel_functions.h"
#include "util/errno_text.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace mountleak {

FeatureProbe KernelProber::probe(ProgramKind kind) {
  auto it = cache_.find(kind);
  if (it != cache_.end()) return it->second;
  FeatureProbe result = run(kind);
  cache_.emplace(kind, result);
  return result;
}

bool KernelProber::module_loaded(const std::string& name) {
  // /sys/module/<name> exists for a loaded module, and for a built-in one
  // with parameters (rbd has some), whose functions are then vmlinux's.
  struct stat st;
  return stat((sys_root_ + "/module/" + name).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

const std::map<std::string, std::string>& KernelProber::sections() {
  if (sections_) return *sections_;
  sections_.emplace();
  if (auto obj = open_bpf_object(source_))
    for (auto& program : object_programs(obj->get())) sections_->emplace(program.name, program.section);
  return *sections_;
}

std::string KernelProber::program_unusable(const std::string& program) {
  auto it = sections().find(program);
  if (it == sections().end()) return "";
  const auto target = attach_target_of_section(it->second);
  if (!target) return "";  // attaches to no kernel function
  if (target->module.empty()) {
    if (!vmlinux_unusable_) {
      vmlinux_unusable_.emplace();
      KernelBtf btf(sys_root_, kallsyms_);
      for (const auto& [name, section] : sections())
        if (auto t = attach_target_of_section(section); t && t->module.empty())
          vmlinux_unusable_->emplace(name, attach_target_unusable(*t, btf));
    }
    return vmlinux_unusable_->at(program);
  }
  KernelBtf btf(sys_root_, kallsyms_);
  std::string why = attach_target_unusable(*target, btf);
  return why.empty() ? shadowed_by_vmlinux(it->second) : why;
}

FeatureProbe KernelProber::run(ProgramKind kind) {
  auto obj = open_bpf_object(source_);
  if (!obj) return {false, obj.error().message};
  const HookProgram* wanted = probe_program_for(kind);
  if (!wanted) return {false, "no probe program for " + std::string(program_kind_name(kind))};
  bpf_program* target = nullptr;
  bpf_program* prog;
  bpf_object__for_each_program(prog, obj->get()) {
    bool is_target = wanted->name == bpf_program__name(prog);
    bpf_program__set_autoload(prog, is_target);
    if (is_target) target = prog;
  }
  if (!target) return {false, "probe program " + wanted->name + " missing from the object"};
  // The probe needs no real ring buffer; keep the allocation small.
  if (bpf_map* events = bpf_object__find_map_by_name(obj->get(), "events"))
    bpf_map__set_max_entries(events, 64 * 1024);
  shrink_unused_entry_maps(obj->get(), {});

  LibbpfLogCapture capture;
  int err = bpf_object__load(obj->get());
  if (err) return {false, "load refused: " + errno_text(err)};
  auto link = attach_program(target);
  if (!link) return {false, "loaded, attach failed: " + attach_failure_text(link.error())};
  bpf_link__destroy(*link);
  return {true, "loaded and attached"};
}

}  // namespace mountleak
