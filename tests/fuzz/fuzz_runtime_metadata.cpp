// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for what the runtimes wrote about a container: an OCI
// config.json (containerd, CRI-O), docker's config.v2.json and
// hostconfig.json (one input, split at its first NUL), a pod log directory's
// name, and the hints made from what they hold. Whoever writes a pod spec
// or an image controls names, labels, annotations and mount paths in these
// files. Every string found is valid UTF-8 and no longer than the input,
// each mount's propagation agrees with its options, the bind covering a
// path covers it and is the longest one, and a path a hint tells the
// operator to paste into a shell reads back as itself.

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "output/printable.h"
#include "resolve/hints.h"
#include "resolve/runtime_metadata.h"

namespace {

using mountleak::fuzz::check;

constexpr std::string_view kPropagations[] = {"private", "rprivate", "slave",      "rslave",
                                              "shared",  "rshared",  "unbindable", "runbindable"};

bool is_propagation(std::string_view s) {
  for (auto p : kPropagations)
    if (s == p) return true;
  return false;
}

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

bool has_option(const mountleak::OciMount& m, std::string_view o) {
  for (const auto& x : m.options)
    if (x == o) return true;
  return false;
}

bool is_bind(const mountleak::OciMount& m) {
  return m.type == "bind" || m.type == "volume" || has_option(m, "bind") || has_option(m, "rbind");
}

std::string_view trimmed(std::string_view p) {
  while (p.size() > 1 && p.back() == '/') p.remove_suffix(1);
  return p;
}

// `prefix` is `path` or one of its ancestors, component by component.
bool covers(std::string_view prefix, std::string_view path) {
  prefix = trimmed(prefix);
  path = trimmed(path);
  if (prefix == "/") return !path.empty() && path[0] == '/';
  return path == prefix || (path.size() > prefix.size() && path.substr(0, prefix.size()) == prefix &&
                            path[prefix.size()] == '/');
}

// One word of `s` from `pos` as sh and bash read it: characters no shell
// treats specially, '...' runs and backslash escapes, up to a space or the
// end. Nothing when a shell would split, expand (globs, $, tilde at the
// start or after "name=") or fail to close it.
std::optional<std::string> shell_word(std::string_view s, size_t pos, size_t& end) {
  auto plain = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("/._-~:@%+=,").find(c) != std::string_view::npos;
  };
  std::string out;
  bool quoted_anywhere = false;
  size_t i = pos;
  while (i < s.size() && s[i] != ' ') {
    if (s[i] == '\'') {
      size_t close = s.find('\'', i + 1);
      if (close == std::string_view::npos) return std::nullopt;
      out.append(s.substr(i + 1, close - i - 1));
      quoted_anywhere = true;
      i = close + 1;
    } else if (s[i] == '\\') {
      if (i + 1 >= s.size()) return std::nullopt;
      out += s[i + 1];
      quoted_anywhere = true;
      i += 2;
    } else {
      if (!plain(s[i])) return std::nullopt;
      out += s[i++];
    }
  }
  if (i == pos) return std::nullopt;
  if (!quoted_anywhere) {
    if (out[0] == '~') return std::nullopt;
    // bash expands a tilde after '=' or ':' in a word that looks like an assignment.
    size_t eq = out.find('=');
    bool assignment = eq != std::string::npos && eq > 0 && !(out[0] >= '0' && out[0] <= '9');
    for (size_t k = 0; assignment && k < eq; ++k)
      assignment = (out[k] >= 'a' && out[k] <= 'z') || (out[k] >= 'A' && out[k] <= 'Z') ||
                   (out[k] >= '0' && out[k] <= '9') || out[k] == '_';
    for (size_t k = eq + 1; assignment && k < out.size(); ++k)
      if (out[k] == '~' && (out[k - 1] == '=' || out[k - 1] == ':')) return std::nullopt;
  }
  end = i;
  return out;
}

