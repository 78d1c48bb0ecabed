// SPDX-License-Identifier: Apache-2.0
#include "resolve/ceph_client.h"


#include <algorithm>
#include <cerrno>

#include "resolve/ceph_library.h"
#include "resolve/ceph_names.h"

namespace mountleak {

namespace {

// Set by the first successful CephClient::connect(); every other call
// happens after one.
const CephLibrary* g_library = nullptr;
const CephLibrary& lib() { return *g_library; }

// librados and librbd return -errno.
Error ceph_error(std::string context, int r) { return Error::from_errno(std::move(context), -r); }

std::string image_spec(std::string_view pool, std::string_view rados_namespace, std::string_view image) {
  std::string spec(pool);
  if (!rados_namespace.empty()) spec.append("/").append(rados_namespace);
  return spec.append("/").append(image);
}

class OpenImage {
 public:
  OpenImage() = default;
  ~OpenImage() {
    if (image_) lib().rbd_close(image_);
  }
  OpenImage(const OpenImage&) = delete;
  OpenImage& operator=(const OpenImage&) = delete;
  rbd_image_t* out() { return &image_; }
  rbd_image_t get() const { return image_; }

 private:
  rbd_image_t image_ = nullptr;
};

// rbd_watchers_list: grows the array until it fits.
Result<std::vector<RbdWatcher>> list_watchers(rbd_image_t image, uint64_t own_instance) {
  std::vector<rbd_image_watcher_t> raw(8);
  size_t count = raw.size();
  int r;
  while ((r = lib().rbd_watchers_list(image, raw.data(), &count)) == -ERANGE) {
    raw.resize(std::max(count, raw.size() * 2));
    count = raw.size();
  }
  if (r < 0) return ceph_error("listing watchers", r);
  std::vector<RbdWatcher> out;
  for (size_t i = 0; i < count; ++i) {
    // Our own read-only open may watch the header too; it is not a user.
    if (raw[i].id >= 0 && static_cast<uint64_t>(raw[i].id) == own_instance) continue;
    out.push_back({raw[i].addr ? raw[i].addr : "", raw[i].id, raw[i].cookie});
  }
  lib().rbd_watchers_list_cleanup(raw.data(), count);
  return out;
}

// rbd_list_lockers: on -ERANGE it has stored the lengths it needs.
Status list_lockers(rbd_image_t image, RbdImageClients& out) {
  size_t tag_len = 64, clients_len = 256, cookies_len = 256, addrs_len = 256;
  for (int attempt = 0; attempt < 4; ++attempt) {
    std::string tag(tag_len, '\0'), clients(clients_len, '\0'), cookies(cookies_len, '\0'),
        addrs(addrs_len, '\0');
    int exclusive = 0;
    ssize_t n = lib().rbd_list_lockers(image, &exclusive, tag.data(), &tag_len, clients.data(), &clients_len,
                                 cookies.data(), &cookies_len, addrs.data(), &addrs_len);
    if (n == -ERANGE) continue;  // the lock changed hands between two calls: ask again
    if (n < 0) return ceph_error("listing lockers", static_cast<int>(n));
    if (n == 0) return ok_status();
    auto c = split_nul_list(clients.data(), std::min(clients_len, clients.size()));
    auto k = split_nul_list(cookies.data(), std::min(cookies_len, cookies.size()));
    auto a = split_nul_list(addrs.data(), std::min(addrs_len, addrs.size()));
    for (size_t i = 0; i < static_cast<size_t>(n) && i < c.size(); ++i)
      out.lockers.push_back({c[i], i < k.size() ? k[i] : "", i < a.size() ? a[i] : ""});
    out.lock_exclusive = exclusive != 0;
    auto tags = split_nul_list(tag.data(), std::min(tag_len, tag.size()));
    out.lock_tag = tags.empty() ? "" : tags.front();
    return ok_status();
  }
  return Error{"listing lockers: the lock kept changing", ERANGE};
}

}  // namespace

CephClient::CephClient(CephClientOptions options) : options_(std::move(options)) {
  description_ =
      "the cluster in " +
      (options_.conf_path.empty() ? std::string("the default Ceph configuration") : options_.conf_path) +
      " as " + (options_.client.find('.') == std::string::npos ? "client." : "") + options_.client;
}

CephClient::~CephClient() {
  for (auto& [key, io] : ioctxs_) lib().rados_ioctx_destroy(static_cast<rados_ioctx_t>(io));
  if (cluster_) lib().rados_shutdown(static_cast<rados_t>(cluster_));
}

Status CephClient::connect() {
  if (connected_) return ok_status();
  if (connect_error_) return *connect_error_;

  auto fail = [this](Error e) -> Status {
    if (cluster_) lib().rados_shutdown(static_cast<rados_t>(cluster_));
    cluster_ = nullptr;
    connect_error_ = e;
    return e;
  };

  auto library = load_ceph_library();
  if (!library) return fail(library.error());
  g_library = *library;

  auto id = ceph_client_id(options_.client);
  if (!id) return fail(Error{"connecting to " + description_ + ": not a client name", EINVAL});
  rados_t cluster = nullptr;
  if (int r = lib().rados_create(&cluster, id->c_str()); r < 0)
    return fail(ceph_error("creating a librados handle for client." + *id, r));
  cluster_ = cluster;

  const char* conf = options_.conf_path.empty() ? nullptr : options_.conf_path.c_str();
  if (int r = lib().rados_conf_read_file(cluster, conf); r < 0)
    return fail(ceph_error("reading " + (conf ? options_.conf_path
                                              : std::string("the Ceph configuration ($CEPH_CONF, "
                                                            "/etc/ceph/ceph.conf, ~/.ceph/ceph.conf)")),
                           r));
  // After the file, which may say otherwise: librados must not write to our
  // stderr, only the CLI prints.
  lib().rados_conf_set(cluster, "log_to_stderr", "false");
  lib().rados_conf_set(cluster, "err_to_stderr", "false");
  if (!options_.keyring_path.empty()) {
    if (int r = lib().rados_conf_set(cluster, "keyring", options_.keyring_path.c_str()); r < 0)
      return fail(ceph_error("using keyring " + options_.keyring_path, r));
  }
  const auto ms = std::max<int64_t>(options_.timeout.count(), 1);
  const std::string seconds = std::to_string((ms + 999) / 1000);
  for (const char* option : {"client_mount_timeout", "rados_mon_op_timeout", "rados_osd_op_timeout"}) {
    if (int r = lib().rados_conf_set(cluster, option, seconds.c_str()); r < 0)
      return fail(ceph_error(std::string("setting ") + option, r));
  }
  if (int r = lib().rados_connect(cluster); r < 0) return fail(ceph_error("connecting to " + description_, r));
  connected_ = true;
  return ok_status();
}

Result<void*> CephClient::ioctx_for(const std::string& pool, const std::string& rados_namespace) {
  auto key = std::make_pair(pool, rados_namespace);
  if (auto it = ioctxs_.find(key); it != ioctxs_.end()) return it->second;
  rados_ioctx_t io = nullptr;
  if (int r = lib().rados_ioctx_create(static_cast<rados_t>(cluster_), pool.c_str(), &io); r < 0)
    return ceph_error("opening pool " + pool + " in " + description_, r);
  lib().rados_ioctx_set_namespace(io, rados_namespace.c_str());
  ioctxs_.emplace(key, io);
  return static_cast<void*>(io);
}

Result<RbdImageClients> CephClient::image_clients(std::string_view pool, std::string_view rados_namespace,
                                                  std::string_view image) {
  if (auto s = connect(); !s) return s.error();
  RbdImageClients out;
  out.pool = pool;
  out.rados_namespace = rados_namespace;
  out.image = image;
  const std::string spec = image_spec(pool, rados_namespace, image);
  auto with_context = [&](const Error& e) {
    return Error{"rbd image " + spec + ": " + e.message, e.errno_value};
  };

  auto io = ioctx_for(out.pool, out.rados_namespace);
  if (!io) return io.error();
  OpenImage img;
  // Read-only: no lock taken, nothing changed; only the header is read.
  if (int r = lib().rbd_open_read_only(static_cast<rados_ioctx_t>(*io), out.image.c_str(), img.out(), nullptr);
      r < 0)
    return ceph_error("opening rbd image " + spec + " in " + description_, r);

  auto watchers = list_watchers(img.get(), lib().rados_get_instance_id(static_cast<rados_t>(cluster_)));
  if (!watchers) return with_context(watchers.error());
  out.watchers = std::move(*watchers);
  if (auto s = list_lockers(img.get(), out); !s) return with_context(s.error());

  uint64_t features = 0;
  if (int r = lib().rbd_get_features(img.get(), &features); r < 0)
    return with_context(ceph_error("reading features", r));
  out.has_exclusive_lock_feature = (features & RBD_FEATURE_EXCLUSIVE_LOCK) != 0;
  // rbd_lock_get_owners would say the same, but refuses images opened
  // read-only (librbd turns the feature off for them): the feature's lock is
  // the one tagged "internal".
  if (out.has_exclusive_lock_feature && out.lock_tag == kRbdExclusiveLockTag)
    for (const auto& locker : out.lockers) out.lock_owners.push_back(locker.client);
  return out;
}

Result<std::string> CephClient::cluster_fsid() {
  if (auto s = connect(); !s) return s.error();
  char buf[64] = {};
  if (int r = lib().rados_cluster_fsid(static_cast<rados_t>(cluster_), buf, sizeof(buf)); r < 0)
    return ceph_error("reading the fsid of " + description_, r);
  return std::string(buf);
}

bool is_mapping_watcher(const RbdWatcher& watcher, const RbdInfo& mapping) {
  auto id = ceph_kernel_client_global_id(mapping.client_id);
  return id && *id == watcher.global_id;
}

}  // namespace mountleak
