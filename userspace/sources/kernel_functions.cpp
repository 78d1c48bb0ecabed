// SPDX-License-Identifier: Apache-2.0
#include "sources/kernel_functions.h"

#include <cerrno>

namespace mountleak {

std::optional<AttachTarget> attach_target_of_section(std::string_view section) {
  if (section.starts_with('?')) section.remove_prefix(1);
  struct Prefix {
    std::string_view text;
    ProgramKind kind;
  };
  // The sleepable forms (".s") attach to functions the same way.
  static constexpr Prefix kPrefixes[] = {
      {"fentry/", ProgramKind::kFentry},   {"fentry.s/", ProgramKind::kFentry},
      {"fexit/", ProgramKind::kFexit},     {"fexit.s/", ProgramKind::kFexit},
      {"kprobe/", ProgramKind::kKprobe},   {"kretprobe/", ProgramKind::kKprobe},
      {"fexit.module/", ProgramKind::kFexit},
  };
  for (const auto& prefix : kPrefixes) {
    if (!section.starts_with(prefix.text)) continue;
    std::string_view rest = section.substr(prefix.text.size());
    AttachTarget target{prefix.kind, "", ""};
    // "fexit.module/MOD:F", and "kprobe/MOD:F", the kernel's own spelling
    // of a module's function for a kprobe (bpf/kernel_busy.bpf.c).
    if (prefix.text == "fexit.module/" || (prefix.kind == ProgramKind::kKprobe && rest.find(':') != rest.npos)) {
      const size_t colon = rest.find(':');
      if (colon == std::string_view::npos || colon == 0) return std::nullopt;
      target.module = std::string(rest.substr(0, colon));
      rest.remove_prefix(colon + 1);
    }
    // "kprobe/func+0x10": the function is before the offset.
    if (prefix.kind == ProgramKind::kKprobe) rest = rest.substr(0, rest.find('+'));
    if (rest.empty()) return std::nullopt;
    target.function = std::string(rest);
    return target;
  }
  return std::nullopt;
}

std::string attach_target_unusable(const AttachTarget& target, KernelFunctions& functions) {
  const auto& f = target.function;
  if (!target.module.empty() && target.kind == ProgramKind::kKprobe) {
    // A kprobe needs no BTF: the module's symbol is what it attaches to.
    auto symbol = functions.kernel_symbol(target.module, f);
    if (!symbol || *symbol == Presence::kPresent) return "";
    return "no function " + f + " among " + target.module + "'s symbols";
  }
  if (!target.module.empty()) {
    auto found = functions.btf_function(target.module, f);
    if (!found)  // no BTF at all is a clear no; an unreadable one, no answer
      return found.error().errno_value == ENOENT ? found.error().message : "";
    return *found == Presence::kPresent ? "" : target.module + "'s BTF has no function " + f;
  }
  auto found = functions.btf_function("", f);
  if (found && *found == Presence::kPresent) return "";
  if (target.kind != ProgramKind::kKprobe)
    return found ? "no function " + f + " in vmlinux's BTF" : "";
  auto symbol = functions.kernel_symbol("", f);
  if (!symbol || *symbol == Presence::kPresent) return "";
  return "no function " + f + (found ? " in vmlinux's BTF or" : " in") + " the kernel's symbols";
}

}  // namespace mountleak
