#!/usr/bin/env bash
# Hold cost with a moving target (issue 19, item 2): memstrain holds 80% of a 512 MiB limit while the
# demo target grows by 96 MiB and drops it again every 3 s. For each run: the CPU of all memstrain
# processes in the hold stage (controller + stressor, from report.json's per-stage accounting), the
# bytes the stressor faulted in again while holding (stages[].fill.bytes of the hold: the churn),
# and the precision (mean |setpoint error|, highest usage vs limit - margin).
# With BEFORE=/path/to/other/memstrain the two binaries alternate, RUNS times each (same run, same
# target movement), so a change to the hold can be compared on a shared machine. Then the peer:
# stress-ng holding the same level beside the same moving target (below; PEER=0 leaves it out).
# With HYSTERESIS="default 2% 4%" each binary holds once per value of the hold's pressure.hysteresis
# ("default": the plan leaves it out), alternating, so its CPU / precision trade-off is measured in
# one run.
# Usage: bench/hold_bench.sh [BUILD_DIR]   (root; run it under /work/tools/isolate: it uses port 16071).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
after=$(realpath "$build/memstrain")
before=${BEFORE:-}
runs=${RUNS:-3}
hold_s=${HOLD_S:-45}
[[ -x tests/target/bin/demo-target ]] || { echo "hold_bench: build the demo target first (tests/go-build.sh)" >&2; exit 1; }
work=$(mktemp -d /tmp/memstrain-hold-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
variants=(${HYSTERESIS:-default})
for h in "${variants[@]}"; do
  extra=""
  [[ $h != default ]] && extra=", \"hysteresis\": \"$h\""
  cat >"$work/hold-${h%\%}.json" <<JSON
{"name": "bench-hold-moving",
 "target": {"launch": {"command": ["tests/target/bin/demo-target", "-addr", "127.0.0.1:16071"],
                       "env": {"GODEBUG": "madvdontneed=1"}, "memory_limit": "512MiB",
                       "ready_url": "http://127.0.0.1:16071/healthz"}},
 "stages": [{"name": "ramp", "duration": "6s", "pressure": {"level": "80%", "ramp": "5s"}},
            {"name": "hold", "duration": "${hold_s}s", "pressure": {"level": "80%"$extra}}]}
JSON
done

move_target() { # the target grows by 96 MiB and drops it again every 3 s, through the hold
  local end=$((SECONDS + hold_s - 2))
  while ((SECONDS < end)); do
    curl -s -m 5 -X POST "http://127.0.0.1:16071/grow?mib=96" >/dev/null || true
    sleep 3
    curl -s -m 5 -X POST "http://127.0.0.1:16071/drop" >/dev/null || true
    sleep 3
  done
}

one() { # one BINARY OUT PLAN: a run with the target moving through the hold
  "$1" run "$3" --out "$2" --cgroup-parent /memstrain-bench -q >"$2.log" 2>&1 &
  local runner=$!
  sleep 7 # ready and ramped: the hold has started
  move_target
  wait $runner || true
  [[ -f $2/report.json ]] || { echo "hold_bench: run failed:" >&2; cat "$2.log" >&2; return 1; }
}

rows=()
for ((i = 1; i <= runs; i++)); do
  for h in "${variants[@]}"; do
    for tag in before after; do
      [[ $tag == before && -z $before ]] && continue
      bin=$after
      [[ $tag == before ]] && bin=$before
      label=$tag
      ((${#variants[@]} > 1)) && label="$tag,hysteresis=$h"
      one "$bin" "$work/$tag-${h%\%}-$i" "$work/hold-${h%\%}.json"
      rows+=("$label $work/$tag-${h%\%}-$i")
    done
  done
done
# The peer, same target movement: stress-ng holding the same 80% of a 512 MiB cgroup that the target
# shares (the size taken once, at the start: stress-ng has no setpoint), with its default method
# (re-writes its pages) and with --vm-hang 0 (touches them once, then sleeps). CPU of stress-ng and
# its workers (GNU time), the cgroup's highest usage and its OOM kills. PEER=0 leaves it out.
peer_rows=()
peer() { # peer LABEL STRESS-NG-ARGS...
  local label=$1 cg=/sys/fs/cgroup/memory/memstrain-bench/peer-hold tpid spid usage bytes
  shift
  mkdir -p "$cg"
  echo $((512 << 20)) >"$cg/memory.limit_in_bytes"
  GODEBUG=madvdontneed=1 tests/target/bin/demo-target -addr 127.0.0.1:16071 >/dev/null 2>&1 &
  tpid=$!
  echo $tpid >"$cg/cgroup.procs"
  for _ in $(seq 100); do curl -s -m 1 http://127.0.0.1:16071/healthz >/dev/null && break; sleep 0.1; done
  usage=$(cat "$cg/memory.usage_in_bytes")
  bytes=$(((512 << 20) * 8 / 10 - usage))
  sh -c 'echo $$ >"$1/cgroup.procs"; shift; exec /usr/bin/time -f "%U %S" -o "$0" "$@"' "$work/peer-time" "$cg" \
    stress-ng --vm 1 --vm-bytes "$bytes" --vm-keep "$@" --timeout $((hold_s + 6))s >"$work/peer.log" 2>&1 &
  spid=$!
  sleep 6 # populated
  echo 0 >"$cg/memory.max_usage_in_bytes"
  move_target
  wait $spid || true
  peer_rows+=("$label|$(cat "$work/peer-time")|$(cat "$cg/memory.max_usage_in_bytes")|$(awk '/oom_kill /{print $2}' "$cg/memory.oom_control")|$bytes")
  kill $tpid 2>/dev/null || true
  wait $tpid 2>/dev/null || true
  rmdir "$cg" /sys/fs/cgroup/memory/memstrain-bench 2>/dev/null || true
}
if [[ ${PEER:-1} != 0 && -d /sys/fs/cgroup/memory ]]; then
  peer "stress-ng --vm 1 --vm-keep (re-writes)"
  peer "stress-ng --vm 1 --vm-keep --vm-hang 0 (touches once)" --vm-hang 0
fi
load=$(uptime | sed 's/.*load average: //')
python3 - "$hold_s" "$load" "${rows[@]}" <<'PY'
import json, sys
hold_s, load, rows = float(sys.argv[1]), sys.argv[2], sys.argv[3:]
print(f"| run | binary | CPU s in the {hold_s:.0f} s hold (controller + stressor) | % of a core | retaken MiB | mean abs error % of limit | max usage vs limit - margin MiB |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for k, row in enumerate(rows):
    tag, out = row.split(" ", 1)
    r = json.load(open(out + "/report.json"))
    st = [s for s in r["stages"] if s["name"] == "hold"][0]
    cpu = st["cpu_s"]
    c, s_ = cpu.get("controller") or 0.0, cpu.get("stressor") or 0.0
    dur = st["end_s"] - st["start_s"] if "end_s" in st else hold_s
    fill = st.get("fill") or {}
    usage = [json.loads(l)["measured_usage_bytes"] for l in open(out + "/samples.jsonl") if json.loads(l)["stage"] == "hold"]
    limit, margin = r["cgroup"]["effective_limit_bytes"], r["cgroup"]["safety_margin_bytes"]
    e = st["setpoint_error"]["mean_abs_fraction_of_limit"] * 100
    print(f"| {k + 1} | {tag} | {c:.3f} + {s_:.3f} = {c + s_:.3f} | {(c + s_) / dur * 100:.2f}% | {fill.get('bytes', 0) / 2**20:.0f} | "
          f"{e:.2f} | {max(usage) / 2**20:.0f} vs {(limit - margin) / 2**20:.0f} |")
print()
print(f"Load average at the end (1/5/15 min): {load}.")
PY
if ((${#peer_rows[@]})); then
  echo
  echo "| peer, same target movement, ${hold_s} s | holds | CPU s (user + sys) over populate and hold | % of a core | max usage vs limit MiB | OOM kills |"
  echo "| --- | --- | --- | --- | --- | --- |"
  for row in "${peer_rows[@]}"; do
    IFS='|' read -r label times maxu ooms bytes <<<"$row"
    read -r u s <<<"$times"
    awk -v l="$label" -v u="$u" -v s="$s" -v m="$maxu" -v o="$ooms" -v b="$bytes" -v h="$hold_s" \
      'BEGIN { printf "| %s | %.0f MiB | %.2f + %.2f = %.2f | %.2f%% | %.0f vs 512 | %s |\n", l, b / 1048576, u, s, u + s, (u + s) / (h + 6) * 100, m / 1048576, o }'
  done
fi
