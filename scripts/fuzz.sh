#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/*_fuzz.cpp) with clang and runs each for a while.
#
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET [BUILD_DIR]]     (defaults: 300, build-fuzz)
#        FUZZ_TARGETS="plan_parse_fuzz units_fuzz" scripts/fuzz.sh 60   # only these
#        FUZZ_JOBS=1 scripts/fuzz.sh 10                                   # build parallelism (default 2)
#
# Each target starts from its committed seeds in fuzz/corpus/<target>/, read-only: libFuzzer writes
# what it discovers to BUILD_DIR/fuzz-work/<target>/corpus (kept between runs, so longer runs build
# on shorter ones) and a crashing input to BUILD_DIR/fuzz-work/<target>/artifacts/.
# Prints one line per target and exits 1 if any target crashed, leaked, timed out or ran out of
# memory; 2 on a usage or build error.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECONDS_PER_TARGET="${1:-300}"
BUILD_DIR="${2:-$REPO/build-fuzz}"
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR="$PWD/$BUILD_DIR" ;; esac
if ! [[ "$SECONDS_PER_TARGET" =~ ^[1-9][0-9]*$ ]] || [ "$#" -gt 2 ]; then
  echo "usage: $0 [SECONDS_PER_TARGET [BUILD_DIR]]" >&2
  exit 2
fi

# clang and its runtime libraries (libFuzzer, ASan, UBSan) are not part of the normal build's deps.
"$REPO/scripts/install-deps.sh" clang libclang-rt-dev

export CC="${CC:-clang}" CXX="${CXX:-clang++}"
mkdir -p "$BUILD_DIR"
if ! cmake -S "$REPO" -B "$BUILD_DIR" -DMEMSTRAIN_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$BUILD_DIR/configure.log" 2>&1; then
  cat "$BUILD_DIR/configure.log" >&2
  echo "fuzz: configuring $BUILD_DIR failed" >&2
  exit 2
fi
if ! cmake --build "$BUILD_DIR" -j"${FUZZ_JOBS:-2}" >"$BUILD_DIR/build.log" 2>&1; then
  tail -n 40 "$BUILD_DIR/build.log" >&2
  echo "fuzz: building the fuzz targets in $BUILD_DIR failed" >&2
  exit 2
fi

if [ -n "${FUZZ_TARGETS:-}" ]; then
  read -r -a targets <<<"$FUZZ_TARGETS"
else
  targets=()
  for src in "$REPO"/fuzz/*_fuzz.cpp; do
    targets+=("$(basename "$src" .cpp)")
  done
fi

failed=0
summary=()
for t in "${targets[@]}"; do
  bin="$BUILD_DIR/$t"
  if [ ! -x "$bin" ]; then
    summary+=("fuzz: $t: NOT BUILT ($bin missing)")
    failed=1
    continue
  fi
  work="$BUILD_DIR/fuzz-work/$t"
  mkdir -p "$work/corpus" "$work/artifacts"
  log="$work/last-run.log"
  seeds=()
  [ -d "$REPO/fuzz/corpus/$t" ] && seeds=("$REPO/fuzz/corpus/$t")
  # The first corpus directory is where libFuzzer writes new inputs: the work copy, never the seeds.
  # -timeout: one input taking longer than 10 s is a hang; -rss_limit_mb bounds a leak or a huge alloc.
  rc=0
  "$bin" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$work/corpus" "${seeds[@]}" >"$log" 2>&1 || rc=$?
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
  runs="${runs:-0}"
  if [ "$rc" -eq 0 ]; then
    summary+=("fuzz: $t: clean, $runs runs in ${SECONDS_PER_TARGET}s, $(find "$work/corpus" -type f | wc -l) inputs in its work corpus")
  else
    failed=1
    crash="$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)"
    what="$(grep -m1 -oE '(ERROR: |runtime error: |deadly signal|timeout after|out-of-memory).*' "$log" | cut -c1-160 || true)"
    summary+=("fuzz: $t: CRASH (exit $rc) after $runs runs: ${what:-see log}; input: ${crash:-none written}; log: $log")
    # Show the report itself; the stack is what a bug report needs.
    echo "----- $t: $log (last 60 lines) -----" >&2
    tail -n 60 "$log" >&2
  fi
done

printf '%s\n' "${summary[@]}"
if [ "$failed" -ne 0 ]; then
  echo "fuzz: a target failed; reproduce with BUILD_DIR/<target> INPUT" >&2
  exit 1
fi
