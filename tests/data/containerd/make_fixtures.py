# SPDX-License-Identifier: Apache-2.0
# Writes the runtime metadata fixtures under tests/data/{containerd,crio,docker}:
# python3 tests/data/containerd/make_fixtures.py. Deterministic (fixed seed), so
# rerunning it reproduces the committed files and the IDs the tests name.
import json, os, random
random.seed(20240611)
def hexid(): return ''.join(random.choice('0123456789abcdef') for _ in range(64))
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PODS = {
  'fluentd':    dict(ns='kube-system', name='fluentd-x7k2p',   uid='8f0e7c9a-1b2d-4c3e-9f4a-5b6c7d8e9f01', qos='burstable'),
  'fluent-bit': dict(ns='kube-system', name='fluent-bit-4kq9z', uid='2b7d4e1f-3a5c-4e6b-8d9f-0a1b2c3d4e5f', qos='burstable'),
  'mysql':      dict(ns='default',     name='mysql-0',          uid='d6a2f1c4-7e3b-4a9d-b5c8-1e2f3a4b5c6d', qos='guaranteed'),
}
IMAGES = {'fluentd': 'docker.io/fluent/fluentd-kubernetes-daemonset:v1.16-debian-elasticsearch8-1',
          'fluent-bit': 'cr.fluentbit.io/fluent/fluent-bit:2.2.2', 'mysql': 'docker.io/library/mysql:8.0.36'}
PVC = 'pvc-4a1c7e2b-9d3f-4b6a-8c5e-0f1a2b3c4d5e'
def volumes(c, uid):
    kub = f'/var/lib/kubelet/pods/{uid}'
    sa = dict(dst='/var/run/secrets/kubernetes.io/serviceaccount', src=f'{kub}/volumes/kubernetes.io~projected/kube-api-access-7wq2d', prop='rprivate', ro=True)
    if c == 'fluentd':
        return [dict(dst='/var/log', src='/var/log', prop='rprivate'),
                dict(dst='/var/lib/kubelet', src='/var/lib/kubelet', prop='rprivate', ro=True),
                dict(dst='/var/lib/docker/containers', src='/var/lib/docker/containers', prop='rprivate', ro=True), sa]
    if c == 'fluent-bit':
        return [dict(dst='/var/log', src='/var/log', prop='rprivate'),
                dict(dst='/var/lib/kubelet', src='/var/lib/kubelet', prop='rslave', ro=True), sa]
    return [dict(dst='/var/lib/mysql', src=f'{kub}/volumes/kubernetes.io~csi/{PVC}/mount', prop='rprivate'), sa]

