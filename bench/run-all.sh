#!/usr/bin/env bash
# Runs every benchmark and prints Markdown to paste into BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
echo "## $(date -u +%Y-%m-%d) on Linux $(uname -r), $(nproc) cores"
echo
echo "### Stressor vs stress-ng"
bench/stressor_bench.sh "$build"
echo
echo "### Spike fill: memstrain's parallel populate vs stress-ng --vm 1 / --vm 2"
bench/fill_bench.sh "$build" || echo "(fill_bench failed)"
echo
echo "### Hold with a moving target: CPU, churn, precision"
bench/hold_bench.sh "$build" || echo "(hold_bench failed)"
echo
echo "### pprof top vs go tool pprof"
MEMSTRAIN="$build/memstrain" bench/pprof_bench.sh 3 || echo "(pprof_bench failed)"
echo
echo "### Latency probe vs wrk and hey"
bench/probe_bench.sh "$build" || echo "(probe_bench failed)"
if [[ -x bench/pprof_cost_bench.sh ]]; then
  echo
  echo "### Cost of pprof sampling on the target"
  bench/pprof_cost_bench.sh "$build" || echo "(pprof_cost_bench failed)"
fi
echo
echo "### Release first: stop signal to the stressor's pages leaving the cgroup"
python3 bench/release_first_bench.py "$build/memstrain" ${RELEASE_FIRST_PEER:-} --trials="${RELEASE_FIRST_TRIALS:-20}" ||
  echo "(release_first_bench failed)"
echo "### Cost of forced-GC live readings (pprof.live_interval)"
bench/live_gc_cost.sh "$build" || echo "(live_gc_cost failed)"
