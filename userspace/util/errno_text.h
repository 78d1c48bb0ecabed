// SPDX-License-Identifier: Apache-2.0
#pragma once

// How an errno reads in our messages: its name, then what it means
// ("EBUSY (Device or resource busy)"). The kernel also returns errnos of
// its own that libc does not know, above 511 (include/linux/errno.h): BPF
// attach answers ENOTSUPP (524) where a kernel cannot trampoline a
// function, and "Unknown error 524" would leave the operator guessing.

#include <string>

namespace mountleak {

// "EBUSY"; a kernel-internal one by its kernel name ("ENOTSUPP"); any
// other as "errno N". A negative value (a kernel return) reads as its
// positive.
std::string errno_name(int err);

// errno_name(err) and its meaning: "ENOTSUPP (operation not supported by
// this kernel)".
std::string errno_text(int err);

}  // namespace mountleak
