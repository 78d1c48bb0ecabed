// SPDX-License-Identifier: Apache-2.0
#include "resolve/ceph_library.h"

#include <dlfcn.h>

#include <mutex>
#include <optional>
#include <string>

namespace mountleak {

namespace {

template <class Fn>
bool resolve(void* handle, const char* name, Fn& fn, std::string& missing) {
  fn = reinterpret_cast<Fn>(dlsym(handle, name));
  if (!fn) missing += std::string(missing.empty() ? "" : ", ") + name;
  return fn != nullptr;
}

Result<const CephLibrary*> load_once() {
  static CephLibrary lib;
  void* rados = dlopen("librados.so.2", RTLD_NOW | RTLD_LOCAL);
  if (!rados) return Error{std::string("loading librados: ") + dlerror() + " (install librados2)"};
  void* rbd = dlopen("librbd.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!rbd) return Error{std::string("loading librbd: ") + dlerror() + " (install librbd1)"};
  std::string missing;
  resolve(rados, "rados_create", lib.rados_create, missing);
  resolve(rados, "rados_conf_read_file", lib.rados_conf_read_file, missing);
  resolve(rados, "rados_conf_set", lib.rados_conf_set, missing);
  resolve(rados, "rados_connect", lib.rados_connect, missing);
  resolve(rados, "rados_shutdown", lib.rados_shutdown, missing);
  resolve(rados, "rados_cluster_fsid", lib.rados_cluster_fsid, missing);
  resolve(rados, "rados_get_instance_id", lib.rados_get_instance_id, missing);
  resolve(rados, "rados_ioctx_create", lib.rados_ioctx_create, missing);
  resolve(rados, "rados_ioctx_destroy", lib.rados_ioctx_destroy, missing);
  resolve(rados, "rados_ioctx_set_namespace", lib.rados_ioctx_set_namespace, missing);
  resolve(rbd, "rbd_open_read_only", lib.rbd_open_read_only, missing);
  resolve(rbd, "rbd_close", lib.rbd_close, missing);
  resolve(rbd, "rbd_get_features", lib.rbd_get_features, missing);
  resolve(rbd, "rbd_list_lockers", lib.rbd_list_lockers, missing);
  resolve(rbd, "rbd_watchers_list", lib.rbd_watchers_list, missing);
  resolve(rbd, "rbd_watchers_list_cleanup", lib.rbd_watchers_list_cleanup, missing);
  if (!missing.empty()) return Error{"librados/librbd lack " + missing + ": too old"};
  return &lib;
}

}  // namespace

Result<const CephLibrary*> load_ceph_library() {
  static std::once_flag once;
  static std::optional<Result<const CephLibrary*>> loaded;
  std::call_once(once, [] { loaded = load_once(); });
  return *loaded;
}

}  // namespace mountleak
