#!/usr/bin/env python3
"""Soak: memstrain's own memory over a long run at 10 ms sampling.

One `memstrain run` of the demo target with 4 latency probes, window checks on each probe and on
usage, pprof every second, a stressor holding a level, and sampling every 10 ms for long enough to
take SAMPLES cgroup samples (default 200,000: about 34 minutes on a quiet machine). Every 10 s the
bench reads memstrain's VmRSS and counts the cgroup lines written to samples.jsonl so far (the
real number of samples: a loaded machine takes fewer than one per 10 ms, as the sampler skips a
tick it missed); the hold is planned 50% longer than SAMPLES x 10 ms and the bench stops the run
with SIGTERM once SAMPLES are written (the run then cleans up and exits 4). At the end it prints
the RSS at the start of the hold, the largest, the last, and the least-squares slope of RSS per
10,000 samples over the second half of the run (flat memory has a slope near 0), with
samples.jsonl's size and growth per hour, the wall time and the machine's load.

Usage (root): bench/soak_bench.py MEMSTRAIN [--samples N] [--port P]
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time

PARENT = "/memstrain-bench-soak"


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def slope(xs, ys):
    n = len(xs)
    if n < 2:
        return 0.0
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx if sxx else 0.0


def main():
    args = sys.argv[1:]
    if not args:
        raise SystemExit(__doc__)
    binary = os.path.abspath(args[0])
    samples, port = 200_000, 16099
    for i, a in enumerate(args):
        if a == "--samples":
            samples = int(args[i + 1])
        if a == "--port":
            port = int(args[i + 1])
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    target = os.path.join(root, "tests/target/bin/demo-target")
    hold_s = int(samples * 0.010 * 1.5) + 10
    base = f"http://127.0.0.1:{port}"
    probes = [{"name": f"p{k}", "url": base + "/work", "rate_per_s": 20, "timeout": "1s"} for k in range(4)]
    checks = [{"name": f"p99 {p['name']}", "metric": "latency.p99", "probe": p["name"], "window": "10s", "max": "5s"}
              for p in probes]
    checks.append({"name": "usage", "metric": "cgroup.usage.max", "window": "10s", "max": "1GiB"})
    plan = {
        "name": "soak",
        "target": {"launch": {"command": [target, "-addr", f"127.0.0.1:{port}"], "memory_limit": "512MiB",
                              "ready_url": base + "/healthz"},
                   "pprof_url": base + "/debug/pprof", "probe": probes},
        "sampling": {"interval": "10ms", "pprof_interval": "1s"},
        "checks": checks,
        "stages": [{"name": "baseline", "duration": "10s"},
                   {"name": "hold", "duration": f"{hold_s}s", "pressure": {"level": "60%", "ramp": "5s"}}],
    }
    with tempfile.TemporaryDirectory(prefix="memstrain-soak-") as work:
        plan_path = os.path.join(work, "plan.json")
        with open(plan_path, "w") as f:
            json.dump(plan, f)
        out = os.path.join(work, "out")
        t0 = time.monotonic()
        proc = subprocess.Popen([binary, "run", plan_path, "--out", out, "--cgroup-parent", PARENT, "-q",
                                 "--journal-dir", os.path.join(work, "journal")],
                                stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "stderr"), "w"))
        points = []  # (cgroup samples so far, RSS KiB)
        samples_path = os.path.join(out, "samples.jsonl")
        counted, offset, tail, stopped = 0, 0, b"", False
        while proc.poll() is None:
            time.sleep(10)
            r = rss_kib(proc.pid)
            if r is None:
                break
            if os.path.exists(samples_path):
                with open(samples_path, "rb") as f:
                    f.seek(offset)
                    chunk = tail + f.read()
                offset += len(chunk) - len(tail)
                cut = chunk.rfind(b"\n") + 1
                counted += chunk[:cut].count(b'"kind":"cgroup"')
                tail = chunk[cut:]
            elapsed = time.monotonic() - t0
            points.append((counted, r))
            print(f"{elapsed:7.0f} s  {counted:9d} samples  RSS {r / 1024:6.1f} MiB  load {os.getloadavg()[0]:.1f}",
                  file=sys.stderr, flush=True)
            if counted >= samples and not stopped:
                proc.send_signal(signal.SIGTERM)
                stopped = True
        code = proc.wait()
        size = os.path.getsize(os.path.join(out, "samples.jsonl")) if os.path.exists(os.path.join(out, "samples.jsonl")) else 0
        taken = 0
        if os.path.exists(os.path.join(out, "report.json")):
            report = json.load(open(os.path.join(out, "report.json")))
            taken = sum(s.get("samples", 0) for s in report.get("stages", []))
        hours = (time.monotonic() - t0) / 3600
        second_half = points[len(points) // 2:]
        k = slope([p[0] for p in second_half], [p[1] for p in second_half]) * 10_000 / 1024
        hold_start = next((r for s, r in points if s * 0.010 > 20), points[0][1] if points else 0)
        print(f"wall time {hours * 60:.1f} min, {counted} cgroup lines counted, load at end {os.getloadavg()}", file=sys.stderr)
        print("| exit | cgroup samples (report.json) | RSS at hold start MiB | RSS max MiB | RSS last MiB | slope MiB / 10k samples (2nd half) "
              "| samples.jsonl MiB | MiB / hour |")
        print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        print(f"| {code} | {taken} | {hold_start / 1024:.1f} | {max(p[1] for p in points) / 1024:.1f} | {points[-1][1] / 1024:.1f} "
              f"| {k:+.3f} | {size / 2**20:.0f} | {size / 2**20 / hours:.0f} |")


if __name__ == "__main__":
    main()
