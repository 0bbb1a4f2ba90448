#!/usr/bin/env bash
# Runs every benchmark and prints Markdown to paste into BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
echo "## $(date -u +%Y-%m-%d) on $(uname -r), $(nproc) cores"
echo
echo "### Stressor vs stress-ng"
bench/stressor_bench.sh "$build"
for extra in bench/pprof_bench.sh bench/probe_bench.sh; do
  if [[ -x $extra ]]; then
    echo
    echo "### $(basename "$extra" .sh)"
    "$extra" "$build" || echo "($extra failed)"
  fi
done
