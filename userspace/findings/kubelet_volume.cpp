// SPDX-License-Identifier: Apache-2.0
#include "findings/kubelet_volume.h"

namespace mountleak {

namespace {

constexpr size_t kMaxObjectName = 253;
// No kubelet path is deeper than this many components below its root; a
// longer path is looked at only in its last ones (bounded work per path).
constexpr size_t kMaxComponents = 64;

bool alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

bool object_name(std::string_view s) {
  if (s.empty() || s.size() > kMaxObjectName || !alnum(s.front()) || !alnum(s.back())) return false;
  for (char c : s)
    if (!alnum(c) && c != '-' && c != '.') return false;
  return true;
}

std::vector<std::string_view> components(std::string_view path) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) out.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  if (out.size() > kMaxComponents) out.erase(out.begin(), out.end() - kMaxComponents);
  return out;
}

// 1 for a pod volume path, 2 for a staging path, 0 for neither.
int pv_in(std::string_view path, std::string& pv) {
  const auto c = components(path);
  const size_t n = c.size();
  // .../pods/<uid>/volumes/kubernetes.io~csi/<pv>/mount
  if (n >= 6 && c[n - 1] == "mount" && c[n - 3] == "kubernetes.io~csi" && c[n - 4] == "volumes" &&
      c[n - 6] == "pods" && object_name(c[n - 2])) {
    pv = c[n - 2];
    return 1;
  }
  // .../pods/<uid>/volumes/kubernetes.io~<plugin>/<name>
  if (n >= 5 && c[n - 2].starts_with("kubernetes.io~") && c[n - 2] != "kubernetes.io~csi" &&
      c[n - 3] == "volumes" && c[n - 5] == "pods" && object_name(c[n - 1])) {
    pv = c[n - 1];
    return 1;
  }
  // .../plugins/kubernetes.io/csi/pv/<pv>/globalmount
  if (n >= 6 && c[n - 1] == "globalmount" && c[n - 3] == "pv" && c[n - 4] == "csi" &&
      c[n - 5] == "kubernetes.io" && c[n - 6] == "plugins" && object_name(c[n - 2])) {
    pv = c[n - 2];
    return 2;
  }
  return 0;
}

}  // namespace

std::string pv_from_kubelet_path(std::string_view path) {
  std::string pv;
  pv_in(path, pv);
  return pv;
}

std::string pv_from_kubelet_paths(const std::vector<std::string>& paths) {
  std::string staged;
  for (const auto& p : paths) {
    std::string pv;
    const int kind = pv_in(p, pv);
    if (kind == 1) return pv;
    if (kind == 2 && staged.empty()) staged = pv;
  }
  return staged;
}

}  // namespace mountleak
