#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# leak_rbd.sh from the 2017 field report (README.md), kept as the operator
# ran it, for scan_bench to time against `mountleak scan`: grep every
# /proc/*/mounts for the device, print pid, mount namespace, command line and
# mount point per matching line, then print the mount namespaces of
# docker-containerd-shim processes that are among them.
# Usage: seed_leak_rbd.sh /dev/rbd4   (one device per run, as in the report)
# The only additions are these comments and the usage check below.
if [[ $# -ne 1 ]]; then echo "usage: $0 DEVICE" >&2; exit 2; fi

declare -A map
for i in `find /proc/*/mounts -exec grep $1 {} + 2>/dev/null | awk '{print $1"#"$2}'`
do
	pid=`echo $i | awk -F "[/]" '{print $3}'`
	point=`echo $i | awk -F "[#]" '{print $2}'`
	mnt=`ls -l /proc/$pid/ns/mnt |awk '{print $11}'`
	map["$mnt"]="exist"
	cmd=`cat /proc/$pid/cmdline`
	echo -e "$pid\t$mnt\t$cmd\t$point"
done

for i in `ps aux|grep docker-containerd-shim |grep -v "grep" |awk '{print $2}'`
do
	mnt=`ls -l /proc/$i/ns/mnt  2>/dev/null | awk '{print $11}'`
	if [[ "${map[$mnt]}" == "exist" ]];then
		echo $mnt
	fi
done
