// SPDX-License-Identifier: Apache-2.0
#pragma once

// Who the Ceph cluster says is using an RBD image: the clients watching its
// header (every mapping and every open librbd image keeps a watch) and the
// holders of its lock (the exclusive-lock feature's, or an `rbd lock add`).
// When `rbd unmap` is busy here and the new node says "image is locked by
// other nodes", this names the other side of the story.
//
// One CephClient is one connection to one cluster, made on first use and
// kept for every image asked about after; a failed connection is remembered
// and returned again, so scanning twenty devices of a dead cluster costs one
// timeout, not twenty. Every cluster operation is bounded by the timeout:
// a dead or unreachable cluster is an error after it, never a hang.
// Not thread-safe: one thread asks at a time.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "model/device.h"
#include "resolve/rbd_sysfs.h"
#include "util/result.h"

namespace mountleak {

struct CephClientOptions {
  // "" is librados' own search: $CEPH_CONF, /etc/ceph/ceph.conf,
  // ~/.ceph/ceph.conf, ./ceph.conf.
  std::string conf_path;
  std::string keyring_path;      // "" is whatever the configuration names
  std::string client = "admin";  // "admin" or "client.admin"
  // Connecting, and each mon and osd operation (librados rounds up to whole
  // seconds).
  std::chrono::milliseconds timeout = std::chrono::seconds(5);
};

class CephClient {
 public:
  explicit CephClient(CephClientOptions options);
  ~CephClient();
  CephClient(const CephClient&) = delete;
  CephClient& operator=(const CephClient&) = delete;

  // Connects unless connected; a failure is remembered and returned again.
  Status connect();

  // The watchers and lockers of pool/[namespace/]image.
  Result<RbdImageClients> image_clients(std::string_view pool, std::string_view rados_namespace,
                                        std::string_view image);
  // Of a kernel mapping, from its sysfs attributes.
  Result<RbdImageClients> image_clients(const RbdInfo& mapping) {
    return image_clients(mapping.pool, mapping.rados_namespace, mapping.image);
  }

  // Which cluster this is (compare with a mapping's sysfs cluster_fsid before
  // asking about its image: a node can map images of several clusters).
  Result<std::string> cluster_fsid();

  // "the cluster in /etc/ceph/ceph.conf as client.admin", for messages.
  const std::string& description() const { return description_; }

 private:
  Result<void*> ioctx_for(const std::string& pool, const std::string& rados_namespace);

  CephClientOptions options_;
  std::string description_;
  void* cluster_ = nullptr;  // rados_t; librados.h stays out of this header
  bool connected_ = false;
  std::optional<Error> connect_error_;
  std::map<std::pair<std::string, std::string>, void*> ioctxs_;  // (pool, namespace) -> rados_ioctx_t
};

// Whether a watcher is the kernel mapping itself (its watch on the header),
// by the global id in the mapping's sysfs client_id.
bool is_mapping_watcher(const RbdWatcher& watcher, const RbdInfo& mapping);

}  // namespace mountleak
