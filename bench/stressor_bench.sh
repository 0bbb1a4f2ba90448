#!/usr/bin/env bash
# Stressor benchmarks against stress-ng, in the same run on the same machine (issue: foundation):
#   1. fill speed: time until a cgroup's usage reaches 4 GiB
#   2. hold cost: CPU seconds while holding 4 GiB for 30 s
#   3. precision: holding 80% of a 1 GiB limit while the target grows and drops 100 MiB every 2 s
# Every figure comes from memstrain's own samples (10 ms) and per-stage CPU accounting, for both
# tools: stress-ng runs as the launched "target" of a plan with no pressure stages.
# Usage: bench/stressor_bench.sh [BUILD_DIR]   (root; prints Markdown)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
ms=$build/memstrain
work=$(mktemp -d /tmp/memstrain-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
command -v stress-ng >/dev/null || { echo "stress-ng missing: apt-get install stress-ng" >&2; exit 1; }
helper=bench/bench_report.py

# --- memstrain: a stressor of 4 GiB in a 5 GiB cgroup next to an idle target ------------------
cat > "$work/ms.json" <<'JSON'
{"name": "bench-memstrain",
 "target": {"launch": {"command": ["sleep", "600"], "memory_limit": "5GiB"}},
 "sampling": {"interval": "10ms"},
 "stages": [{"name": "idle", "duration": "1s"},
            {"name": "fill", "duration": "8s", "pressure": {"size": "4GiB"}},
            {"name": "hold", "duration": "30s", "pressure": {"size": "4GiB"}}]}
JSON
"$ms" run "$work/ms.json" --out "$work/ms" --cgroup-parent /memstrain-bench -q >/dev/null
ms_fill=$(python3 $helper fill "$work/ms/samples.jsonl" fill)
ms_hold_stressor=$(python3 $helper field "$work/ms/report.json" hold cpu_s.stressor)
ms_hold_controller=$(python3 $helper field "$work/ms/report.json" hold cpu_s.controller)

# --- stress-ng: the same 4 GiB, as the launched target with no pressure stages ----------------
cat > "$work/sng.json" <<'JSON'
{"name": "bench-stress-ng",
 "target": {"launch": {"command": ["stress-ng", "--vm", "1", "--vm-bytes", "4g", "--vm-keep", "--vm-populate",
                                   "--timeout", "60s", "-q"],
                       "memory_limit": "5GiB"}},
 "sampling": {"interval": "10ms"},
 "stages": [{"name": "fill", "duration": "8s"}, {"name": "hold", "duration": "30s"}]}
JSON
"$ms" run "$work/sng.json" --out "$work/sng" --cgroup-parent /memstrain-bench -q >/dev/null || true
sng_fill=$(python3 $helper fill "$work/sng/samples.jsonl" fill)
sng_hold=$(python3 $helper field "$work/sng/report.json" hold cpu_s.target_cgroup)

# --- precision: 80% of 1 GiB while the demo target grows/drops 100 MiB every 2 s --------------
cat > "$work/prec.json" <<'JSON'
{"name": "bench-precision",
 "target": {"launch": {"command": ["tests/target/bin/demo-target", "-addr", "127.0.0.1:16070"],
                       "env": {"GODEBUG": "madvdontneed=1"}, "memory_limit": "1GiB",
                       "ready_url": "http://127.0.0.1:16070/healthz"}},
 "sampling": {"interval": "50ms"},
 "stages": [{"name": "ramp", "duration": "6s", "pressure": {"level": "80%", "ramp": "5s"}},
            {"name": "hold", "duration": "40s", "pressure": {"level": "80%"}}]}
JSON
"$ms" run "$work/prec.json" --out "$work/prec" --cgroup-parent /memstrain-bench -q >/dev/null &
runner=$!
sleep 8  # target ready and ramp done: start moving the target
end=$((SECONDS + 36))
while ((SECONDS < end)); do
  curl -s -m 5 -X POST "http://127.0.0.1:16070/grow?mib=100" >/dev/null || true
  sleep 2
  curl -s -m 5 -X POST "http://127.0.0.1:16070/drop" >/dev/null || true
  sleep 2
done
wait $runner || true
IFS='|' read -r prec_mean prec_max prec_usage_max prec_ceiling <<<"$(python3 $helper precision "$work/prec/report.json" "$work/prec/samples.jsonl" hold)"

echo "| benchmark | memstrain | stress-ng | goal |"
echo "| --- | --- | --- | --- |"
echo "| fill: time until cgroup usage reaches 4 GiB | ${ms_fill} s | ${sng_fill} s | ≤ stress-ng |"
echo "| hold 4 GiB for 30 s: CPU seconds | ${ms_hold_stressor} s stressor + ${ms_hold_controller} s controller | ${sng_hold} s | ≤ 0.3 s (1% of a core) |"
echo
echo "| precision: 80% of 1 GiB, target ±100 MiB every 2 s, 40 s hold | value | goal |"
echo "| --- | --- | --- |"
echo "| mean absolute setpoint error | ${prec_mean}% of the limit | ≤ 1% |"
echo "| largest absolute error | ${prec_max} MiB | — |"
echo "| highest usage vs limit − margin | ${prec_usage_max} MiB vs ${prec_ceiling} MiB | never above |"