// Some occurrence of `before` in `hint` is followed by one shell word that
// reads back as `word`, then by `after`.
bool quotes_word(std::string_view hint, std::string_view before, std::string_view word, std::string_view after) {
  for (size_t at = hint.find(before); at != std::string_view::npos; at = hint.find(before, at + 1)) {
    size_t end = 0;
    auto w = shell_word(hint, at + before.size(), end);
    if (w && *w == word && hint.substr(end) == after) return true;
  }
  return false;
}

// A string the input gave: JSON unescaping never lengthens text, and the
// JSON parser lets no invalid UTF-8 through.
void check_string(std::string_view s, size_t input_size) {
  check(s.size() <= input_size);
  check(mountleak::valid_utf8(s));
}

void check_metadata(const mountleak::ContainerMetadata& meta, size_t input_size, bool oci) {
  check_string(meta.id, input_size);
  check_string(meta.name, input_size);
  check(!meta.sandbox || meta.name.empty());
  if (meta.pod) {
    check(!meta.pod->namespace_.empty() || !meta.pod->name.empty() || !meta.pod->uid.empty());
    check_string(meta.pod->namespace_, input_size);
    check_string(meta.pod->name, input_size);
    check_string(meta.pod->uid, input_size);
  }
  for (const auto& m : meta.mounts) {
    check_string(m.source, input_size);
    check_string(m.destination, input_size);
    // Types, options and propagation may also be the parser's own words.
    check(mountleak::valid_utf8(m.type) && mountleak::valid_utf8(m.propagation));
    for (const auto& o : m.options) check(mountleak::valid_utf8(o));
    if (oci) {
      check(m.propagation == mountleak::propagation_from_options(m.options));
      check(m.propagation.empty() || is_propagation(m.propagation));
    } else {
      // docker: every mount is an rbind, read-only or not, and says its propagation.
      check(!m.options.empty() && m.options[0] == "rbind");
      check(has_option(m, "ro") || has_option(m, "rw"));
      check(m.propagation.empty() || has_option(m, m.propagation));
    }
  }
}

void check_covering(const std::vector<mountleak::OciMount>& mounts, std::string_view point) {
  const mountleak::OciMount* via = mountleak::mount_covering(mounts, point);
  for (const auto& m : mounts) {
    if (!is_bind(m) || m.destination.empty() || !covers(m.destination, point)) continue;
    // Some bind covers the point: the answer is a bind of this list that
    // covers it too, and none is longer.
    check(via != nullptr);
    check(trimmed(via->destination).size() >= trimmed(m.destination).size());
  }
  if (!via) return;
  check(via >= mounts.data() && via < mounts.data() + mounts.size());
  check(is_bind(*via) && covers(via->destination, point));
}

