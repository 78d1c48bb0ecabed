#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# deploy/prometheus-rules.yaml through Debian's promtool: the syntax and
# expressions (`check rules`), then what the alerts do on recorded series
# (`test rules`: a leak alerts while its series exists and stops once it is
# gone). promtool comes from scripts/fetch_promtool.sh, once per build tree.
#
# usage: check_rules.sh SOURCE_DIR PROMTOOL_DIR
set -euo pipefail
src="${1:?usage: check_rules.sh SOURCE_DIR PROMTOOL_DIR}"
tools="${2:?usage: check_rules.sh SOURCE_DIR PROMTOOL_DIR}"
"$src/scripts/fetch_promtool.sh" "$tools"
"$tools/promtool" check rules "$src/deploy/prometheus-rules.yaml"
"$tools/promtool" test rules "$src/tests/data/prometheus/rules_test.yaml"
