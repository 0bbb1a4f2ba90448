#!/usr/bin/env bash
# Spike fill speed: memstrain as the stressor of a plan vs stress-ng, same run, alternating.
#   memstrain        a plan with `pressure.size: 2GiB` (a spike, "ramp": "0s") next to an idle target
#   stress-ng --vm 1 --vm-bytes 2g --vm-keep --vm-populate
#   stress-ng --vm 2 --vm-bytes 2g (stress-ng 0.15 divides --vm-bytes among its workers: each holds
#   1 GiB, seen in their RSS; SNG2_BYTES overrides it for versions that do not divide)
# Each runs in a cgroup under /memstrain-test-bench-<pid> with the same limit (2.5 GiB); one poller
# (bench/fill_probe.cpp, 0.5 ms) times all of them the same way: from the cgroup's usage at
# +64 MiB to +1.9 GiB over its usage when the tool started. Then the reference: MADV_POPULATE_WRITE
# of 2 GiB from 1 and from 2 threads in a cgroup of the same limit (the kernel's floor here).
# Usage: bench/fill_bench.sh [BUILD_DIR]   (root; prints Markdown). TRIALS=5 by default.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
ms=$(realpath "$build/memstrain")
trials=${TRIALS:-5}
sng2_bytes=${SNG2_BYTES:-2g}
[[ $(id -u) == 0 ]] || { echo "fill_bench: needs root (cgroups)" >&2; exit 1; }
command -v stress-ng >/dev/null || apt-get install -y -q stress-ng >/dev/null
mem=/sys/fs/cgroup/memory
[[ -f $mem/memory.usage_in_bytes ]] || { echo "fill_bench: expects the cgroup v1 memory hierarchy at $mem" >&2; exit 1; }
work=$(mktemp -d /tmp/memstrain-fill-bench.XXXXXX)
root=/memstrain-test-bench-$$
lo=$((64 << 20))
hi=$((1946 << 20)) # 1.9 GiB
limit=$((2560 << 20))
cleanup() {
  # Deepest first; memstrain removes its own run cgroups, these are ours.
  if [[ -d $mem$root ]]; then find "$mem$root" -mindepth 1 -depth -type d -exec rmdir {} \; 2>/dev/null || true; fi
  rmdir "$mem$root" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
g++ -std=c++20 -O2 bench/fill_probe.cpp -pthread -o "$work/fill_probe"
for c in memstrain sng1 sng2 ref; do
  mkdir -p "$mem$root/$c"
  echo "$limit" >"$mem$root/$c/memory.limit_in_bytes"
done
# memstrain's run cgroup (with the plan's limit) goes under $root/memstrain (the parent must name memstrain).
cat >"$work/ms-fill.json" <<JSON
{"name": "bench-fill-spike",
 "target": {"launch": {"command": ["sleep", "600"], "memory_limit": "${limit}"}},
 "sampling": {"interval": "100ms"},
 "stages": [{"name": "idle", "duration": "300ms"},
            {"name": "fill", "duration": "4s", "pressure": {"size": "2GiB", "ramp": "0s"}}]}
JSON

watch() { "$work/fill_probe" watch "$mem$root/$1/memory.usage_in_bytes" "$lo" "$hi" 30 >"$work/$2.json" & }
fill_s() { python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))["fill_s"]; print("nan" if v is None else v)' "$1"; }
in_cgroup() { # in_cgroup CG CMD...: runs CMD inside our cgroup CG (this shell's child moves itself)
  local cg=$1
  shift
  sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$mem$root/$cg" "$@"
}

