#!/usr/bin/env python3
"""Release first: time from a stop signal to the stressor's pages leaving the cgroup.

Each trial starts `memstrain run` with a 512 MiB stressor inside a 1 GiB cgroup and every
observer stuck on a peer that never answers (probe, pprof, an action, each with a 10 s timeout),
waits until the stressor holds its pages, sends SIGTERM (odd trials SIGINT), and polls the run
cgroup's usage every millisecond until the stressor's share is gone (usage back under the
pre-pressure usage plus 5% of the stressor). Prints one Markdown row per binary: trials, p50, p99
and max of that latency, and the time to exit.

Usage (root): bench/release_first_bench.py MEMSTRAIN [PEER_MEMSTRAIN] [--trials N]
PEER_MEMSTRAIN is measured the same way in the same run, alternating trials (e.g. the build of
the previous commit), so that the two figures share the machine's load.
"""

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

STRESSOR_BYTES = 512 << 20
PARENT = "/memstrain-bench-release"


def hanging_server():
    """A loopback server that accepts connections and never answers."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(1024)
    held = []

    def loop():
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            held.append(conn)

    threading.Thread(target=loop, daemon=True).start()
    return srv, srv.getsockname()[1]


def memory_mount():
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            fstype, opts = fields[sep + 1], fields[sep + 3]
            if fstype == "cgroup" and "memory" in opts.split(","):
                return fields[4], "memory.usage_in_bytes"
    for line in open("/proc/self/mountinfo"):
        fields = line.split()
        if fields[fields.index("-") + 1] == "cgroup2":
            return fields[4], "memory.current"
    raise SystemExit("no memory cgroup mount")


def percentile(values, p):
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


def trial(binary, work, port, sig, mount, usage_file):
    plan = {
        "name": "release-first",
        "target": {
            "launch": {"command": ["/bin/sleep", "600"], "memory_limit": "1GiB"},
            "pprof_url": f"http://127.0.0.1:{port}/debug/pprof",
            "probe": {"url": f"http://127.0.0.1:{port}/work", "rate_per_s": 20, "timeout": "10s"},
        },
        "sampling": {"interval": "100ms", "pprof_interval": "1s"},
        "pprof": {"timeout": "10s"},
        "stages": [
            {"name": "fill", "duration": "3s", "pressure": {"size": "512MiB"}},
            {"name": "hold", "duration": "60s", "pressure": {"size": "512MiB"},
             "actions": [{"at": "0s", "url": f"http://127.0.0.1:{port}/grow", "timeout": "10s"}]},
        ],
    }
    plan_path = os.path.join(work, "plan.json")
    with open(plan_path, "w") as f:
        json.dump(plan, f)
    out = os.path.join(work, "out")
    err = open(os.path.join(work, "stderr"), "w")
    proc = subprocess.Popen([binary, "run", plan_path, "--out", out, "--cgroup-parent", PARENT, "-q",
                             "--journal-dir", os.path.join(work, "journal")],
                            stdout=subprocess.DEVNULL, stderr=err)
    # The run's target cgroup, once it exists, and the stressor's pages in it.
    deadline = time.monotonic() + 30
    usage_path = None
    while time.monotonic() < deadline and usage_path is None:
        base = mount + PARENT
        for d in os.listdir(base) if os.path.isdir(base) else []:
            p = os.path.join(base, d, "target", usage_file)
            if os.path.exists(p):
                usage_path = p
        time.sleep(0.01)
    if usage_path is None:
        proc.kill()
        raise SystemExit("no run cgroup appeared")
    before = int(open(usage_path).read())
    while time.monotonic() < deadline:
        if int(open(usage_path).read()) >= before + STRESSOR_BYTES * 0.95:
            break
        time.sleep(0.01)
    else:
        proc.kill()
        raise SystemExit("the stressor never held its pages")
    time.sleep(3.5)  # into the hold stage: the action, probes and pprof all hang now
    held = int(open(usage_path).read())
    threshold = before + STRESSOR_BYTES * 0.05
    t0 = time.monotonic()
    os.kill(proc.pid, sig)
    released = None
    while released is None:
        try:
            if int(open(usage_path).read()) <= threshold:
                released = time.monotonic() - t0
        except OSError:
            released = time.monotonic() - t0  # the cgroup is gone: so are its pages
        if released is None:
            time.sleep(0.001)
    proc.wait(timeout=120)
    exited = time.monotonic() - t0
    return released, exited, held - before


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--trials")]
    trials = 20
    for a in sys.argv[1:]:
        if a.startswith("--trials="):
            trials = int(a.split("=", 1)[1])
    if not args:
        raise SystemExit(__doc__)
    binaries = args[:2]
    mount, usage_file = memory_mount()
    os.makedirs(mount + PARENT, exist_ok=True)
    srv, port = hanging_server()
    results = {b: ([], []) for b in binaries}
    try:
        for i in range(trials):
            for b in binaries:
                with tempfile.TemporaryDirectory(prefix="memstrain-release-first-") as work:
                    sig = signal.SIGTERM if i % 2 == 0 else signal.SIGINT
                    released, exited, held = trial(b, work, port, sig, mount, usage_file)
                    results[b][0].append(released)
                    results[b][1].append(exited)
                    print(f"trial {i + 1} {b}: {signal.Signals(sig).name}, {held >> 20} MiB released in "
                          f"{released * 1000:.0f} ms, exited after {exited * 1000:.0f} ms", file=sys.stderr)
    finally:
        srv.close()
        try:
            os.rmdir(mount + PARENT)
        except OSError:
            pass
    print(f"| binary | trials | release p50 ms | release p99 ms | release max ms | exit p50 ms | exit max ms |")
    print(f"| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for b in binaries:
        rel, ex = results[b]
        print(f"| `{b}` | {len(rel)} | {statistics.median(rel) * 1000:.0f} | {percentile(rel, 99) * 1000:.0f} | "
              f"{max(rel) * 1000:.0f} | {statistics.median(ex) * 1000:.0f} | {max(ex) * 1000:.0f} |")


if __name__ == "__main__":
    main()
