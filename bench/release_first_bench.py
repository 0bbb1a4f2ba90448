#!/usr/bin/env python3
"""Release first: time from a stop signal to the stressor's pages leaving the cgroup.

Each trial starts `memstrain run` with a 512 MiB stressor inside a 1 GiB cgroup and every
observer stuck on a peer that never answers (probe, pprof, an action, each with a 10 s timeout),
waits until the stressor holds its pages, sends SIGTERM (odd trials SIGINT), and polls the run
cgroup's usage every millisecond until the stressor's share is gone (usage under 32 MiB, about 6%
of the stressor: the target is `sleep`, whose cgroup holds about 1 MiB without it; a threshold
relative to the usage read when the cgroup appears raced the stressor's first pages on a loaded
machine). A trial whose stressor never filled is stopped with SIGTERM (memstrain cleans up) and
counted as failed. Prints one Markdown row per binary: trials, p50, p99
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
RELEASED_BYTES = 32 << 20


class TrialFailed(Exception):
    pass
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
        proc.terminate()
        proc.wait()
        raise TrialFailed("no run cgroup appeared in 30 s")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if int(open(usage_path).read()) >= STRESSOR_BYTES * 0.95:
            break
        time.sleep(0.01)
    else:
        proc.terminate()
        proc.wait()
        raise TrialFailed("the stressor never held its pages: " + open(os.path.join(work, "stderr")).read()[-2000:])
    time.sleep(3.5)  # into the hold stage: the action, probes and pprof all hang now
    held = int(open(usage_path).read())
    threshold = RELEASED_BYTES
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
            if time.monotonic() - t0 > 120:
                proc.kill()
                proc.wait()
                raise TrialFailed("the stressor's pages were still in the cgroup 120 s after the signal")
            time.sleep(0.001)
    proc.wait(timeout=120)
    exited = time.monotonic() - t0
    return released, exited, held


def main():
    # --trials N or --trials=N; the rest are the binaries.
    args, trials, argv = [], 20, sys.argv[1:]
    while argv:
        a = argv.pop(0)
        if a == "--trials" and argv:
            trials = int(argv.pop(0))
        elif a.startswith("--trials="):
            trials = int(a.split("=", 1)[1])
        else:
            args.append(a)
    if not args:
        raise SystemExit(__doc__)
    binaries = args[:2]
    mount, usage_file = memory_mount()
    os.makedirs(mount + PARENT, exist_ok=True)
    srv, port = hanging_server()
    results = {b: ([], []) for b in binaries}
    failed = {b: 0 for b in binaries}
    load_before = os.getloadavg()
    try:
        for i in range(trials):
            for b in binaries:
                with tempfile.TemporaryDirectory(prefix="memstrain-release-first-") as work:
                    sig = signal.SIGTERM if i % 2 == 0 else signal.SIGINT
                    try:
                        released, exited, held = trial(b, work, port, sig, mount, usage_file)
                    except TrialFailed as e:
                        failed[b] += 1
                        print(f"trial {i + 1} {b}: failed: {e}", file=sys.stderr)
                        continue
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
    print(f"load average before {load_before[0]:.1f} {load_before[1]:.1f} {load_before[2]:.1f}, after "
          f"{os.getloadavg()[0]:.1f} {os.getloadavg()[1]:.1f} {os.getloadavg()[2]:.1f}")
    print(f"| binary | trials (failed) | release p50 ms | release p99 ms | release max ms | exit p50 ms | exit max ms |")
    print(f"| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for b in binaries:
        rel, ex = results[b]
        if not rel:
            print(f"| `{b}` | 0 ({failed[b]}) | | | | | |")
            continue
        print(f"| `{b}` | {len(rel)} ({failed[b]}) | {statistics.median(rel) * 1000:.0f} | {percentile(rel, 99) * 1000:.0f} | "
              f"{max(rel) * 1000:.0f} | {statistics.median(ex) * 1000:.0f} | {max(ex) * 1000:.0f} |")


if __name__ == "__main__":
    main()
