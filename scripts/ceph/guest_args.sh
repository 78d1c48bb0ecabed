#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Prints, on one line, the arguments guest_rbd_scenario.sh needs to map an
# image of the cluster start_cluster.sh runs in DIR:
#   --mon 127.0.0.1:<mon v1 port> --mon-v2 127.0.0.1:<mon v2 port>
#   --osd 127.0.0.1:<port>,... --key <client.admin secret> --pool kube --image <image>
# The kernel client speaks msgr v1 (no ms_mode= option) and maps through
# --mon; librados (mountleak in the guest) prefers v2, so every address of
# every OSD is listed, as the osdmap the guest will see has them.
#
# usage: guest_args.sh DIR [--image NAME]
set -euo pipefail

dir="${1:?usage: guest_args.sh DIR [--image NAME]}"
shift
[[ -s "$dir/env" ]] || {
  echo "guest_args: no cluster env in $dir (run start_cluster.sh first)" >&2
  exit 1
}
# shellcheck source=/dev/null
. "$dir/env"
image="$CEPH_IMAGE"
[[ "${1:-}" == --image ]] && image="${2:?--image needs a name}"

osds="$(timeout 30 ceph -c "$CEPH_CONF" --connect-timeout 15 osd dump -f json | /usr/bin/python3 -c '
import json, sys
out = []
for osd in json.load(sys.stdin)["osds"]:
    for a in osd["public_addrs"]["addrvec"]:
        out.append(a["addr"])
print(",".join(out))
')"
[[ -n "$osds" ]] || {
  echo "guest_args: the osdmap lists no OSD address" >&2
  exit 1
}
echo "--mon $CEPH_MON_V1 --mon-v2 $CEPH_MON_V2 --osd $osds --key $CEPH_ADMIN_KEY --pool $CEPH_POOL --image $image"