void check_hints(const mountleak::ContainerMetadata& meta, std::string_view text) {
  static const std::string_view kObserved[] = {"", "private", "rslave", "shared"};
  const std::string device = "/dev/rbd4";
  const int pid = 1 + static_cast<int>(text.size() % 50000);
  // A comm is any 15 bytes; this one stays clear of the words checked below.
  std::string comm(text.substr(0, 15));
  if (contains(comm, "nsenter") || contains(comm, "umount")) comm = "sh";

  for (size_t i = 0; i < meta.mounts.size(); ++i) {
    const mountleak::OciMount& m = meta.mounts[i];
    std::string_view observed = kObserved[i % 4];

    std::string via_text = mountleak::describe_via(m, observed);
    check(contains(via_text, m.destination));
    std::string_view word = mountleak::propagation_word(observed.empty() ? std::string_view(m.propagation) : observed);
    if (!word.empty()) check(contains(via_text, " with " + std::string(word) + " propagation"));

    check_covering(meta.mounts, m.destination);
    check_covering(meta.mounts, m.destination + "/pods/x/volumes/kubernetes.io~csi/pvc/mount");
    const mountleak::OciMount* via = mountleak::mount_covering(meta.mounts, m.destination);
    bool leaked = mountleak::leaked_through_private_bind(via, observed);
    check(!leaked || via);

    mountleak::HolderFacts f;
    f.kind = i % 3 == 2 ? mountleak::HolderKind::kOpenFile : mountleak::HolderKind::kMount;
    f.device = device;
    f.runtime = meta.runtime;
    f.container_name = meta.name;
    f.container_id = meta.id;
    f.pod = meta.pod ? &*meta.pod : nullptr;
    f.owner_pod = via && meta.pod && mountleak::is_own_pod_volume(*via, meta.pod->uid);
    if (f.owner_pod) check(contains(via->source, meta.pod->uid));
    f.via = via;
    f.observed_propagation = observed;
    f.pid = pid;
    f.comm = comm;
    // Mount points and nsfs pins are absolute paths as a namespace sees them.
    const std::string mount_point = m.destination.starts_with('/') ? m.destination : "/" + m.destination;
    const std::string pin = m.source.starts_with('/') ? m.source : "/" + m.source;
    f.mount_point = mount_point;

    std::string hint = mountleak::make_hint(f);
    check(!hint.empty() && contains(hint, device));
    if (f.owner_pod) {
      check(hint.starts_with("not a leak"));
    } else if (!meta.id.empty() || !meta.name.empty()) {
      check(contains(hint, meta.name.empty() ? std::string_view(meta.id).substr(0, 12) : std::string_view(meta.name)));
      if (f.kind == mountleak::HolderKind::kMount && leaked && !meta.pod && meta.runtime == "docker") {
        const std::string& source = via->source.empty() ? via->destination : via->source;
        check(quotes_word(hint, "recreate it with -v ", source + ":" + via->destination + ":rslave",
                          " so it cannot happen again"));
      }
    }

    // The same holder outside any container: the command names the mount
    // point, or the nsfs pin when no process is left.
    f.container_name = {};
    f.container_id = {};
    f.pod = nullptr;
    f.owner_pod = false;
    f.kind = mountleak::HolderKind::kMount;
    hint = mountleak::make_hint(f);
    check(quotes_word(hint, " -m umount ", mount_point, ""));
    f.pid = 0;
    f.nsfs_pin = pin;
    hint = mountleak::make_hint(f);
    check(quotes_word(hint, "alive: umount ", pin, " to release " + device));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  auto oci = mountleak::parse_oci_config(text, "config.json", "containerd");
  if (oci) {
    check(oci->runtime == "containerd" && oci->metadata_file == "config.json");
    check(oci->id.empty());
    check_metadata(*oci, size, true);
    check_hints(*oci, text);
  } else {
    check(oci.error().message.starts_with("config.json: "));
  }

  const size_t nul = text.find('\0');
  const std::string_view config_v2 = text.substr(0, nul);
  const std::string_view hostconfig = nul == std::string_view::npos ? std::string_view{} : text.substr(nul + 1);
  auto docker = mountleak::parse_docker_config(config_v2, "config.v2.json", hostconfig, "hostconfig.json");
  if (docker) {
    check(docker->runtime == "docker" && docker->metadata_file == "config.v2.json");
    check_metadata(*docker, size, false);
    check_hints(*docker, text);
  } else {
    const std::string& message = docker.error().message;
    check(message.starts_with("config.v2.json: ") || message.starts_with("hostconfig.json: "));
  }

  if (auto pod = mountleak::pod_from_log_dir_name(text)) {
    check(!pod->namespace_.empty() && !pod->name.empty() && !pod->uid.empty());
    check(pod->namespace_ + "_" + pod->name + "_" + pod->uid == text);
    check(!contains(pod->namespace_, "_") && !contains(pod->name, "_") && !contains(pod->uid, "_"));
  }

  // Options as a comma-separated list: the answer is the last propagation word.
  std::vector<std::string> options;
  for (size_t start = 0;;) {
    size_t comma = text.find(',', start);
    options.emplace_back(text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  std::string last;
  for (const auto& o : options)
    if (is_propagation(o)) last = o;
  check(mountleak::propagation_from_options(options) == last);
  return 0;
}
