#!/usr/bin/env bash
# What pprof.live_interval costs the target: every live reading forces three GCs (heap?gc=1&debug=1,
# the lowest of three). One `memstrain run` per interval against the demo target holding a realistic
# heap (GROW_MIB of OBJECT_BYTES objects), a probe on /work at RATE req/s; per run the probe's
# corrected p50/p99/max in the measured stage, the time a forced-GC request takes (median and max
# of the live readings' request_ms), the GC pauses (PauseTotalNs and NumGC between the stage's first
# and last MemStats reading) and GC cycles per second. A reading takes three GCs 25 ms apart, so
# short intervals are bounded by the reading's own time: "live readings" shows how many happened.
#
#   bench/live_gc_cost.sh [BUILD_DIR]                 # ~2.5 min; needs root (cgroups)
#   STAGE_S=10 INTERVALS="off 1s" bench/live_gc_cost.sh   # quicker
#
# Runs are sequential, so background load moves between them: the script prints `uptime` before and
# after; re-run on a quiet machine for figures to quote. Prints Markdown on stdout; raw reports in
# bench/out/live_gc_cost/. Run it through /work/tools/isolate on a shared machine (fixed port).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-${BUILD:-build}}
[[ $BUILD = /* ]] || BUILD=$ROOT/$BUILD
OUT=$ROOT/bench/out/live_gc_cost
STAGE_S=${STAGE_S:-20}
RATE=${RATE:-100}
GROW_MIB=${GROW_MIB:-100}
GROW_S=${GROW_S:-8}   # the grow stage: /grow must be done (and its garbage collected) before the measured stage
OBJECT_BYTES=${OBJECT_BYTES:-256}
INTERVALS=${INTERVALS:-"off 2s 1s 500ms 200ms"}
PORT=${PORT:-16181}
TARGET=$ROOT/tests/target/bin/demo-target
mkdir -p "$OUT"

say() { echo "live_gc_cost: $*" >&2; }
[ -x "$BUILD/memstrain" ] || { say "no $BUILD/memstrain: make build first"; exit 1; }
[ -x "$TARGET" ] || "$ROOT/tests/go-build.sh" >&2

echo "load before: $(uptime)"
echo
echo "| pprof.live_interval | live readings | probe p50 | probe p99 | probe max | forced-GC request (median / max) | GC cycles/s | GC pause per cycle (mean) |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for iv in $INTERVALS; do
  plan=$OUT/plan-$iv.json
  base=http://127.0.0.1:$PORT
  pprof='{}'
  [ "$iv" = off ] || pprof="{\"live_interval\": \"$iv\"}"
  cat >"$plan" <<EOF
{"name": "live-gc-cost-$iv",
 "target": {"launch": {"command": ["$TARGET", "-addr", "127.0.0.1:$PORT"], "memory_limit": "1GiB", "ready_url": "$base/healthz"},
            "pprof_url": "$base/debug/pprof",
            "probe": {"name": "work", "url": "$base/work", "rate_per_s": $RATE, "timeout": "2s"}},
 "sampling": {"pprof_interval": "1s"},
 "pprof": $pprof,
 "stages": [{"name": "grow", "duration": "${GROW_S}s",
             "actions": [{"at": "0s", "url": "$base/grow?mib=$GROW_MIB&object_bytes=$OBJECT_BYTES", "timeout": "30s"}]},
            {"name": "measure", "duration": "${STAGE_S}s"}]}
EOF
  say "interval $iv"
  rm -rf "$OUT/run-$iv"
  "$BUILD/memstrain" run "$plan" --out "$OUT/run-$iv" >"$OUT/run-$iv.log" 2>&1 || say "run $iv exited $? (see $OUT/run-$iv.log)"
  python3 - "$OUT/run-$iv" "$iv" <<'PY'
import json, statistics, sys
out, iv = sys.argv[1], sys.argv[2]
r = json.load(open(out + "/report.json"))
st = [s for s in r["stages"] if s["name"] == "measure"][0]
c = st["latency"][0]["corrected"]
live, mem = [], []
for line in open(out + "/samples.jsonl"):
    j = json.loads(line)
    if j.get("stage") != "measure":
        continue
    if j["kind"] == "live_heap" and j.get("reading") == "interval":
        live.append(j["request_ms"])
    elif j["kind"] == "memstats":
        mem.append(j)
gc = pause = rate = None
if len(mem) >= 2:
    gc = mem[-1]["num_gc"] - mem[0]["num_gc"]
    pause = mem[-1]["pause_total_ns"] - mem[0]["pause_total_ns"]
    rate = gc / (mem[-1]["t"] - mem[0]["t"])
req = f"{statistics.median(live):.1f} / {max(live):.1f} ms" if live else "–"
# The heap profile's MemStats text has no PauseTotalNs, only the ring of the last 256 pauses, so a
# pause total is exact only while NumGC <= 256.
pp = f"{pause / gc / 1e3:.0f} µs" if gc and mem[-1]["num_gc"] <= 256 else ("n/a (>256 GCs)" if gc else "–")
print(f"| {iv} | {len(live)} | {c['p50_ms']:.2f} ms | {c['p99_ms']:.2f} ms | {c['max_ms']:.2f} ms | {req} | "
      f"{rate:.2f} | {pp} |" if rate is not None else f"| {iv} | {len(live)} | {c['p99_ms']:.2f} ms | – | – | – | – | – |")
PY
done
echo
echo "load after: $(uptime)"
echo
echo "Target: demo-target holding ${GROW_MIB} MiB of ${OBJECT_BYTES}-byte objects, probe GET /work at ${RATE}/s, ${STAGE_S} s measured per interval."
