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
echo "### Cost of forced-GC live readings (pprof.live_interval)"
bench/live_gc_cost.sh "$build" || echo "(live_gc_cost failed)"
