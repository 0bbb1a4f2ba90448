"""Helpers of the real-runtime tier: runc containers at kubelet cgroup paths, podman containers,
images imported from a rootfs (no registry), a Kubernetes pod template turned into the podman
container a node would run for it, and memstrain itself.

Everything a test creates lives below STATE (scratch directories, podman's storage, runc's state)
or below the test's cgroup subtree /memstrain-ctr-test-<pid> (runc containers at kubelet paths),
and is removed by the tests' cleanups, by tearDownModule, and once more by
scripts/containers-test.sh whatever happened.
"""

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tarfile
import time
import unittest
import uuid
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
BINARY = Path(os.environ.get("MEMSTRAIN_BINARY", REPO / "build" / "memstrain"))
DEMO_TARGET = Path(os.environ.get("MEMSTRAIN_DEMO_TARGET", REPO / "tests" / "target" / "bin" / "demo-target"))
STATE = Path(os.environ.get("MEMSTRAIN_CTR_STATE", "/var/tmp/memstrain-ctr-adhoc"))
CGROUP_BASE = os.environ.get("MEMSTRAIN_CTR_CGROUP", f"/memstrain-ctr-test-{os.getpid()}")
VERDICT_RE = re.compile(r"^memstrain: verdict=(\S+) .*exit=(\d+)")

MiB = 1 << 20


def run(args, *, check=True, timeout=120, env=None, input=None):
    """Runs argv, returns the CompletedProcess (text); raises with both streams when `check` fails."""
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout, env=env, input=input)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} exited {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}")
    return p


def memstrain(*args, check=False, timeout=300):
    return run([BINARY, *args], check=check, timeout=timeout)


def last_line(text):
    lines = [l for l in text.splitlines() if l.strip()]
    return lines[-1] if lines else ""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(cond, timeout=20.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def http_ok(port, path="/healthz"):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(f"GET {path} HTTP/1.0\r\nHost: x\r\n\r\n".encode())
            return s.recv(64).startswith(b"HTTP/1.0 200") or False
    except OSError:
        return False


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


# --- cgroups -------------------------------------------------------------------------------------


def cgroup_mounts():
    """(mount point, is_v2, controllers) of every cgroup mount this process sees."""
    out = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        pre, _, post = line.partition(" - ")
        fstype, _src, opts = (post.split() + ["", "", ""])[:3]
        if fstype not in ("cgroup", "cgroup2"):
            continue
        out.append((pre.split()[4], fstype == "cgroup2", set(opts.split(","))))
    return out


def memory_mount():
    """(mount, version) of the memory controller: the v1 memory hierarchy, else the v2 mount."""
    mounts = cgroup_mounts()
    for mnt, v2, opts in mounts:
        if not v2 and "memory" in opts:
            return mnt, 1
    for mnt, v2, _ in mounts:
        if v2 and "memory" in (Path(mnt) / "cgroup.controllers").read_text().split():
            return mnt, 2
    raise unittest.SkipTest("no cgroup memory controller mounted")


def remove_cgroup_tree(rel):
    """Removes cgroup `rel` and everything below it in every hierarchy, deepest first."""
    for mnt, _, _ in cgroup_mounts():
        root = Path(mnt + rel)
        if not root.is_dir():
            continue
        dirs = sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True) + [root]
        for d in dirs:
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.05)


def cgroup_dirs_below(rel):
    """Every cgroup directory below `rel` in the memory hierarchy, relative to its mount."""
    mnt, _ = memory_mount()
    root = Path(mnt + rel)
    if not root.is_dir():
        return []
    return sorted("/" + str(p.relative_to(mnt)) for p in root.rglob("*") if p.is_dir())


def read_cgroup(rel, name):
    mnt, _ = memory_mount()
    return (Path(mnt + rel) / name).read_text()


def write_cgroup(rel, name, value):
    mnt, _ = memory_mount()
    (Path(mnt + rel) / name).write_text(value)


