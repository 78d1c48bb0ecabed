// SPDX-License-Identifier: Apache-2.0
#pragma once

// What `mountleak lint` reads: "-" (stdin: `helm template ... | mountleak
// lint -`), a file, or a directory (every *.yaml, *.yml and *.json below it,
// in name order). Below a directory, symlinks are not followed (a chart
// can point anywhere) and only regular files are read; each input is read
// up to a size limit. Whatever is skipped is a problem in the result.

#include <string>
#include <vector>

#include "lint/manifest_lint.h"

namespace mountleak {

void lint_inputs(const std::vector<std::string>& inputs, const LintOptions& options, LintResult& result);

}  // namespace mountleak
