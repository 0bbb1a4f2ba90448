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
# A picture of report.html for CI artifacts, when Debian's chromium is installed.
if [[ -f out/demo/report.html ]] && command -v chromium > /dev/null; then
  profile=$(mktemp -d)
  timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-background-networking --no-first-run \
    --no-default-browser-check --user-data-dir="$profile" --hide-scrollbars --window-size=1280,3200 \
    --screenshot="$PWD/out/demo/report.png" "file://$PWD/out/demo/report.html" > /dev/null 2>&1 ||
    echo "memstrain demo: chromium could not take the screenshot" >&2
  rm -rf "$profile"
fi
echo
echo "memstrain demo: exit code $code; open out/demo/report.html (charts; screenshot in report.png when chromium is installed);"
echo "report.json, junit.xml, summary.md and samples.jsonl are beside it"
# Pass (0) and fail (1) are both verdicts the demo is meant to show; anything else is a problem.
if [[ $code -eq 0 || $code -eq 1 ]]; then exit 0; fi
exit $code
