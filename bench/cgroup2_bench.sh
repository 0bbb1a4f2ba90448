#!/usr/bin/env bash
# Setpoint precision and hold CPU on a real cgroup v2 memory controller, in the throwaway qemu guest
# of `make test-cgroup2` (scripts/vm/boot.sh), once per THP mode. The guest runs under TCG here
# (software emulation: every figure is slower than on hardware, CPU seconds especially) — the
# output says which accelerator ran it. Prints Markdown to paste into BENCHMARKS.md.
#
# Usage: bench/cgroup2_bench.sh [BUILD]        (make bench-cgroup2)
#   precision: 80% of 512 MiB while the demo target grows and drops 50 MiB every 2 s, 30 s hold
#   hold:      a 1 GiB stressor held for 20 s (no target churn): CPU of stressor and controller
set -uo pipefail
cd "$(dirname "$0")/.."
REPO="$PWD"
build=${1:-build}
case "$build" in /*) ;; *) build="$REPO/$build" ;; esac
helper="$REPO/bench/bench_report.py"
out="$build/vm-bench"
mkdir -p "$out"

job="$out/job.sh"
cat > "$job" <<JOB
set -u
R=/run/vm-results
cd "$REPO"
ms="$build/memstrain"
cat > /tmp/prec.json <<'JSON'
{"name": "bench-v2-precision",
 "target": {"launch": {"command": ["tests/target/bin/demo-target", "-addr", "127.0.0.1:16070"],
                       "env": {"GODEBUG": "madvdontneed=1"}, "memory_limit": "512MiB",
                       "ready_url": "http://127.0.0.1:16070/healthz"}},
 "sampling": {"interval": "100ms"},
 "stages": [{"name": "ramp", "duration": "6s", "pressure": {"level": "80%", "ramp": "5s"}},
            {"name": "hold", "duration": "30s", "pressure": {"level": "80%"}}]}
JSON
cat > /tmp/hold.json <<'JSON'
{"name": "bench-v2-hold",
 "target": {"launch": {"command": ["sleep", "3600"], "memory_limit": "1536MiB"}},
 "stages": [{"name": "fill", "duration": "10s", "pressure": {"size": "1GiB"}},
            {"name": "hold", "duration": "20s", "pressure": {"size": "1GiB"}}]}
JSON
"\$ms" run /tmp/prec.json --out \$R/prec --cgroup-parent /memstrain-bench -q > /dev/null 2>&1 &
runner=\$!
sleep 10
end=\$((SECONDS + 26))
while ((SECONDS < end)); do
  curl -s -m 5 -X POST "http://127.0.0.1:16070/grow?mib=50" > /dev/null || true
  sleep 2
  curl -s -m 5 -X POST "http://127.0.0.1:16070/drop" > /dev/null || true
  sleep 2
done
wait \$runner
"\$ms" run /tmp/hold.json --out \$R/hold --cgroup-parent /memstrain-bench -q > /dev/null 2>&1
exit 0
JOB

echo "load before: $(uptime)"
for thp in ${MEMSTRAIN_VM_THP:-always madvise}; do
  res="$out/$thp"
  rm -rf "$res"
  scripts/vm/boot.sh --results "$res" --thp "$thp" --timeout 900 "$job" || { echo "(the $thp guest failed: $res/console.log)"; continue; }
  accel=$(cat "$res/accel")
  IFS='|' read -r mean max usage_max ceiling <<<"$(python3 "$helper" precision "$res/prec/report.json" "$res/prec/samples.jsonl" hold)"
  hs=$(python3 "$helper" field "$res/hold/report.json" hold cpu_s.stressor)
  hc=$(python3 "$helper" field "$res/hold/report.json" hold cpu_s.controller)
  echo
  echo "| cgroup v2 guest ($(grep -o '^kernel [^,]*' "$res/guest-info"), ${accel^^}, THP $thp) | value | goal |"
  echo "| --- | --- | --- |"
  echo "| precision: mean absolute setpoint error, 80% of 512 MiB, target ±50 MiB every 2 s, 30 s hold | ${mean}% of the limit | ≤ 1% |"
  echo "| precision: largest absolute error | ${max} MiB | — |"
  echo "| precision: highest usage vs limit − margin | ${usage_max} MiB vs ${ceiling} MiB | never above |"
  echo "| hold 1 GiB for 20 s: CPU seconds | ${hs} s stressor + ${hc} s controller | ≤ 0.2 s (1% of a core) |"
done
echo
echo "load after: $(uptime)"
