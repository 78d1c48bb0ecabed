// SPDX-License-Identifier: Apache-2.0
#pragma once

// librados and librbd, loaded on first use with dlopen rather than linked.
// Linking them costs every mountleak run ~15 MiB and up to 300 ms of Ceph's
// static initialisation, even a scan of a node with no rbd device at all
// (measured by bench/scan_bench); only the Ceph enrichment needs them.

#include <rados/librados.h>
#include <rbd/librbd.h>

#include "util/result.h"

namespace mountleak {

struct CephLibrary {
  decltype(&::rados_create) rados_create;
  decltype(&::rados_conf_read_file) rados_conf_read_file;
  decltype(&::rados_conf_set) rados_conf_set;
  decltype(&::rados_connect) rados_connect;
  decltype(&::rados_shutdown) rados_shutdown;
  decltype(&::rados_cluster_fsid) rados_cluster_fsid;
  decltype(&::rados_get_instance_id) rados_get_instance_id;
  decltype(&::rados_ioctx_create) rados_ioctx_create;
  decltype(&::rados_ioctx_destroy) rados_ioctx_destroy;
  decltype(&::rados_ioctx_set_namespace) rados_ioctx_set_namespace;
  decltype(&::rbd_open_read_only) rbd_open_read_only;
  decltype(&::rbd_close) rbd_close;
  decltype(&::rbd_get_features) rbd_get_features;
  decltype(&::rbd_list_lockers) rbd_list_lockers;
  decltype(&::rbd_watchers_list) rbd_watchers_list;
  decltype(&::rbd_watchers_list_cleanup) rbd_watchers_list_cleanup;
};

// Loads both libraries once; an error names the library and dlerror(), e.g.
// "librbd.so.1: cannot open shared object file" (install librbd1).
Result<const CephLibrary*> load_ceph_library();

}  // namespace mountleak