ms_t=() sng1_t=() sng2_t=() ms_rate=() ms_ttl=() ms_threads=""
for ((i = 1; i <= trials; i++)); do
  watch sng1 "sng1-$i"
  w=$!
  in_cgroup sng1 stress-ng --vm 1 --vm-bytes 2g --vm-keep --vm-populate --timeout 4s -q >/dev/null 2>&1 || true
  wait $w || true
  sng1_t+=("$(fill_s "$work/sng1-$i.json")")

  watch memstrain "ms-$i"
  w=$!
  "$ms" run "$work/ms-fill.json" --out "$work/ms-$i" --cgroup-parent "$root/memstrain" -q >"$work/ms-$i.log" 2>&1 || true
  wait $w || true
  ms_t+=("$(fill_s "$work/ms-$i.json")")
  [[ -f $work/ms-$i/report.json ]] || { echo "fill_bench: memstrain run failed:" >&2; cat "$work/ms-$i.log" >&2; exit 1; }
  read -r rate ttl thr < <(python3 -c '
import json,sys
s=[s for s in json.load(open(sys.argv[1]))["stages"] if s["name"]=="fill"][0].get("fill") or {}
print(s.get("bytes_per_s") or "nan", s.get("time_to_level_s") or "nan", s.get("threads", "?"))' "$work/ms-$i/report.json")
  ms_rate+=("$rate")
  ms_ttl+=("$ttl")
  ms_threads=$thr

  watch sng2 "sng2-$i"
  w=$!
  in_cgroup sng2 stress-ng --vm 2 --vm-bytes "$sng2_bytes" --vm-keep --vm-populate --timeout 4s -q >/dev/null 2>&1 || true
  wait $w || true
  sng2_t+=("$(fill_s "$work/sng2-$i.json")")
done
ref1=$(in_cgroup ref "$work/fill_probe" populate $((2 << 30)) 1)
ref2=$(in_cgroup ref "$work/fill_probe" populate $((2 << 30)) 2)
load=$(uptime | sed 's/.*load average: //')

python3 - "$ref1" "$ref2" "$load" "$ms_threads" "${ms_t[*]}" "${sng1_t[*]}" "${sng2_t[*]}" "${ms_rate[*]}" "${ms_ttl[*]}" <<'PY'
import json, math, statistics, sys
ref1, ref2 = json.loads(sys.argv[1]), json.loads(sys.argv[2])
load, threads = sys.argv[3], sys.argv[4]
ms, s1, s2, rate, ttl = ([float(x) for x in a.split()] for a in sys.argv[5:10])
def med(v):
    ok = [x for x in v if not math.isnan(x)]
    return statistics.median(ok) if ok else float("nan")
def trials(v): return " / ".join("—" if math.isnan(x) else f"{x:.3f}" for x in v)
span = (1946 - 64) / 1024  # GiB timed
m, a, b = med(ms), med(s1), med(s2)
print("| 2 GiB spike, +64 MiB → +1.9 GiB of cgroup usage, median of %d | seconds | GiB/s | vs `--vm 1` | vs `--vm 2` |" % len(ms))
print("| --- | --- | --- | --- | --- |")
print(f"| memstrain (plan stressor, {threads} populate threads) | {m:.3f} | {span / m:.2f} | {m / a:.2f}× (goal ≤ 0.67×) | {m / b:.2f}× (goal ≤ 1.0×) |")
print(f"| stress-ng --vm 1 --vm-bytes 2g --vm-keep --vm-populate | {a:.3f} | {span / a:.2f} | 1.00× | {a / b:.2f}× |")
print(f"| stress-ng --vm 2 --vm-bytes 2g (1 GiB each) | {b:.3f} | {span / b:.2f} | {b / a:.2f}× | 1.00× |")
print(f"| reference: MADV_POPULATE_WRITE of 2 GiB, 1 thread | {ref1['s']:.3f} (whole 2 GiB) | {ref1['bytes_per_s'] / 2**30:.2f} | | |")
print(f"| reference: MADV_POPULATE_WRITE of 2 GiB, 2 threads | {ref2['s']:.3f} (whole 2 GiB) | {ref2['bytes_per_s'] / 2**30:.2f} | | |")
print()
print(f"Trials (s), alternating: memstrain {trials(ms)}; stress-ng --vm 1 {trials(s1)}; --vm 2 {trials(s2)}.")
print(f"memstrain's own report.json `fill`: bytes_per_s median {med(rate) / 2**30:.2f} GiB/s, time_to_level_s median {med(ttl):.3f} s "
      f"(from the stage's start, includes the first 50 ms control tick).")
print(f"Load average during the run (1/5/15 min): {load}.")
PY
