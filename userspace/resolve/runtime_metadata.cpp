// SPDX-License-Identifier: Apache-2.0
#include "resolve/runtime_metadata.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <nlohmann/json.hpp>

#include "resolve/read_text.h"

namespace mountleak {

namespace {

using nlohmann::json;

enum class Source { kContainerd, kCrio, kDocker };

constexpr std::string_view kPropagations[] = {"private", "rprivate", "slave",      "rslave",
                                              "shared",  "rshared",  "unbindable", "runbindable"};

bool is_propagation(std::string_view s) {
  return std::find(std::begin(kPropagations), std::end(kPropagations), s) != std::end(kPropagations);
}

// Parses without letting an exception out; the error says where, by byte.
std::optional<json> parse_json(std::string_view text, const std::string& file, Error& error) {
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::parse_error& e) {
    error = Error{file + ": not valid JSON at byte " + std::to_string(e.byte), 0};
  } catch (const json::exception& e) {
    error = Error{file + ": not valid JSON: " + e.what(), 0};
  }
  return std::nullopt;
}

std::string string_at(const json& object, const char* key) {
  if (!object.is_object()) return {};
  auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

// The first non-empty value among keys; runtimes and their versions spell
// the same fact differently.
std::string first_of(const json& object, std::initializer_list<const char*> keys) {
  for (const char* k : keys) {
    std::string v = string_at(object, k);
    if (!v.empty()) return v;
  }
  return {};
}

std::string with_article(std::string_view noun) {
  bool vowel = !noun.empty() && std::string_view("aeiou").find(noun[0]) != std::string_view::npos;
  return (vowel ? "an " : "a ") + std::string(noun);
}

// A member that must be of one JSON type when present; null counts as absent.
const json* member(const json& object, const char* key, json::value_t type, const std::string& file,
                   std::optional<Error>& error) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  if (it->type() != type) {
    // The first problem is the one reported.
    if (!error)
      error = Error{file + ": \"" + key + "\" is " + with_article(it->type_name()) + ", expected " +
                        (type == json::value_t::object ? "an object" : "an array"),
                    0};
    return nullptr;
  }
  return &*it;
}

std::string basename(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

bool is_missing(const Error& e) { return e.errno_value == ENOENT || e.errno_value == ENOTDIR; }

std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> names;
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), ::closedir);
  if (!d) return names;
  while (dirent* e = ::readdir(d.get())) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  std::sort(names.begin(), names.end());
  return names;
}

