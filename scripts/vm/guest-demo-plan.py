#!/usr/bin/env python3
"""plans/demo.json for the emulated guest: under TCG the target's CPU work costs SCALE times what it
does natively (the guest's measured memory-fill ratio, 1..10), so a probe at 50 requests/s asks the
two emulated CPUs for more than they have, requests queue, and p99 measures the emulator (15.9 s
measured at x10), and the pprof fetches time out behind the queue. This writes the same plan with
the probe rate divided by SCALE and its timeout, the pprof timeout and the latency checks' limits
multiplied by SCALE; every other check (no OOM kill, GC share, setpoint error, release comes back)
and every stage are unchanged. The shipped plan is not touched: the host runs it as it is.

Usage: guest-demo-plan.py SCALE IN OUT"""
import json
import re
import sys


def scale_duration(text, k):
    m = re.fullmatch(r"([0-9.]+)(ms|s)", text)
    if not m:
        raise SystemExit(f"guest-demo-plan: cannot scale duration {text!r}")
    return f"{float(m.group(1)) * k:g}{m.group(2)}"


def main():
    k = int(sys.argv[1])
    plan = json.load(open(sys.argv[2]))
    probe = plan["target"]["probe"]
    probe["rate_per_s"] = max(5, round(probe["rate_per_s"] / k))
    probe["timeout"] = scale_duration(probe.get("timeout", "1s"), k)
    plan.setdefault("pprof", {})["timeout"] = scale_duration(plan["pprof"].get("timeout", "2s"), k)
    for c in plan["checks"]:
        if c["metric"].startswith("latency.") and isinstance(c.get("max"), str):
            c["max"] = scale_duration(c["max"], k)
    plan["description"] = (plan.get("description", "") +
                           f" [cgroup v2 guest under TCG: probe rate /{k}, latency limits and timeouts x{k}]")
    json.dump(plan, open(sys.argv[3], "w"), indent=2)


if __name__ == "__main__":
    main()
