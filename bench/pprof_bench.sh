#!/usr/bin/env bash
# Benchmark: parse + summarise one large Go heap profile with `memstrain pprof top` and with
# `go tool pprof -top`, on the same file, and print a markdown table row for BENCHMARKS.md.
#
# Usage: bench/pprof_bench.sh [RUNS]
#   MEMSTRAIN=path/to/memstrain   binary to time (default: build/memstrain)
#   SHAPE=huge                    heapgen shape (huge: >= 500k samples, MemProfileRate=1)
#   SAMPLE_INDEX=inuse_space      sample type for both tools
#   KEEP=1                        keep the generated profile and raw timings
#
# Each tool runs RUNS times (default 3) under /usr/bin/time -v; the row shows the median wall
# time and the median peak RSS. Goals (issue 3): memstrain >= 20x less wall time and <= 1/5 of
# the peak RSS of go tool pprof.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS="${1:-3}"
MEMSTRAIN="${MEMSTRAIN:-$REPO/build/memstrain}"
SHAPE="${SHAPE:-huge}"
SAMPLE_INDEX="${SAMPLE_INDEX:-inuse_space}"
HEAPGEN="$REPO/tests/goprof/bin/heapgen"

die() { echo "pprof_bench: $*" >&2; exit 2; }

command -v go >/dev/null 2>&1 || die "go is not on PATH (apt-get install golang-go)"
[ -x /usr/bin/time ] || die "/usr/bin/time is missing (apt-get install time)"
[ -x "$MEMSTRAIN" ] || die "$MEMSTRAIN is not built (cmake --build build) or set MEMSTRAIN="
if [ ! -x "$HEAPGEN" ]; then
    "$REPO/tests/go-build.sh" >&2 || die "could not build heapgen"
fi

WORK="$(mktemp -d /tmp/memstrain-pprof-bench.XXXXXX)"
if [ "${KEEP:-0}" != 1 ]; then trap 'rm -rf "$WORK"' EXIT; fi
PROFILE="$WORK/$SHAPE.pb.gz"

"$HEAPGEN" -shape "$SHAPE" -out "$PROFILE" > "$WORK/heapgen.json"
records="$(grep -o '"records": *[0-9]*' "$WORK/heapgen.json" | grep -o '[0-9]*$' || echo '?')"
size_bytes="$(stat -c %s "$PROFILE")"

# Runs "$@" RUNS times; prints "<median wall seconds> <median max RSS KiB>".
measure() {
    local name="$1"; shift
    local walls=() rss=()
    for i in $(seq "$RUNS"); do
        /usr/bin/time -v -o "$WORK/$name.$i.time" "$@" > "$WORK/$name.$i.out" 2> "$WORK/$name.$i.err" ||
            die "$name failed: $(tail -3 "$WORK/$name.$i.err")"
        # "Elapsed (wall clock) time (h:mm:ss or m:ss): 0:01.23"
        walls+=("$(awk -F': ' '/Elapsed \(wall clock\)/ {
            n = split($2, p, ":"); s = 0; for (k = 1; k <= n; k++) s = s * 60 + p[k]; print s }' "$WORK/$name.$i.time")")
        rss+=("$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/$name.$i.time")")
    done
    local mid=$(( (RUNS + 1) / 2 ))
    printf '%s %s\n' "$(printf '%s\n' "${walls[@]}" | sort -g | sed -n "${mid}p")" \
                     "$(printf '%s\n' "${rss[@]}" | sort -n | sed -n "${mid}p")"
}

read -r ms_wall ms_rss < <(measure memstrain "$MEMSTRAIN" pprof top "$PROFILE" --sample-index "$SAMPLE_INDEX")
read -r go_wall go_rss < <(measure go go tool pprof -top -sample_index="$SAMPLE_INDEX" "$PROFILE")

# Both tools must agree on the total, or the timing compares different work.
ms_total="$(grep -o 'of .* total' "$WORK/memstrain.1.out" | head -1)"
go_total="$(grep -o 'of .* total' "$WORK/go.1.out" | head -1)"

echo "| profile | memstrain pprof top (wall / peak RSS) | go tool pprof -top (wall / peak RSS) | speed-up | RSS ratio |" >&2
echo "totals: memstrain: ${ms_total:-?}; go: ${go_total:-?}" >&2
awk -v shape="$SHAPE" -v rec="$records" -v size="$size_bytes" -v idx="$SAMPLE_INDEX" \
    -v mw="$ms_wall" -v mr="$ms_rss" -v gw="$go_wall" -v gr="$go_rss" -v runs="$RUNS" 'BEGIN {
    speed = (mw > 0) ? gw / mw : 0
    rss_ratio = (gr > 0) ? mr / gr : 0
    printf "| %s (%s samples, %.1f MiB gz), %s, median of %d | %.2f s / %.0f MiB | %.2f s / %.0f MiB | %.1fx | 1/%.1f |\n",
        shape, rec, size / 1048576, idx, runs, mw, mr / 1024, gw, gr / 1024, speed, (rss_ratio > 0 ? 1 / rss_ratio : 0)
}'
