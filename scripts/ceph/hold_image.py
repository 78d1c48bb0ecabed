#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# Opens an RBD image with librbd, which watches its header, and optionally
# takes its exclusive lock, the way a QEMU or rbd-nbd client would; prints
# "<global id> <address>" once it holds what it was asked to, then holds it
# until its stdin closes. Tests use it as the other client of an image.
#
# usage: hold_image.py CONF POOL[/NAMESPACE] IMAGE [--lock]
# Debian's python3-rados and python3-rbd (dependencies of ceph-common).
import sys

import rados
import rbd


def main():
    if len(sys.argv) < 4:
        sys.exit("usage: hold_image.py CONF POOL[/NAMESPACE] IMAGE [--lock]")
    conf, pool_spec, image_name = sys.argv[1:4]
    lock = "--lock" in sys.argv[4:]
    pool, _, namespace = pool_spec.partition("/")
    cluster = rados.Rados(conffile=conf)
    cluster.connect(timeout=10)
    try:
        with cluster.open_ioctx(pool) as ioctx:
            ioctx.set_namespace(namespace)
            with rbd.Image(ioctx, image_name) as image:
                if lock:
                    image.lock_acquire(rbd.RBD_LOCK_MODE_EXCLUSIVE)
                print(cluster.get_instance_id(), cluster.get_addrs(), flush=True)
                sys.stdin.read()
    finally:
        cluster.shutdown()


if __name__ == "__main__":
    main()
