// SPDX-License-Identifier: Apache-2.0
#pragma once

// "fd/<n>", the name of a descriptor under /proc/self or /proc/thread-self,
// written into a caller's buffer without allocating: forked children of a
// threaded process use it, where malloc may be locked by another thread.

namespace mountleak {

inline const char* fd_entry(char (&buf)[32], int fd) {
  char digits[16];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + fd % 10);
    fd /= 10;
  } while (fd > 0 && n < 15);
  int i = 0;
  buf[i++] = 'f', buf[i++] = 'd', buf[i++] = '/';
  while (n > 0) buf[i++] = digits[--n];
  buf[i] = '\0';
  return buf;
}

}  // namespace mountleak
