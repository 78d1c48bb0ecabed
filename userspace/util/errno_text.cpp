// SPDX-License-Identifier: Apache-2.0
#include "util/errno_text.h"

#include <cstring>

namespace mountleak {

namespace {

struct KernelErrno {
  int value;
  const char* name;
  const char* meaning;
};

// The kernel's own errnos a BPF load, attach or ioctl can hand back.
constexpr KernelErrno kKernelErrnos[] = {
    {512, "ERESTARTSYS", "interrupted, to be restarted"},
    {515, "ENOIOCTLCMD", "no such ioctl for this device"},
    {521, "EBADHANDLE", "illegal NFS file handle"},
    {523, "EBADCOOKIE", "cookie is stale"},
    {524, "ENOTSUPP", "operation not supported by this kernel"},
    {526, "ESERVERFAULT", "an untranslatable error"},
    {527, "EBADTYPE", "type not supported by server"},
    {528, "EJUKEBOX", "request initiated, but will not complete before timeout"},
};

const KernelErrno* kernel_errno(int err) {
  for (const auto& k : kKernelErrnos)
    if (k.value == err) return &k;
  return nullptr;
}

}  // namespace

std::string errno_name(int err) {
  if (err < 0) err = -err;
  if (const KernelErrno* k = kernel_errno(err)) return k->name;
  if (const char* name = ::strerrorname_np(err)) return name;
  return "errno " + std::to_string(err);
}

std::string errno_text(int err) {
  if (err < 0) err = -err;
  if (const KernelErrno* k = kernel_errno(err)) return std::string(k->name) + " (" + k->meaning + ")";
  return errno_name(err) + " (" + std::strerror(err) + ")";
}

}  // namespace mountleak
