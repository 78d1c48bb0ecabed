// SPDX-License-Identifier: Apache-2.0
#pragma once

// `mountleak lint`'s findings and problems as text for people (the
// findings on stdout, problems on stderr) or as JSON lines for tools.

#include <string>
#include <vector>

#include "lint/manifest_lint.h"

namespace mountleak {

// Each finding as a block: where, what, why, and the fix.
std::string lint_finding_text(const LintFinding& finding);
std::string lint_problem_text(const LintProblem& problem);
std::string lint_summary_text(const LintResult& result);

// {"event":"lint_finding",...} per finding, {"event":"lint_problem",...}
// per problem, then {"event":"lint_summary",...}.
std::vector<std::string> lint_json_lines(const LintResult& result);

}  // namespace mountleak
