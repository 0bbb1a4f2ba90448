#!/usr/bin/env bash
# Runs plans/demo.json against the bundled Go demo target and leaves the results in out/demo.
set -uo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/memstrain}
if [[ $(id -u) -ne 0 ]]; then
  echo "memstrain demo: run as root (it creates cgroups under the memory controller)" >&2
  exit 1
fi
rm -rf out/demo
"$bin" run plans/demo.json --out out/demo
code=$?
echo
echo "memstrain demo: exit code $code; report in out/demo/report.json (also junit.xml, summary.md), samples in out/demo/samples.jsonl"
# Pass (0) and fail (1) are both verdicts the demo is meant to show; anything else is a problem.
if [[ $code -eq 0 || $code -eq 1 ]]; then exit 0; fi
exit $code