# --- rootfs images -------------------------------------------------------------------------------


def copy_with_libs(rootfs, exe, dest=None):
    """Copies `exe` (to `dest` below rootfs, default its own path) and every library `ldd` lists
    (the loader too) to the same paths below rootfs."""
    exe = Path(exe)
    dest = rootfs / (dest or str(exe.resolve())).lstrip("/")
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(exe.resolve(), dest)
    p = run(["ldd", exe], check=False)
    for m in re.finditer(r"(/\S+) \(0x", p.stdout):
        lib = Path(m.group(1))
        for path in {lib, lib.resolve()}:
            d = rootfs / str(path).lstrip("/")
            if not d.exists():
                d.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(lib.resolve(), d)
    return dest


def build_target_rootfs():
    """A rootfs with the static Go demo target as /bin/demo-target and as /bin/pause (a sandbox's
    comm is "pause", which is how memstrain tells it from the application without metadata)."""
    root = STATE / "target-rootfs"
    if (root / "bin" / "demo-target").exists():
        return root
    (root / "bin").mkdir(parents=True, exist_ok=True)
    (root / "tmp").mkdir(mode=0o1777, exist_ok=True)
    shutil.copy2(DEMO_TARGET, root / "bin" / "demo-target")
    shutil.copy2(DEMO_TARGET, root / "bin" / "pause")
    return root


