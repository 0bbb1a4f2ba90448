#!/usr/bin/env bash
# Stressor benchmarks against stress-ng, in the same run on the same machine:
#   1. fill speed: time until a cgroup's usage reaches 4 GiB (TRIALS alternating runs each)
#   2. hold cost: CPU seconds while holding 4 GiB for 30 s
#   3. precision: holding 80% of a 1 GiB limit while the target grows and drops 100 MiB every 2 s
# Every figure comes from memstrain's own samples and per-stage CPU accounting, for both tools:
# stress-ng runs as the launched "target" of a plan without pressure stages.
# Usage: bench/stressor_bench.sh [BUILD_DIR]   (root; prints Markdown). TRIALS=5 by default.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
ms=$build/memstrain
trials=${TRIALS:-5}
work=$(mktemp -d /tmp/memstrain-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
command -v stress-ng >/dev/null || { echo "stress-ng missing: apt-get install stress-ng" >&2; exit 1; }
helper=bench/bench_report.py
run() { "$ms" run "$1" --out "$2" --cgroup-parent /memstrain-bench -q >/dev/null || true; }

# memstrain: a 4 GiB stressor in a 5 GiB cgroup next to an idle target.
cat > "$work/ms-fill.json" <<'JSON'
{"name": "bench-memstrain-fill",
 "target": {"launch": {"command": ["sleep", "600"], "memory_limit": "5GiB"}},
 "sampling": {"interval": "10ms"},
 "stages": [{"name": "idle", "duration": "500ms"}, {"name": "fill", "duration": "8s", "pressure": {"size": "4GiB"}}]}
JSON
# stress-ng: the same 4 GiB, as the launched target.
cat > "$work/sng-fill.json" <<'JSON'
{"name": "bench-stress-ng-fill",
 "target": {"launch": {"command": ["stress-ng", "--vm", "1", "--vm-bytes", "4g", "--vm-keep", "--vm-populate",
                                   "--timeout", "9s", "-q"], "memory_limit": "5GiB"}},
 "sampling": {"interval": "10ms"},
 "stages": [{"name": "fill", "duration": "8s"}]}
JSON
ms_fills=()
sng_fills=()
for ((i = 0; i < trials; i++)); do
  run "$work/sng-fill.json" "$work/sng-fill"
  sng_fills+=("$(python3 $helper fill "$work/sng-fill/samples.jsonl" fill)")
  run "$work/ms-fill.json" "$work/ms-fill"
  ms_fills+=("$(python3 $helper fill "$work/ms-fill/samples.jsonl" fill)")
done

# Hold cost at the default sampling interval (250 ms).
cat > "$work/ms-hold.json" <<'JSON'
{"name": "bench-memstrain-hold",
 "target": {"launch": {"command": ["sleep", "600"], "memory_limit": "5GiB"}},
 "stages": [{"name": "fill", "duration": "8s", "pressure": {"size": "4GiB"}},
            {"name": "hold", "duration": "30s", "pressure": {"size": "4GiB"}}]}
JSON
cat > "$work/sng-hold.json" <<'JSON'
{"name": "bench-stress-ng-hold",
 "target": {"launch": {"command": ["stress-ng", "--vm", "1", "--vm-bytes", "4g", "--vm-keep", "--vm-populate",
                                   "--timeout", "60s", "-q"], "memory_limit": "5GiB"}},
 "stages": [{"name": "fill", "duration": "8s"}, {"name": "hold", "duration": "30s"}]}
JSON
run "$work/ms-hold.json" "$work/ms-hold"
ms_hold_stressor=$(python3 $helper field "$work/ms-hold/report.json" hold cpu_s.stressor)
ms_hold_controller=$(python3 $helper field "$work/ms-hold/report.json" hold cpu_s.controller)
run "$work/sng-hold.json" "$work/sng-hold"
sng_hold=$(python3 $helper field "$work/sng-hold/report.json" hold cpu_s.target_cgroup)

# Precision: 80% of 1 GiB while the demo target grows/drops 100 MiB every 2 s.
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
echo "| fill: time until cgroup usage reaches 4 GiB, median of $trials (min–max) | $(python3 $helper median "${ms_fills[@]}") s | $(python3 $helper median "${sng_fills[@]}") s | ≤ stress-ng |"
echo "| hold 4 GiB for 30 s: CPU seconds | ${ms_hold_stressor} s stressor + ${ms_hold_controller} s controller | ${sng_hold} s | ≤ 0.3 s (1% of a core) |"
echo
echo "fill trials (s): memstrain ${ms_fills[*]}; stress-ng ${sng_fills[*]}"
echo
echo "| precision: 80% of 1 GiB, target ±100 MiB every 2 s, 40 s hold | value | goal |"
echo "| --- | --- | --- |"
echo "| mean absolute setpoint error | ${prec_mean}% of the limit | ≤ 1% |"
echo "| largest absolute error | ${prec_max} MiB | — |"
echo "| highest usage vs limit − margin | ${prec_usage_max} MiB vs ${prec_ceiling} MiB | never above |"
