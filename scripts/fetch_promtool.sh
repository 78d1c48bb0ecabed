#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Puts Debian's promtool at OUT_DIR/promtool, for the tests that check
# deploy/prometheus-rules.yaml and trace's metrics pages. Debian ships
# promtool only inside the `prometheus` package, whose installation would
# start a Prometheus server on this machine; so the package is downloaded
# with `apt-get download` and unpacked with `dpkg-deb -x` into a scratch
# directory, and only promtool is kept. Nothing is installed and root is
# not needed. Idempotent: a promtool already there is kept.
#
# usage: fetch_promtool.sh OUT_DIR
set -euo pipefail

out_dir="${1:?usage: fetch_promtool.sh OUT_DIR}"
say() { echo "fetch_promtool: $*" >&2; }

if [[ -x "$out_dir/promtool" ]] && "$out_dir/promtool" --version >/dev/null 2>&1; then
  exit 0
fi
mkdir -p "$out_dir"
work="$(mktemp -d "$out_dir/.fetch.XXXXXX")"
trap 'rm -rf "$work"' EXIT

say "downloading Debian's prometheus package (for promtool only; nothing is installed)"
# apt's sandbox user cannot write into root-owned build trees; the download
# then runs unsandboxed, which is fine for a package only dpkg-deb reads.
if ! (cd "$work" && apt-get download -q prometheus >/dev/null 2>&1); then
  (cd "$work" && apt-get -o APT::Sandbox::User=root download prometheus >&2) || {
    say "apt-get download prometheus failed (no network, or stale package lists: apt-get update)"
    exit 1
  }
fi
deb=("$work"/prometheus_*.deb)
[[ -f "${deb[0]}" ]] || { say "no prometheus package was downloaded"; exit 1; }
dpkg-deb -x "${deb[0]}" "$work/root"
[[ -x "$work/root/usr/bin/promtool" ]] || { say "the package holds no usr/bin/promtool"; exit 1; }
mv "$work/root/usr/bin/promtool" "$out_dir/promtool.new"
mv "$out_dir/promtool.new" "$out_dir/promtool"
say "$("$out_dir/promtool" --version 2>&1 | head -1)"