def build_memstrain_rootfs():
    """The Job's image made from the project's binary: memstrain, memstrain-launch.sh and the
    tools the launcher runs (in-job: bash, jq, sed, mkdir, cp, and tar, gzip, base64 for the report
    files it prints; run: mktemp, tail, grep, tr, date, sleep, rm, awk, and for the result
    ConfigMap tar, gzip, base64, stat), each with the libraries ldd lists. kubectl is not in it: no test talks to an API
    server from inside (the Task's test mounts a stand-in)."""
    root = STATE / "memstrain-rootfs"
    if (root / "usr" / "local" / "bin" / "memstrain").exists():
        return root
    bin_dir = root / "usr" / "local" / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    copy_with_libs(root, BINARY, "/usr/local/bin/memstrain")
    shutil.copy2(REPO / "k8s" / "memstrain-launch.sh", bin_dir / "memstrain-launch.sh")
    for tool in ("bash", "jq", "sed", "mkdir", "cp", "cat", "env", "mktemp", "tail", "grep", "tr", "date", "sleep", "rm",
                 "tar", "gzip", "base64", "stat"):
        copy_with_libs(root, shutil.which(tool))
    copy_with_libs(root, shutil.which("awk"), "/usr/bin/awk")  # an alternatives link (mawk) in Debian
    for d in ("bin", "sbin", "lib", "lib64"):  # Debian's merged /usr: /bin -> usr/bin, …
        if not (root / d).exists() and (root / "usr" / d).exists():
            (root / d).symlink_to(f"usr/{d}")
    (root / "tmp").mkdir(mode=0o1777, exist_ok=True)
    (root / "tmp").chmod(0o1777)
    (root / "etc").mkdir(exist_ok=True)
    (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\nnonroot:x:65532:65532::/home/nonroot:/bin/bash\n")
    return root


# --- podman --------------------------------------------------------------------------------------


class Podman:
    """podman with this run's own storage and state (CONTAINERS_CONF from the tier's config)."""

    def __init__(self):
        self.base = ["podman", "--root", STATE / "podman" / "storage", "--runroot", STATE / "podman" / "run",
                     "--tmpdir", STATE / "podman" / "tmp"]

    def __call__(self, *args, check=True, timeout=120, input=None):
        return run([*self.base, *args], check=check, timeout=timeout, input=input)

    def import_rootfs(self, rootfs, name):
        """`tar -C rootfs -c . | podman import - name`, the registry-free way to an image."""
        tar_path = STATE / f"{name.replace('/', '_').replace(':', '_')}.tar"
        with tarfile.open(tar_path, "w") as t:
            t.add(rootfs, arcname=".")
        self("import", tar_path, name, timeout=300)
        tar_path.unlink()
        return name

    def inspect(self, name, fmt):
        return self("inspect", "--format", fmt, name).stdout.strip()

    def start(self, run_args, log_path):
        """Starts `podman run …` detached, its log kept as kubelet keeps one (CRI format, both
        streams in one file): what `kubectl logs` would show, in the order written."""
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        self(run_args[0], "--detach", "--log-driver", "k8s-file", "--log-opt", f"path={log_path}", *run_args[1:])

    def wait(self, name, timeout):
        """The exit code of container `name` once it ended."""
        return int(self("wait", name, timeout=timeout).stdout.strip())


# --- runc at kubelet paths -----------------------------------------------------------------------


class Pod:
    """A pod as kubelet lays it out for one QoS class and cgroup driver, with containers run by
    runc (cgroupsPath = the kubelet container path, below this test's cgroup subtree)."""

    def __init__(self, qos, driver, runtime_prefix="", limit_bytes=None):
        self.uid = str(uuid.uuid4())
        self.qos, self.driver, self.prefix = qos, driver, runtime_prefix
        self.limit_bytes = limit_bytes
        u = self.uid.replace("-", "_")
        if driver == "cgroupfs":
            parts = ["kubepods"] + ([] if qos == "guaranteed" else [qos]) + [f"pod{self.uid}"]
        else:
            parts = ["kubepods.slice"]
            parts += [f"kubepods-pod{u}.slice"] if qos == "guaranteed" else [f"kubepods-{qos}.slice", f"kubepods-{qos}-pod{u}.slice"]
        self.cgroup = CGROUP_BASE + "/" + "/".join(parts)
        self.containers = []

    def container_cgroup(self, cid):
        suffix = ".scope" if self.driver == "systemd" else ""
        return f"{self.cgroup}/{self.prefix}{cid}{suffix}"

    def run(self, args, limit_bytes=None, name="app"):
        c = RuncContainer(self, args, limit_bytes, name)
        self.containers.append(c)
        if self.limit_bytes and len(self.containers) == 1:
            # kubelet sets the pod cgroup's limit (the sum of its containers'); runc made the cgroup.
            write_cgroup(self.cgroup, "memory.limit_in_bytes" if memory_mount()[1] == 1 else "memory.max", str(self.limit_bytes))
        return c

    def delete(self):
        for c in reversed(self.containers):
            c.delete()


class RuncContainer:
    def __init__(self, pod, args, limit_bytes, name):
        self.pod, self.name = pod, name
        self.id = secrets.token_hex(32)
        self.cgroup = pod.container_cgroup(self.id)
        self.bundle = STATE / "bundles" / self.id[:16]
        self.bundle.mkdir(parents=True)
        run(["runc", "spec", "--bundle", self.bundle])
        spec = json.loads((self.bundle / "config.json").read_text())
        spec["process"]["args"] = args
        spec["process"]["terminal"] = False
        spec["root"] = {"path": str(build_target_rootfs()), "readonly": True}
        spec["hostname"] = name
        # The node's network namespace (the test's): memstrain probes 127.0.0.1:PORT as it would the pod IP.
        spec["linux"]["namespaces"] = [n for n in spec["linux"]["namespaces"] if n["type"] != "network"]
        spec["linux"]["cgroupsPath"] = self.cgroup
        if limit_bytes:
            spec["linux"].setdefault("resources", {})["memory"] = {"limit": limit_bytes}
        (self.bundle / "config.json").write_text(json.dumps(spec))
        pid_file = self.bundle / "pid"
        # The detached container inherits runc's stdio: a file, not a pipe this process would wait on.
        with open(self.bundle / "output.log", "w") as out:
            p = subprocess.run(["runc", "--root", str(STATE / "runc"), "run", "-d", "--bundle", str(self.bundle), "--pid-file",
                                str(pid_file), self.id], stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, timeout=60)
        if p.returncode != 0:
            raise AssertionError(f"runc run {self.id} exited {p.returncode}: {(self.bundle / 'output.log').read_text()}")
        self.pid = int(pid_file.read_text())
        self.deleted = False

    def running(self):
        p = run(["runc", "--root", STATE / "runc", "state", self.id], check=False)
        return p.returncode == 0 and json.loads(p.stdout)["status"] == "running"

    def delete(self):
        if not self.deleted:
            run(["runc", "--root", STATE / "runc", "delete", "--force", self.id], check=False)
            self.deleted = True


def demo_target_args(port, name="demo-target"):
    return [f"/bin/{name}", "-addr", f"127.0.0.1:{port}"]


# --- a pod template as a node runs it ------------------------------------------------------------

# Host paths that are the node's own (the test runs on the node): everything else a hostPath names
# is redirected below the test's node directory, so a run leaves nothing in the real /var or /run.
NODE_PATHS_AS_IS = ("/sys/fs/cgroup",)


def configmap_data(name):
    """The data of ConfigMap `name` in the manifests under k8s/ (kustomizations aside)."""
    for f in sorted((REPO / "k8s").rglob("*.yaml")):
        if f.name == "kustomization.yaml":
            continue
        for doc in yaml.safe_load_all(f.read_text()):
            if doc and doc.get("kind") == "ConfigMap" and doc["metadata"]["name"] == name:
                return doc["data"]
    raise AssertionError(f"no ConfigMap {name} in k8s/")


class PodTemplateError(AssertionError):
    """A field of the pod template this translation does not know: teach it, do not ignore it."""


def node_of(pod_spec):
    """The one node `pod_spec` may be scheduled on: required node affinity on the node's name (the
    launcher's placement; no nodeName), or None without affinity. Anything else raises."""
    if "nodeName" in pod_spec:
        raise PodTemplateError("nodeName: the launcher places Jobs through the scheduler (node affinity)")
    if "affinity" not in pod_spec:
        return None
    if set(pod_spec["affinity"]) != {"nodeAffinity"} or set(pod_spec["affinity"]["nodeAffinity"]) != {"requiredDuringSchedulingIgnoredDuringExecution"}:
        raise PodTemplateError(f"affinity {pod_spec['affinity']}: only required node affinity is translated")
    (term,) = pod_spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    (field,) = term["matchFields"]
    if set(term) != {"matchFields"} or field["key"] != "metadata.name" or field["operator"] != "In" or len(field["values"]) != 1:
        raise PodTemplateError(f"node selector term {term}: only one node by name is translated")
    return field["values"][0]


def pod_to_podman(pod_spec, *, image, node_dir, scratch, configmaps, secrets_data=None, name, extra_mounts=(), extra_env=None,
                  token=None, namespace="memstrain"):
    """The `podman run` arguments of the container a node runs for `pod_spec` (a Job's
    spec.template.spec) with one container: command and args, env, resources limits, the security
    context (privileged, user, read-only root without the extra tmpfs podman adds on /run, /tmp and
    /var/tmp, capabilities, no_new_privs, seccomp), hostPID, and the volumes (hostPath below
    `node_dir` unless it is the node's cgroup tree, configMap items, emptyDir, secret, projected
    service account `token`, configMap items and the pod's `namespace`). The node affinity is
    checked to name one node (node_of); this node runs it. Fields it does not know raise
    PodTemplateError, so a change to the manifests cannot slip past the test."""
    node_of(pod_spec)
    known_pod = {"affinity", "hostPID", "restartPolicy", "serviceAccountName", "automountServiceAccountToken",
                 "enableServiceLinks", "terminationGracePeriodSeconds", "tolerations", "containers", "volumes"}
    unknown = set(pod_spec) - known_pod
    if unknown:
        raise PodTemplateError(f"pod spec fields not translated: {sorted(unknown)}")
    if pod_spec.get("automountServiceAccountToken") is not False:
        raise PodTemplateError("the pod would get an API token mounted; this translation mounts none")
    (c,) = pod_spec["containers"]
    known_ctr = {"name", "image", "imagePullPolicy", "command", "args", "env", "resources", "securityContext", "volumeMounts"}
    unknown = set(c) - known_ctr
    if unknown:
        raise PodTemplateError(f"container fields not translated: {sorted(unknown)}")

    a = ["run", "--name", name, "--network", "host"]
    if c.get("securityContext", {}).get("privileged"):
        # As containerd does for a privileged container (and needs on cgroup v2: see k8s/README.md);
        # otherwise podman's default is the runtimes': the host's on v1, a private one on v2.
        a += ["--cgroupns", "host"]
    if pod_spec.get("hostPID"):
        a += ["--pid", "host"]
    if "terminationGracePeriodSeconds" in pod_spec:
        a += ["--stop-timeout", str(pod_spec["terminationGracePeriodSeconds"])]
    for e in c.get("env", []):
        if set(e) != {"name", "value"}:
            raise PodTemplateError(f"env {e}: only name/value is translated")
        a += ["--env", f"{e['name']}={e['value']}"]
    for k, v in (extra_env or {}).items():
        a += ["--env", f"{k}={v}"]
    limits = c.get("resources", {}).get("limits", {})
    if "memory" in limits:
        a += ["--memory", str(quantity_bytes(limits["memory"]))]
    if "cpu" in limits:
        a += ["--cpus", str(quantity_cpus(limits["cpu"]))]

    sc = dict(c.get("securityContext", {}))
    if sc.pop("privileged", False):
        a += ["--privileged"]
    if "runAsUser" in sc:
        a += ["--user", str(sc.pop("runAsUser"))]
    if sc.pop("runAsNonRoot", False) and "--user" not in a:
        raise PodTemplateError("runAsNonRoot without runAsUser")
    if sc.pop("readOnlyRootFilesystem", False):
        # Kubernetes adds no tmpfs: whatever the container writes must be a volume.
        a += ["--read-only", "--read-only-tmpfs=false"]
    if sc.pop("allowPrivilegeEscalation", True) is False:
        a += ["--security-opt", "no-new-privileges"]
    caps = sc.pop("capabilities", {})
    for cap in caps.get("drop", []):
        a += ["--cap-drop", cap]
    for cap in caps.get("add", []):
        a += ["--cap-add", cap]
    seccomp = sc.pop("seccompProfile", None)
    if seccomp and seccomp.get("type") == "Unconfined":
        a += ["--security-opt", "seccomp=unconfined"]
    elif seccomp and seccomp.get("type") != "RuntimeDefault":
        raise PodTemplateError(f"seccompProfile {seccomp}")
    if sc:
        raise PodTemplateError(f"securityContext fields not translated: {sorted(sc)}")

    volumes = {v["name"]: v for v in pod_spec.get("volumes", [])}
    for m in c.get("volumeMounts", []):
        v = dict(volumes[m["name"]])
        v.pop("name")
        ((kind, src),) = v.items()
        if kind == "hostPath":
            host = src["path"]
            source = Path(host) if host.startswith(NODE_PATHS_AS_IS) else node_dir / host.lstrip("/")
            if src.get("type") == "DirectoryOrCreate":
                source.mkdir(parents=True, exist_ok=True)
            elif src.get("type") == "Directory" and not source.is_dir():
                raise AssertionError(f"hostPath {host} (type Directory) does not exist")
        elif kind == "configMap":
            source = scratch / "configmap" / m["name"]
            source.mkdir(parents=True, exist_ok=True)
            data = configmaps[src["name"]]
            for item in src.get("items") or [{"key": k, "path": k} for k in data]:
                (source / item["path"]).write_text(data[item["key"]])
        elif kind == "secret":
            source = scratch / "secret" / m["name"]
            source.mkdir(parents=True, exist_ok=True)
            for k, val in (secrets_data or {})[src["secretName"]].items():
                (source / k).write_text(val)
        elif kind == "projected":
            source = scratch / "projected" / m["name"]
            source.mkdir(parents=True, exist_ok=True)
            for ps in src["sources"]:
                ((pkind, p),) = ps.items()
                if pkind == "serviceAccountToken" and token is not None:
                    (source / p["path"]).write_text(token)
                elif pkind == "configMap":
                    for item in p["items"]:
                        (source / item["path"]).write_text(configmaps[p["name"]][item["key"]])
                elif pkind == "downwardAPI" and all(i["fieldRef"] == {"fieldPath": "metadata.namespace"} for i in p["items"]):
                    for item in p["items"]:
                        (source / item["path"]).write_text(namespace)
                else:
                    raise PodTemplateError(f"projected source {ps} of {m['name']}")
            source.chmod(0o755)
            for f in source.iterdir():
                f.chmod(0o644)
        elif kind == "emptyDir":
            source = scratch / "emptydir" / m["name"]  # sizeLimit: not enforced here
            source.mkdir(parents=True, exist_ok=True)
            source.chmod(0o777)
        else:
            raise PodTemplateError(f"volume kind {kind} of {m['name']}")
        a += ["--volume", f"{source}:{m['mountPath']}:{'ro' if m.get('readOnly') else 'rw'}"]
    for src, dst in extra_mounts:
        a += ["--volume", f"{src}:{dst}:rw"]

    a += ["--entrypoint", json.dumps(c["command"]), image, *c.get("args", [])]
    return a


def quantity_bytes(q):
    m = re.fullmatch(r"(\d+)(Ki|Mi|Gi)?", str(q))
    if not m:
        raise PodTemplateError(f"memory quantity {q}")
    return int(m.group(1)) * {None: 1, "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30}[m.group(2)]


def quantity_cpus(q):
    q = str(q)
    return int(q[:-1]) / 1000 if q.endswith("m") else float(q)


def sanitizer_passthrough():
    """When the tier runs under scripts/test-asan.sh: the sanitizer options for the instrumented
    memstrain inside a container, and the log directory mounted at the same path (test-only
    additions to the pod template: a report from inside still fails the run)."""
    env, mounts = {}, []
    for var in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        if var in os.environ:
            env[var] = os.environ[var]
            m = re.search(r"log_path=([^:]+)", os.environ[var])
            if m:
                d = str(Path(m.group(1)).parent)
                if (d, d) not in mounts:
                    mounts.append((d, d))
    return env, mounts


def cri_log(path):
    """The text of a container log in the CRI format kubelet keeps and `kubectl logs` reads
    ("<time> <stream> <P|F> <text>" per line, P for a partial line), streams merged in file order."""
    out, partial = [], ""
    for line in Path(path).read_text().splitlines():
        parts = line.split(" ", 3)
        if len(parts) < 3:
            continue
        text = parts[3] if len(parts) == 4 else ""
        if parts[2] == "P":
            partial += text
        else:
            out.append(partial + text)
            partial = ""
    if partial:
        out.append(partial)
    return "\n".join(out) + "\n"


def scaled_plan(text, seconds, port):
    """A ConfigMap plan with its stages shortened to `seconds` (name -> seconds, ramps to 3/4 of
    their stage) and the target's port (the demo target's 6060 in the manifests) replaced: on a
    node every pod has an IP of its own, here they share the test's loopback."""
    plan = json.loads(text.replace("{{POD_IP}}:6060", "{{POD_IP}}:%d" % port))
    for st in plan["stages"]:
        s = seconds[st["name"]]
        st["duration"] = f"{s}s"
        if "pressure" in st and "ramp" in st["pressure"]:
            st["pressure"]["ramp"] = f"{s * 3 // 4}s"
    return json.dumps(plan, indent=2)