def oci_spec(c, cid, annotations, cgroups_path, cri_o=False):
    p = PODS[c]; uid = p['uid']; kub = f'/var/lib/kubelet/pods/{uid}'
    base = [
      {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
      {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
      {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
      {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
      {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
      {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
    ]
    def bind(dst, src, prop, ro=False):
        if cri_o:
            opts = ["ro" if ro else "rw", "rbind", prop]
        else:
            opts = ["rbind", prop, "ro" if ro else "rw"]
        return {"destination": dst, "type": "bind", "source": src, "options": opts}
    if cri_o:
        sb = annotations['io.kubernetes.cri-o.SandboxID']
        base += [bind('/etc/hosts', f'/var/run/containers/storage/overlay-containers/{sb}/userdata/hosts', 'rprivate'),
                 bind('/dev/shm', f'/var/run/containers/storage/overlay-containers/{sb}/userdata/shm', 'rprivate'),
                 bind('/etc/resolv.conf', f'/var/run/containers/storage/overlay-containers/{sb}/userdata/resolv.conf', 'rprivate'),
                 bind('/etc/hostname', f'/var/run/containers/storage/overlay-containers/{sb}/userdata/hostname', 'rprivate'),
                 bind('/run/.containerenv', f'/var/run/containers/storage/overlay-containers/{sb}/userdata/.containerenv', 'rprivate'),
                 bind('/dev/termination-log', f'{kub}/containers/{c}/{cid[:8]}', 'rprivate')]
    else:
        sb = annotations['io.kubernetes.cri.sandbox-id']
        base += [bind('/etc/hosts', f'{kub}/etc-hosts', 'rprivate'),
                 bind('/dev/termination-log', f'{kub}/containers/{c}/{cid[:8]}', 'rprivate'),
                 bind('/etc/hostname', f'/var/lib/containerd/io.containerd.grpc.v1.cri/sandboxes/{sb}/hostname', 'rprivate'),
                 bind('/etc/resolv.conf', f'/var/lib/containerd/io.containerd.grpc.v1.cri/sandboxes/{sb}/resolv.conf', 'rprivate'),
                 {"destination": "/dev/shm", "type": "bind", "source": f"/run/containerd/io.containerd.grpc.v1.cri/sandboxes/{sb}/shm", "options": ["rbind", "ro", "nosuid", "nodev", "noexec"]}]
    for v in volumes(c, uid):
        base.append(bind(v['dst'], v['src'], v['prop'], v.get('ro', False)))
    args = {'fluentd': ["tini", "--", "/fluentd/entrypoint.sh"], 'fluent-bit': ["/fluent-bit/bin/fluent-bit", "-c", "/fluent-bit/etc/fluent-bit.conf"],
            'mysql': ["docker-entrypoint.sh", "mysqld"]}[c]
    caps = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"]
    return {
      "ociVersion": "1.1.0",
      "process": {"user": {"uid": 0, "gid": 0, "additionalGids": [0]}, "args": args,
                  "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", f"HOSTNAME={p['name']}",
                          "KUBERNETES_SERVICE_HOST=10.96.0.1", "KUBERNETES_SERVICE_PORT=443"],
                  "cwd": "/", "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
                  "apparmorProfile": "cri-containerd.apparmor.d" if not cri_o else "crio-default", "oomScoreAdj": 1000 if p['qos'] == 'burstable' else -997},
      "root": {"path": "rootfs" if not cri_o else f"/var/lib/containers/storage/overlay/{hexid()}/merged"},
      "hostname": "" if not cri_o else p['name'],
      "mounts": base,
      "annotations": annotations,
      "linux": {"resources": {"devices": [{"allow": False, "access": "rwm"}], "memory": {"limit": 536870912},
                              "cpu": {"shares": 102, "quota": 100000, "period": 100000}},
                "cgroupsPath": cgroups_path,
                "namespaces": [{"type": "pid"}, {"type": "ipc", "path": f"/proc/{4000 + len(c)}/ns/ipc"},
                               {"type": "uts", "path": f"/proc/{4000 + len(c)}/ns/uts"}, {"type": "mount"},
                               {"type": "network", "path": f"/var/run/netns/cni-{cid[:8]}-{cid[8:12]}"}],
                "maskedPaths": ["/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
                                "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap"],
                "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]},
    }

def write(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(obj, f, separators=(',', ':'))  # compact, as the runtimes write it
ids = {}
# --- containerd ------------------------------------------------------------
for c, p in PODS.items():
    sb, cid = hexid(), hexid()
    ids[f'containerd/{c}'] = cid; ids[f'containerd/{c}/sandbox'] = sb
    uidu = p['uid'].replace('-', '_')
    slice_ = f"kubepods-{p['qos']}-pod{uidu}.slice" if p['qos'] != 'guaranteed' else f"kubepods-pod{uidu}.slice"
    ann = {"io.kubernetes.cri.container-name": c, "io.kubernetes.cri.container-type": "container",
           "io.kubernetes.cri.image-name": IMAGES[c], "io.kubernetes.cri.sandbox-id": sb,
           "io.kubernetes.cri.sandbox-name": p['name'], "io.kubernetes.cri.sandbox-namespace": p['ns'],
           "io.kubernetes.cri.sandbox-uid": p['uid']}
    write(f"{ROOT}/containerd/k8s.io/{cid}/config.json", oci_spec(c, cid, ann, f"{slice_}:cri-containerd:{cid}"))
    if c == 'fluentd':
        sann = {"io.kubernetes.cri.container-type": "sandbox", "io.kubernetes.cri.sandbox-cpu-period": "100000",
                "io.kubernetes.cri.sandbox-cpu-quota": "0", "io.kubernetes.cri.sandbox-cpu-shares": "102",
                "io.kubernetes.cri.sandbox-id": sb,
                "io.kubernetes.cri.sandbox-log-directory": f"/var/log/pods/{p['ns']}_{p['name']}_{p['uid']}",
                "io.kubernetes.cri.sandbox-memory": "0", "io.kubernetes.cri.sandbox-name": p['name'],
                "io.kubernetes.cri.sandbox-namespace": p['ns'], "io.kubernetes.cri.sandbox-uid": p['uid']}
        spec = {"ociVersion": "1.1.0", "process": {"user": {"uid": 65535, "gid": 65535}, "args": ["/pause"], "cwd": "/"},
                "root": {"path": "rootfs", "readonly": True},
                "mounts": [{"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
                           {"destination": "/dev/shm", "type": "bind", "source": f"/run/containerd/io.containerd.grpc.v1.cri/sandboxes/{sb}/shm", "options": ["rbind", "ro", "nosuid", "nodev", "noexec"]}],
                "annotations": sann, "linux": {"cgroupsPath": f"{slice_}:cri-containerd:{sb}"}}
        write(f"{ROOT}/containerd/k8s.io/{sb}/config.json", spec)
# docker's own containers in containerd's "moby" namespace: a bare OCI spec.
mid = hexid(); ids['containerd/moby'] = mid
write(f"{ROOT}/containerd/moby/{mid}/config.json", {"ociVersion": "1.0.2-dev", "process": {"args": ["/bin/logspout"], "cwd": "/"},
      "root": {"path": f"/var/lib/docker/overlay2/{hexid()}/merged"},
      "mounts": [{"destination": "/host/kubelet", "type": "bind", "source": "/var/lib/kubelet", "options": ["rbind", "rprivate"]}],
      "linux": {"cgroupsPath": f"system.slice:docker:{mid}"}})
# --- CRI-O -------------------------------------------------------------------
for c, p in PODS.items():
    sb, cid = hexid(), hexid()
    ids[f'crio/{c}'] = cid
    uidu = p['uid'].replace('-', '_')
    slice_ = f"kubepods-{p['qos']}-pod{uidu}.slice" if p['qos'] != 'guaranteed' else f"kubepods-pod{uidu}.slice"
    vols = [{"container_path": v['dst'], "host_path": v['src'], "readonly": v.get('ro', False),
             "propagation": {'rprivate': 0, 'rslave': 1, 'rshared': 2}[v['prop']], "selinux_relabel": False} for v in volumes(c, p['uid'])]
    labels = {"io.kubernetes.container.name": c, "io.kubernetes.pod.name": p['name'], "io.kubernetes.pod.namespace": p['ns'], "io.kubernetes.pod.uid": p['uid']}
    ann = {"io.container.manager": "cri-o", "io.kubernetes.container.hash": "5b1c2a3d", "io.kubernetes.container.name": c,
           "io.kubernetes.container.restartCount": "0", "io.kubernetes.container.terminationMessagePath": "/dev/termination-log",
           "io.kubernetes.container.terminationMessagePolicy": "File",
           "io.kubernetes.cri-o.Annotations": json.dumps({"io.kubernetes.container.hash": "5b1c2a3d", "io.kubernetes.container.restartCount": "0"}),
           "io.kubernetes.cri-o.ContainerID": cid, "io.kubernetes.cri-o.ContainerType": "container",
           "io.kubernetes.cri-o.Created": "2024-06-11T08:15:42.123456789Z", "io.kubernetes.cri-o.IP.0": "10.244.1.17",
           "io.kubernetes.cri-o.Image": IMAGES[c], "io.kubernetes.cri-o.ImageName": IMAGES[c],
           "io.kubernetes.cri-o.ImageRef": "sha256:" + hexid(), "io.kubernetes.cri-o.Labels": json.dumps(labels),
           "io.kubernetes.cri-o.LogPath": f"/var/log/pods/{p['ns']}_{p['name']}_{p['uid']}/{c}/0.log",
           "io.kubernetes.cri-o.Metadata": json.dumps({"name": c}),
           "io.kubernetes.cri-o.MountPoint": f"/var/lib/containers/storage/overlay/{hexid()}/merged",
           "io.kubernetes.cri-o.Name": f"k8s_{c}_{p['name']}_{p['ns']}_{p['uid']}_0",
           "io.kubernetes.cri-o.PlatformRuntimePath": "", "io.kubernetes.cri-o.ResolvPath": f"/var/run/containers/storage/overlay-containers/{sb}/userdata/resolv.conf",
           "io.kubernetes.cri-o.SandboxID": sb, "io.kubernetes.cri-o.SandboxName": f"k8s_{p['name']}_{p['ns']}_{p['uid']}_0",
           "io.kubernetes.cri-o.SeccompProfilePath": "RuntimeDefault", "io.kubernetes.cri-o.Stdin": "false",
           "io.kubernetes.cri-o.StdinOnce": "false", "io.kubernetes.cri-o.TTY": "false",
           "io.kubernetes.cri-o.Volumes": json.dumps(vols), "io.kubernetes.pod.name": p['name'], "io.kubernetes.pod.namespace": p['ns'],
           "io.kubernetes.pod.terminationGracePeriod": "30", "io.kubernetes.pod.uid": p['uid'],
           "kubernetes.io/config.seen": "2024-06-11T08:15:30.000000000Z", "kubernetes.io/config.source": "api"}
    write(f"{ROOT}/crio/{cid}/userdata/config.json", oci_spec(c, cid, ann, f"{slice_}:crio:{cid}", cri_o=True))
# --- docker (dockershim era, like the field report) ---------------------------
def docker_container(c, p, name=None, labels=None, mountpoint_prop=True):
    cid = hexid()
    uid = p['uid'] if p else None
    vols = volumes(c, uid) if p else [dict(dst='/host/kubelet', src='/var/lib/kubelet', prop='rprivate', ro=True)]
    if p:
        # in-tree rbd plugin, as in 2017
        vols = [dict(v, src=v['src'].replace(f"kubernetes.io~csi/{PVC}/mount", "kubernetes.io~rbd/" + PVC)) for v in vols]
    binds, mps = [], {}
    for v in vols:
        opts = []
        if v.get('ro'): opts.append('ro')
        if v['prop'] in ('rslave', 'rshared'): opts.append(v['prop'])
        binds.append(f"{v['src']}:{v['dst']}" + (':' + ','.join(opts) if opts else ''))
        mps[v['dst']] = {"Source": v['src'], "Destination": v['dst'], "RW": not v.get('ro', False), "Name": "", "Driver": "",
                         "Type": "bind", "Relabel": "", "Propagation": v['prop'] if mountpoint_prop else "",
                         "Spec": {}, "SkipMountpointCreation": False}
    if p:
        binds.append(f"/var/lib/kubelet/pods/{uid}/etc-hosts:/etc/hosts")
        binds.append(f"/var/lib/kubelet/pods/{uid}/containers/{c}/{cid[:8]}:/dev/termination-log")
        labels = {"annotation.io.kubernetes.container.hash": "a1b2c3d4", "annotation.io.kubernetes.container.restartCount": "0",
                  "annotation.io.kubernetes.container.terminationMessagePath": "/dev/termination-log",
                  "annotation.io.kubernetes.container.terminationMessagePolicy": "File",
                  "annotation.io.kubernetes.pod.terminationGracePeriod": "30",
                  "io.kubernetes.container.logpath": f"/var/log/pods/{uid}/{c}/0.log", "io.kubernetes.container.name": c,
                  "io.kubernetes.docker.type": "container", "io.kubernetes.pod.name": p['name'], "io.kubernetes.pod.namespace": p['ns'],
                  "io.kubernetes.pod.uid": uid, "io.kubernetes.sandbox.id": hexid()}
        name = f"/k8s_{c}_{p['name']}_{p['ns']}_{uid}_0"
    cfg = {"StreamConfig": {}, "State": {"Running": True, "Paused": False, "Restarting": False, "OOMKilled": False,
                                         "RemovalInProgress": False, "Dead": False, "Pid": 4683, "ExitCode": 0, "Error": "",
                                         "StartedAt": "2017-09-12T03:21:07.412399716Z", "FinishedAt": "0001-01-01T00:00:00Z", "Health": None},
           "ID": cid, "Created": "2017-09-12T03:21:06.980311823Z", "Managed": False, "Path": "/bin/bash", "Args": ["/run.sh"],
           "Config": {"Hostname": (p['name'] if p else cid[:12]), "Domainname": "", "User": "0", "AttachStdin": False,
                      "AttachStdout": False, "AttachStderr": False, "Tty": False, "OpenStdin": False, "StdinOnce": False,
                      "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], "Cmd": ["/run.sh"],
                      "Image": "sha256:" + hexid(), "Volumes": None, "WorkingDir": "", "Entrypoint": ["/bin/bash"],
                      "OnBuild": None, "Labels": labels or {}},
           "Image": "sha256:" + hexid(), "NetworkSettings": {"Bridge": "", "SandboxID": "", "HairpinMode": False, "Networks": {}},
           "LogPath": "", "Name": name, "Driver": "overlay2", "MountLabel": "", "ProcessLabel": "", "RestartCount": 0,
           "HasBeenStartedBeforeRestart": False, "HasBeenManuallyStopped": False, "MountPoints": mps,
           "SecretReferences": None, "AppArmorProfile": "", "HostnamePath": f"/var/lib/docker/containers/{cid}/hostname",
           "HostsPath": f"/var/lib/docker/containers/{cid}/hosts", "ShmPath": "",
           "ResolvConfPath": f"/var/lib/docker/containers/{cid}/resolv.conf", "SeccompProfile": "unconfined", "NoNewPrivileges": False}
    host = {"Binds": binds, "ContainerIDFile": "", "LogConfig": {"Type": "json-file", "Config": {"max-size": "50m"}},
            "NetworkMode": "container:" + hexid() if p else "default", "PortBindings": {}, "RestartPolicy": {"Name": "", "MaximumRetryCount": 0},
            "AutoRemove": False, "VolumeDriver": "", "VolumesFrom": None, "CapAdd": None, "CapDrop": None, "Dns": None,
            "DnsOptions": None, "DnsSearch": None, "ExtraHosts": None, "GroupAdd": None, "IpcMode": "", "Cgroup": "", "Links": None,
            "OomScoreAdj": 1000, "PidMode": "", "Privileged": False, "PublishAllPorts": False, "ReadonlyRootfs": False,
            "SecurityOpt": ["seccomp=unconfined"], "UTSMode": "", "UsernsMode": "", "ShmSize": 67108864, "Runtime": "runc",
            "ConsoleSize": [0, 0], "Isolation": "", "CpuShares": 102, "Memory": 536870912,
            "CgroupParent": f"/kubepods/burstable/pod{uid}" if p else ""}
    d = f"{ROOT}/docker/containers/{cid}"
    os.makedirs(d, exist_ok=True)
    with open(f"{d}/config.v2.json", 'w') as f: json.dump(cfg, f, separators=(',', ':'))
    with open(f"{d}/hostconfig.json", 'w') as f: json.dump(host, f, separators=(',', ':'))
    return cid
for c, p in PODS.items():
    ids[f'docker/{c}'] = docker_container(c, p)
ids['docker/logspout'] = docker_container('logspout', None, name='/logspout', labels={"maintainer": "gliderlabs"}, mountpoint_prop=False)
# broken files
bad = hexid(); ids['containerd/truncated'] = bad
os.makedirs(f"{ROOT}/containerd/k8s.io/{bad}", exist_ok=True)
open(f"{ROOT}/containerd/k8s.io/{bad}/config.json", 'w').write('{"ociVersion":"1.1.0","mounts":[{"destination":"/proc",')
bad = hexid(); ids['crio/wrong_shape'] = bad
os.makedirs(f"{ROOT}/crio/{bad}/userdata", exist_ok=True)
open(f"{ROOT}/crio/{bad}/userdata/config.json", 'w').write('{"ociVersion":"1.1.0","mounts":{"destination":"/proc"},"annotations":["io.kubernetes.pod.name"]}\n')
bad = hexid(); ids['docker/not_json'] = bad
os.makedirs(f"{ROOT}/docker/containers/{bad}", exist_ok=True)
open(f"{ROOT}/docker/containers/{bad}/config.v2.json", 'w').write('{"ID": "' + bad + '", "Config": {"Labels": nul}}')
for k, v in ids.items(): print(f'{k} {v}')
