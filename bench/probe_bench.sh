#!/usr/bin/env bash
# Latency probe benchmark (issue 4): memstrain's open-loop probe at 1000 req/s against a local
# delay server, compared in the same run, on the same server, with Debian's wrk (closed loop) and
# hey (closed loop per worker, rate-limited). Then the same tools across a 1 s server stall, to show
# where the coordinated-omission correction changes p99.
#
#   bench/probe_bench.sh [BUILD_DIR]   # 3 x 60 s steady + 4 x 20 s stall runs, about 6 minutes
#   STEADY_S=5 STALL_RUN_S=6 FLOOR_S=3 bench/probe_bench.sh   # quick smoke run
#
# Needs: g++, libcurl dev files, python3, wrk and hey (apt-get install wrk hey). Traffic goes to
# 127.0.0.1 only. Writes raw outputs and the tables to bench/out/ (git-ignored); prints the tables.
# Builds memstrain_core with cmake in BUILD_DIR (argument, as bench/run-all.sh passes it, relative to
# the repository root; else $BUILD; else build-latency), -j2; if that build is broken
# (someone else's half-written file), compiles the few sources the driver needs directly instead.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-${BUILD:-build-latency}}
[[ $BUILD = /* ]] || BUILD=$ROOT/$BUILD
OUT=$ROOT/bench/out
STEADY_S=${STEADY_S:-60}
STALL_RUN_S=${STALL_RUN_S:-20}
STALL_AT_S=$((STALL_RUN_S / 2))
FLOOR_S=${FLOOR_S:-20}
RATE=${RATE:-1000}
DELAY_US=${DELAY_US:-1000:3000}  # server delay, uniform; true p50 2.0 ms, p90 2.8 ms, p99 2.98 ms
CONNS=10                         # wrk connections / hey workers
mkdir -p "$OUT"

for tool in g++ python3 wrk hey; do
  command -v "$tool" >/dev/null || { echo "probe_bench: $tool not found (apt-get install wrk hey)" >&2; exit 1; }
done

# --- build -------------------------------------------------------------------------------------
CXXFLAGS=(-std=c++20 -O2 -g -I"$ROOT/include" -I"$ROOT/tests")
if [ ! -f "$BUILD/CMakeCache.txt" ]; then cmake -S "$ROOT" -B "$BUILD" >/dev/null; fi
if cmake --build "$BUILD" --target memstrain_core -j2 >"$OUT/build.log" 2>&1 && [ -f "$BUILD/libmemstrain_core.a" ]; then
  CORE=("$BUILD/libmemstrain_core.a")
  echo "probe_bench: linking against $BUILD/libmemstrain_core.a" >&2
else
  echo "probe_bench: memstrain_core does not build right now (see $OUT/build.log); compiling the probe's sources directly" >&2
  CORE=("$ROOT/src/observers/latency_probe.cpp" "$ROOT/src/model/histogram.cpp" "$ROOT/src/util/text.cpp" "$ROOT/src/util/result.cpp")
fi
g++ "${CXXFLAGS[@]}" "$ROOT/bench/probe_driver.cpp" "${CORE[@]}" -lcurl -pthread -o "$OUT/probe_driver"
g++ "${CXXFLAGS[@]}" "$ROOT/bench/timer_floor.cpp" -o "$OUT/timer_floor"
g++ "${CXXFLAGS[@]}" "$ROOT/bench/delay_server.cpp" "$ROOT/tests/support/delay_server.cpp" \
  "$ROOT/src/util/text.cpp" "$ROOT/src/util/result.cpp" -pthread -o "$OUT/delay_server"

# --- server --------------------------------------------------------------------------------------
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
}
trap cleanup EXIT
"$OUT/delay_server" --delay-us "$DELAY_US" --stall-ms 1000 >"$OUT/server.out" 2>"$OUT/server.err" &
SERVER_PID=$!
for _ in $(seq 50); do grep -q listening "$OUT/server.out" 2>/dev/null && break; sleep 0.1; done
PORT=$(awk '/listening/ {print $2}' "$OUT/server.out")
[ -n "$PORT" ] || { echo "probe_bench: delay server did not start" >&2; exit 1; }
URL="http://127.0.0.1:$PORT/"
echo "probe_bench: server pid $SERVER_PID on $URL, delay ${DELAY_US} us" >&2

# wrk has no rate option (that is wrk2): pace each of its connections with a think time so that
# CONNS connections x (think + ~2 ms response) ~ RATE. It stays closed loop: a connection never
# sends before its previous response arrived.
THINK_MS=$(( CONNS * 1000 / RATE - 2 ))
[ "$THINK_MS" -ge 0 ] || THINK_MS=0
printf 'function delay()\n  return %d\nend\n' "$THINK_MS" >"$OUT/pace.lua"
HEY_Q=$(( RATE / CONNS ))

# run NAME SECONDS STALL(0|1) CMD...: runs CMD with stdout in $OUT/NAME.out, its wall and CPU time
# (user+sys of the process tree, from bash's time) in $OUT/NAME.time; with STALL=1 the server
# freezes for 1 s STALL_AT_S seconds into the run.
run() {
  local name=$1 secs=$2 stall=$3; shift 3
  echo "probe_bench: $name (${secs}s)" >&2
  local stall_pid=
  if [ "$stall" = 1 ]; then (sleep "$STALL_AT_S"; kill -USR1 "$SERVER_PID") & stall_pid=$!; fi
  local TIMEFORMAT='%R %U %S'
  cut -d' ' -f1 /proc/loadavg >"$OUT/$name.load"  # other people's builds share the 2 cores: say so
  { time "$@" >"$OUT/$name.out" 2>"$OUT/$name.err"; } 2>"$OUT/$name.time"
  cut -d' ' -f1 /proc/loadavg >>"$OUT/$name.load"
  if [ -n "$stall_pid" ]; then wait "$stall_pid"; fi
  sleep 2  # let connections close and the server settle between tools
}

DRIVER=("$OUT/probe_driver" --url "$URL" --rate "$RATE" --timeout-ms 5000)

# The machine's own timer wake-up lateness, right before the probe runs (the probe's lag floor).
run timer_floor "$FLOOR_S" 0 "$OUT/timer_floor" "$FLOOR_S"

# Steady state, one tool after the other on the same server.
run steady_memstrain "$STEADY_S" 0 "${DRIVER[@]}" --duration-s "$STEADY_S" --name steady
run steady_wrk "$STEADY_S" 0 wrk -t1 -c"$CONNS" -d"${STEADY_S}s" --latency -s "$OUT/pace.lua" "$URL"
run steady_hey "$STEADY_S" 0 hey -z "${STEADY_S}s" -c "$CONNS" -q "$HEY_Q" "$URL"

# A 1 s stall halfway through each run.
run stall_memstrain "$STALL_RUN_S" 1 "${DRIVER[@]}" --duration-s "$STALL_RUN_S" --name stall
run stall_memstrain_c10 "$STALL_RUN_S" 1 "${DRIVER[@]}" --duration-s "$STALL_RUN_S" --name stall-c10 --concurrency "$CONNS"
run stall_wrk "$STALL_RUN_S" 1 wrk -t1 -c"$CONNS" -d"${STALL_RUN_S}s" --latency -s "$OUT/pace.lua" "$URL"
run stall_hey "$STALL_RUN_S" 1 hey -z "${STALL_RUN_S}s" -c "$CONNS" -q "$HEY_Q" "$URL"

cleanup
SERVER_PID=
cat "$OUT/server.err" >&2

# --- tables ----------------------------------------------------------------------------------------
python3 - "$OUT" "$RATE" "$DELAY_US" "$CONNS" "$THINK_MS" "$HEY_Q" "$STEADY_S" "$STALL_RUN_S" "$STALL_AT_S" "$FLOOR_S" \
  >"$OUT/probe_bench.md" <<'EOF'
import json, re, sys
out, rate, delay, conns, think, heyq, steady_s, stall_s, stall_at, floor_s = sys.argv[1:]

def times(name):
    wall, user, sys_ = (float(x) for x in open(f"{out}/{name}.time").read().split())
    return wall, user + sys_

def load(name):
    a, b = open(f"{out}/{name}.load").read().split()
    return f"{a}→{b}"

def unit_ms(v, u):
    return float(v) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[u]

def wrk(name):
    t = open(f"{out}/{name}.out").read()
    pct = {p: unit_ms(v, u) for p, v, u in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s|m)\s*$", t, re.M)}
    m = re.search(r"Latency\s+([\d.]+)(us|ms|s)\s+([\d.]+)(us|ms|s)\s+([\d.]+)(us|ms|s|m)", t)
    reqs = int(re.search(r"(\d+) requests in", t).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
    errs = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
    return dict(p50=pct.get("50"), p90=pct.get("90"), p99=pct.get("99"), p999=None,
                max=unit_ms(m.group(5), m.group(6)), n=reqs, rps=rps, errors=int(errs.group(1)) if errs else 0)

def hey(name):
    t = open(f"{out}/{name}.out").read()
    pct = {p: float(v) * 1e3 for p, v in re.findall(r"^\s+(\d+)%+ in ([\d.]+) secs", t, re.M)}
    mx = float(re.search(r"Slowest:\s+([\d.]+) secs", t).group(1)) * 1e3
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
    codes = re.findall(r"\[(\d+)\]\s+(\d+) responses", t)
    n = sum(int(c) for _, c in codes)
    errors = sum(int(c) for s, c in codes if not s.startswith("2"))
    errors += sum(int(c) for c in re.findall(r"^\s+\[(\d+)\]\s+Get", t, re.M))
    return dict(p50=pct.get("50"), p90=pct.get("90"), p99=pct.get("99"), p999=None, max=mx, n=n, rps=rps,
                errors=errors)

def mem(name, which):
    j = json.loads(open(f"{out}/{name}.out").read())
    h = j[which]
    errs = sum(j["errors"].values())
    return dict(p50=h["p50"], p90=h["p90"], p99=h["p99"], p999=h["p999"], max=h["max"], n=j["completed"],
                rps=j["achieved_rate"], errors=errs, missed=j["missed"], lag=j["sched_lag_ms"], j=j)

def f(v, nd=2):
    return "–" if v is None else f"{v:.{nd}f}"

print(f"### Probe benchmark: {rate} req/s, server delay uniform {delay} µs, 2-core machine\n")
print(f"Steady state, {steady_s} s per tool, one after the other against the same loopback server. "
      f"wrk: `-t1 -c{conns}`, closed loop paced by a {think} ms think time (Debian's wrk has no rate option); "
      f"hey: `-c {conns} -q {heyq}` (closed loop per worker, rate-limited). CPU is user+sys of the client "
      f"process over its wall time, in % of one core.\n")
print("| tool | model | achieved req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | errors | CPU % of a core | load avg 1m (start→end) |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
m = mem("steady_memstrain", "corrected_ms"); mu = mem("steady_memstrain", "uncorrected_ms")
wall, cpu = times("steady_memstrain")
print(f"| memstrain probe (corrected) | open loop, 1 thread | {m['rps']:.1f} | {f(m['p50'])} | {f(m['p90'])} | {f(m['p99'])} | {f(m['p999'])} | {f(m['max'])} | {m['errors']} (missed {m['missed']}) | {100*cpu/wall:.1f} | {load('steady_memstrain')} |")
print(f"| memstrain probe (uncorrected) | same run | | {f(mu['p50'])} | {f(mu['p90'])} | {f(mu['p99'])} | {f(mu['p999'])} | {f(mu['max'])} | | | |")
for name, label, model, parse in (("steady_wrk", "wrk 4.1.0", "closed loop", wrk), ("steady_hey", "hey 0.1.4", "closed loop, -q", hey)):
    r = parse(name); wall, cpu = times(name)
    print(f"| {label} | {model} | {r['rps']:.1f} | {f(r['p50'])} | {f(r['p90'])} | {f(r['p99'])} | – | {f(r['max'])} | {r['errors']} | {100*cpu/wall:.1f} | {load(name)} |")
lag = m["lag"]; j = m["j"]
print(f"\nmemstrain probe scheduling lag (actual − intended send): p50 {lag['p50']*1e3:.0f} µs, p90 {lag['p90']*1e3:.0f} µs, "
      f"**p99 {lag['p99']*1e3:.0f} µs**, p99.9 {lag['p999']*1e3:.0f} µs, max {lag['max']:.2f} ms (goal: p99 ≤ 1 ms). "
      f"Probe thread CPU {100*j['probe_thread_cpu_s']/j['wall_s']:.1f}% of a core, whole driver process "
      f"{j['process_cpu_pct_of_core']:.1f}% by getrusage (goal ≤ 15%). Sent {j['sent']}, missed {j['missed']}, "
      f"errors {sum(j['errors'].values())}.")
tf = json.loads(open(f"{out}/timer_floor.out").read())
print(f"For reference, the machine's floor measured just before (a thread doing nothing but sleep to each 1 ms "
      f"deadline, {floor_s} s): lateness p50 {tf['p50_us']:.0f} µs, p90 {tf['p90_us']:.0f} µs, p99 {tf['p99_us']:.0f} µs, "
      f"p99.9 {tf['p999_us']:.0f} µs, max {tf['max_us']/1e3:.2f} ms.\n")

print(f"### Across a 1 s server stall ({stall_s} s runs, stall at {stall_at} s)\n")
print("| tool | model | requests | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms |")
print("|---|---|---|---|---|---|---|---|")
for name, label in (("stall_memstrain", f"memstrain probe, no concurrency cap"),
                    ("stall_memstrain_c10", f"memstrain probe, concurrency {conns}")):
    for which, tag in (("corrected_ms", "corrected"), ("uncorrected_ms", "uncorrected")):
        r = mem(name, which)
        extra = f" (missed {r['missed']})" if which == "corrected_ms" and r["missed"] else ""
        print(f"| {label} | {tag} | {r['n']}{extra} | {f(r['p50'])} | {f(r['p90'])} | {f(r['p99'])} | {f(r['p999'])} | {f(r['max'])} |")
for name, label, parse in (("stall_wrk", f"wrk -c{conns} (paced)", wrk), ("stall_hey", f"hey -c {conns} -q {heyq}", hey)):
    r = parse(name)
    print(f"| {label} | closed loop | {r['n']} | {f(r['p50'])} | {f(r['p90'])} | {f(r['p99'])} | – | {f(r['max'])} |")
EOF
cat "$OUT/probe_bench.md"
