// SPDX-License-Identifier: Apache-2.0
#pragma once

// Command lines carry secrets: `mount -o username=u,password=...`, `--token
// X`, `https://user:pass@host`. A holder's argv is shown so the operator
// can tell processes apart, not to copy credentials into a log that lives
// for months; by default every value that looks like a secret is replaced.

#include <string>
#include <vector>

namespace mountleak {

enum class CmdlinePolicy {
  kRedacted,  // argv[0] and the shape of the rest, secrets replaced (default)
  kFull,      // as the kernel has it (--cmdline full)
};

inline constexpr const char* kRedactedValue = "<redacted>";

// argv with secret values replaced by kRedactedValue:
// - "--password=V", "-password=V", "password=V" and "k=V" inside a
//   comma-separated list ("-o user=u,password=V") when k names a secret;
// - the argument after "--password", "--token", ... (an option naming a
//   secret, given without "=");
// - the password of a URL ("scheme://user:V@host").
// A key names a secret when it contains pass, secret, token, key, cred or
// auth, in any case. argv[0] is kept whole.
std::vector<std::string> redact_cmdline(const std::vector<std::string>& argv);

}  // namespace mountleak