// dockershim's container name: k8s_<container>_<pod>_<namespace>_<uid>_<attempt>.
std::optional<std::pair<std::string, PodRef>> from_dockershim_name(std::string_view name) {
  if (!name.empty() && name[0] == '/') name.remove_prefix(1);
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t pos = name.find('_', start);
    parts.emplace_back(name.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  if (parts.size() != 6 || parts[0] != "k8s") return std::nullopt;
  for (const auto& p : parts)
    if (p.empty()) return std::nullopt;
  return std::make_pair(parts[1], PodRef{parts[3], parts[2], parts[4]});
}

// What a label may be: Kubernetes allows a key of at most 317 bytes (a
// 253-byte prefix, '/', a 63-byte name) and a value of at most 63; a pod
// has no more labels than fit in its 256 KiB of metadata. Anything past
// these is not a label kubelet wrote, and is left out.
constexpr size_t kMaxLabelKey = 317;
constexpr size_t kMaxLabelValue = 63;
constexpr size_t kMaxLabels = 1024;

std::map<std::string, std::string> labels_from(const json& object) {
  std::map<std::string, std::string> out;
  if (!object.is_object()) return out;
  for (const auto& [key, value] : object.items()) {
    if (out.size() >= kMaxLabels) break;
    if (!value.is_string() || key.empty() || key.size() > kMaxLabelKey) continue;
    const auto& v = value.get_ref<const std::string&>();
    if (v.size() <= kMaxLabelValue) out.emplace(key, v);
  }
  return out;
}

// A runtime's container id as a metadata file names it: hex, no path.
bool plain_id(const std::string& id) {
  return !id.empty() && id.size() <= 128 &&
         std::all_of(id.begin(), id.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

}  // namespace

std::string propagation_from_options(const std::vector<std::string>& options) {
  std::string found;
  for (const auto& o : options)
    if (is_propagation(o)) found = o;
  return found;
}

Result<ContainerMetadata> parse_oci_config(std::string_view text, const std::string& file, std::string_view runtime) {
  Error parse_error;
  auto doc = parse_json(text, file, parse_error);
  if (!doc) return parse_error;
  if (!doc->is_object()) return Error{file + ": not an OCI runtime spec (top level is " + with_article(doc->type_name()) + ")", 0};

  std::optional<Error> error;
  const json* annotations = member(*doc, "annotations", json::value_t::object, file, error);
  const json* mounts = member(*doc, "mounts", json::value_t::array, file, error);
  if (error) return *error;

  ContainerMetadata meta;
  meta.runtime = runtime;
  meta.metadata_file = file;
  if (annotations) {
    const json& a = *annotations;
    std::string type = first_of(a, {"io.kubernetes.cri.container-type", "io.kubernetes.cri-o.ContainerType"});
    meta.sandbox = type == "sandbox";
    // CRI-O names a sandbox's container "POD"; it is not a container a user wrote.
    if (!meta.sandbox) meta.name = first_of(a, {"io.kubernetes.cri.container-name", "io.kubernetes.container.name"});
    PodRef pod{first_of(a, {"io.kubernetes.cri.sandbox-namespace", "io.kubernetes.pod.namespace"}),
               first_of(a, {"io.kubernetes.cri.sandbox-name", "io.kubernetes.pod.name"}),
               first_of(a, {"io.kubernetes.cri.sandbox-uid", "io.kubernetes.pod.uid"})};
    // containerd before 1.5 wrote no pod annotations on containers, but its
    // sandboxes carry the log directory, which is named after the pod.
    if (pod.name.empty() && pod.uid.empty()) {
      if (auto from_log = pod_from_log_dir_name(basename(string_at(a, "io.kubernetes.cri.sandbox-log-directory"))))
        pod = *from_log;
    }
    meta.sandbox_id = first_of(a, {"io.kubernetes.cri.sandbox-id", "io.kubernetes.cri-o.SandboxID"});
    // A CRI-O sandbox's Labels are its pod's (a container's are kubelet's
    // own: io.kubernetes.container.name and the like).
    if (meta.sandbox && runtime == "cri-o") {
      auto labels = json::parse(string_at(a, "io.kubernetes.cri-o.Labels"), nullptr, false);
      pod.labels = labels_from(labels);
    }
    if (!pod.namespace_.empty() || !pod.name.empty() || !pod.uid.empty()) meta.pod = std::move(pod);
  }
  if (mounts) {
    for (const auto& m : *mounts) {
      if (!m.is_object()) return Error{file + ": a mount is " + with_article(m.type_name()) + ", expected an object", 0};
      OciMount mount{string_at(m, "source"), string_at(m, "destination"), string_at(m, "type"), {}, {}};
      if (auto it = m.find("options"); it != m.end() && it->is_array()) {
        for (const auto& o : *it)
          if (o.is_string()) mount.options.push_back(o.get<std::string>());
      }
      mount.propagation = propagation_from_options(mount.options);
      meta.mounts.push_back(std::move(mount));
    }
  }
  return meta;
}

Result<ContainerMetadata> parse_docker_config(std::string_view config_v2_text, const std::string& file,
                                              std::string_view hostconfig_text, const std::string& hostconfig_file) {
  Error parse_error;
  auto doc = parse_json(config_v2_text, file, parse_error);
  if (!doc) return parse_error;
  if (!doc->is_object()) return Error{file + ": not a docker config.v2.json (top level is " + with_article(doc->type_name()) + ")", 0};

  std::optional<Error> error;
  const json* config = member(*doc, "Config", json::value_t::object, file, error);
  const json* labels = config ? member(*config, "Labels", json::value_t::object, file, error) : nullptr;
  const json* mount_points = member(*doc, "MountPoints", json::value_t::object, file, error);
  if (error) return *error;

  ContainerMetadata meta;
  meta.runtime = "docker";
  meta.id = string_at(*doc, "ID");
  meta.metadata_file = file;
  std::string docker_name = string_at(*doc, "Name");
  if (!docker_name.empty() && docker_name[0] == '/') docker_name.erase(0, 1);
  static const json kNoLabels = json::object();
  const json& l = labels ? *labels : kNoLabels;
  meta.sandbox = string_at(l, "io.kubernetes.docker.type") == "podsandbox";
  PodRef pod{string_at(l, "io.kubernetes.pod.namespace"), string_at(l, "io.kubernetes.pod.name"),
             string_at(l, "io.kubernetes.pod.uid")};
  meta.name = string_at(l, "io.kubernetes.container.name");
  if (auto shim = from_dockershim_name(docker_name)) {
    if (meta.name.empty()) meta.name = shim->first;
    if (pod.name.empty() && pod.uid.empty()) pod = shim->second;
  }
  if (meta.name.empty()) meta.name = docker_name;
  if (meta.sandbox) meta.name.clear();
  meta.sandbox_id = string_at(l, "io.kubernetes.sandbox.id");
  // dockershim gave a sandbox its pod's labels (and kubelet's own); a
  // container gets kubelet's only.
  if (meta.sandbox) pod.labels = labels_from(l);
  if (!pod.namespace_.empty() || !pod.name.empty() || !pod.uid.empty()) meta.pod = std::move(pod);

  if (mount_points) {
    for (const auto& [key, m] : mount_points->items()) {
      if (!m.is_object()) continue;
      OciMount mount;
      mount.source = string_at(m, "Source");
      mount.destination = string_at(m, "Destination");
      if (mount.destination.empty()) mount.destination = key;
      mount.type = string_at(m, "Type");
      // docker before 1.13 wrote no Type: a named volume has a Name.
      if (mount.type.empty()) mount.type = string_at(m, "Name").empty() ? "bind" : "volume";
      mount.propagation = string_at(m, "Propagation");
      auto rw = m.find("RW");
      mount.options = {"rbind", rw != m.end() && rw->is_boolean() && !rw->get<bool>() ? "ro" : "rw"};
      if (!mount.propagation.empty()) mount.options.push_back(mount.propagation);
      meta.mounts.push_back(std::move(mount));
    }
  }

  if (!hostconfig_text.empty()) {
    auto host = parse_json(hostconfig_text, hostconfig_file, parse_error);
    if (!host) return parse_error;
    if (!host->is_object()) return Error{hostconfig_file + ": top level is " + with_article(host->type_name()) + ", expected an object", 0};
    const json* binds = member(*host, "Binds", json::value_t::array, hostconfig_file, error);
    if (error) return *error;
    for (const auto& b : binds ? *binds : json::array()) {
      if (!b.is_string()) continue;
      // "source:destination[:options]", options comma-separated.
      std::string spec = b.get<std::string>();
      size_t c1 = spec.find(':');
      if (c1 == std::string::npos) continue;  // an anonymous volume, not a bind
      size_t c2 = spec.find(':', c1 + 1);
      std::string source = spec.substr(0, c1);
      std::string destination = spec.substr(c1 + 1, c2 == std::string::npos ? std::string::npos : c2 - c1 - 1);
      std::vector<std::string> opts;
      std::string propagation;
      if (c2 != std::string::npos) {
        std::string_view rest = std::string_view(spec).substr(c2 + 1);
        while (!rest.empty()) {
          size_t comma = rest.find(',');
          std::string o(rest.substr(0, comma));
          if (is_propagation(o)) propagation = o;
          if (!o.empty()) opts.push_back(o);
          rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        }
      }
      // docker's documented default for a bind without a propagation option.
      if (propagation.empty() && source.starts_with('/')) propagation = "rprivate";
      auto same = std::find_if(meta.mounts.begin(), meta.mounts.end(),
                               [&](const OciMount& m) { return m.destination == destination; });
      if (same != meta.mounts.end()) {
        if (same->propagation.empty() && same->type == "bind") {
          same->propagation = propagation;
          if (!propagation.empty()) same->options.push_back(propagation);
        }
        continue;
      }
      OciMount mount{source, destination, source.starts_with('/') ? "bind" : "volume", {"rbind"}, propagation};
      bool ro = std::find(opts.begin(), opts.end(), "ro") != opts.end();
      mount.options.push_back(ro ? "ro" : "rw");
      if (!propagation.empty()) mount.options.push_back(propagation);
      meta.mounts.push_back(std::move(mount));
    }
  }
  return meta;
}

MetadataStore::MetadataStore(const HostPaths& paths) : paths_(paths) {}

Result<ContainerMetadata> MetadataStore::find(std::string_view runtime_hint, std::string_view id) {
  if (auto it = cache_.find(id); it != cache_.end()) return it->second;
  std::string key(id);
  auto result = lookup(runtime_hint, key);
  // The pod's labels are on its sandbox's record only: read it (once, by
  // the same cache) when the runtime writes them there.
  if (result && !result->sandbox && result->pod && plain_id(result->sandbox_id) && result->sandbox_id != key &&
      (result->runtime == "cri-o" || result->runtime == "docker")) {
    auto sandbox = find(result->runtime, result->sandbox_id);
    // The sandbox must be this pod's, when both records say which pod.
    if (sandbox && sandbox->sandbox && sandbox->pod &&
        (sandbox->pod->uid.empty() || result->pod->uid.empty() || sandbox->pod->uid == result->pod->uid))
      result->pod->labels = sandbox->pod->labels;
  }
  if (!result && failed_.insert(key).second) ++errors_;
  // A runtime writes a container's files after its processes exist: a file
  // not there yet is asked for again next time, not remembered as missing.
  if (result || result.error().errno_value != ENOENT) cache_.emplace(key, result);
  return result;
}

Result<ContainerMetadata> MetadataStore::lookup(std::string_view runtime_hint, const std::string& id) {
  // IDs come from cgroup paths and command lines; keep them from naming
  // files outside the runtimes' directories.
  if (id.empty() || id == "." || id == ".." || id.find('/') != std::string::npos)
    return Error{"container id \"" + id + "\" is not a valid runtime ID", EINVAL};

  std::vector<Source> order = {Source::kContainerd, Source::kCrio, Source::kDocker};
  if (runtime_hint == "cri-o") order = {Source::kCrio, Source::kContainerd, Source::kDocker};
  if (runtime_hint == "docker") order = {Source::kDocker, Source::kContainerd, Source::kCrio};

  std::vector<std::string> tried;
  for (Source s : order) {
    std::optional<Result<ContainerMetadata>> found;
    switch (s) {
      case Source::kContainerd: found = try_containerd(id, tried); break;
      case Source::kCrio: found = try_crio(id, tried); break;
      case Source::kDocker: found = try_docker(id, tried); break;
    }
    if (found) return *found;
  }
  std::string where;
  for (const auto& t : tried) where += (where.empty() ? "" : ", ") + t;
  return Error{"no metadata for container " + id + " (looked for " + where + ")", ENOENT};
}

std::optional<Result<ContainerMetadata>> MetadataStore::try_containerd(const std::string& id,
                                                                       std::vector<std::string>& tried) {
  std::vector<std::string> roots = {paths_.containerd()};
  // containerd 1.0 - 1.2 kept v1 shims' bundles next to the v2 ones.
  const std::string v2 = "io.containerd.runtime.v2.task";
  if (roots[0].size() > v2.size() && roots[0].ends_with("/" + v2))
    roots.push_back(roots[0].substr(0, roots[0].size() - v2.size()) + "io.containerd.runtime.v1.linux");

  for (const auto& root : roots) {
    tried.push_back(root + "/*/" + id + "/config.json");
    std::vector<std::string> namespaces = list_dir(root);
    // The CRI's namespace first; docker's ("moby") last, since docker's own
    // config.v2.json says more than the bare spec it hands containerd.
    std::stable_partition(namespaces.begin(), namespaces.end(), [](const std::string& n) { return n == "k8s.io"; });
    std::stable_partition(namespaces.begin(), namespaces.end(), [](const std::string& n) { return n != "moby"; });
    for (const auto& ns : namespaces) {
      if (ns == "moby") {
        // Let docker's own files answer when they exist.
        std::string docker_config = paths_.docker() + "/containers/" + id + "/config.v2.json";
        if (::access(docker_config.c_str(), F_OK) == 0) continue;
      }
      std::string file = root + "/" + ns + "/" + id + "/config.json";
      auto text = read_text_file(file);
      if (!text) {
        if (is_missing(text.error())) continue;
        return Result<ContainerMetadata>(text.error());
      }
      ++files_read_;
      auto meta = parse_oci_config(*text, file, ns == "moby" ? "docker" : "containerd");
      if (meta) meta->id = id;
      return meta;
    }
  }
  return std::nullopt;
}

std::optional<Result<ContainerMetadata>> MetadataStore::try_crio(const std::string& id,
                                                                 std::vector<std::string>& tried) {
  std::string file = paths_.crio() + "/" + id + "/userdata/config.json";
  tried.push_back(file);
  auto text = read_text_file(file);
  if (!text) {
    if (is_missing(text.error())) return std::nullopt;
    return Result<ContainerMetadata>(text.error());
  }
  ++files_read_;
  auto meta = parse_oci_config(*text, file, "cri-o");
  if (meta) meta->id = id;
  return meta;
}

std::optional<Result<ContainerMetadata>> MetadataStore::try_docker(const std::string& id,
                                                                   std::vector<std::string>& tried) {
  std::string dir = paths_.docker() + "/containers/" + id;
  std::string file = dir + "/config.v2.json";
  tried.push_back(file);
  auto text = read_text_file(file);
  if (!text) {
    if (is_missing(text.error())) return std::nullopt;
    return Result<ContainerMetadata>(text.error());
  }
  ++files_read_;
  std::string host_file = dir + "/hostconfig.json";
  auto host_text = read_text_file(host_file);
  if (!host_text && !is_missing(host_text.error())) return Result<ContainerMetadata>(host_text.error());
  if (host_text) ++files_read_;
  auto meta = parse_docker_config(*text, file, host_text ? std::string_view(*host_text) : std::string_view{},
                                  host_file);
  if (meta && meta->id.empty()) meta->id = id;
  return meta;
}

std::optional<std::string> MetadataStore::containerd_task_with_init(int init_pid) {
  if (init_pid <= 0) return std::nullopt;
  const std::string root = paths_.containerd();
  const std::string wanted = std::to_string(init_pid);
  int tasks = 0;
  for (const auto& ns : list_dir(root)) {
    for (const auto& id : list_dir(root + "/" + ns)) {
      if (++tasks > kMaxTasks) return std::nullopt;
      // runc writes the pid alone, without a newline; a few bytes at most.
      auto text = read_text_file(root + "/" + ns + "/" + id + "/init.pid", 32);
      if (!text) continue;
      ++files_read_;
      std::string_view pid = *text;
      while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.remove_suffix(1);
      if (pid == wanted) return id;
    }
  }
  return std::nullopt;
}

std::optional<PodRef> pod_from_log_dir_name(std::string_view dirname) {
  size_t a = dirname.find('_');
  if (a == std::string_view::npos) return std::nullopt;
  size_t b = dirname.find('_', a + 1);
  if (b == std::string_view::npos || dirname.find('_', b + 1) != std::string_view::npos) return std::nullopt;
  PodRef pod{std::string(dirname.substr(0, a)), std::string(dirname.substr(a + 1, b - a - 1)),
             std::string(dirname.substr(b + 1))};
  if (pod.namespace_.empty() || pod.name.empty() || pod.uid.empty()) return std::nullopt;
  return pod;
}

std::optional<std::string> find_pod_log_dir(const HostPaths& paths, const std::string& pod_uid) {
  if (pod_uid.empty()) return std::nullopt;
  const std::string root = paths.pod_logs();
  for (const auto& name : list_dir(root)) {
    if (name == pod_uid) return root + "/" + name;
    auto pod = pod_from_log_dir_name(name);
    if (pod && pod->uid == pod_uid) return root + "/" + name;
  }
  return std::nullopt;
}

}  // namespace mountleak
