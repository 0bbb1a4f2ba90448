#!/usr/bin/env bash
# Builds memstrain with AddressSanitizer + UBSan (-DMEMSTRAIN_SANITIZE=ON, its own build directory)
# and runs the C++ test suite under it: the unit tests, the integration tests, the memstrain
# binary they run, and the stressor it forks (`memstrain __stressor`). The Go targets are not
# instrumented.
#
# Usage: scripts/test-asan.sh [CTEST_ARGS...]        (default: the whole ctest suite)
#        scripts/test-asan.sh -L unit                 only the unit tests
#        BUILD=build-asan JOBS=2 scripts/test-asan.sh (the defaults)
#
# Every sanitizer report goes to a file under BUILD/sanitizer-logs/ (log_path), whichever process
# wrote it: a report from a child whose exit status a test does not look at (a forked helper, the
# stressor) still fails the run. The script prints each report and exits 1 when there is one, or
# when ctest failed; 2 on a configure or build error.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${BUILD:-build-asan}"
case "$BUILD" in /*) ;; *) BUILD="$REPO/$BUILD" ;; esac
JOBS="${JOBS:-2}"

if ! cmake -S "$REPO" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMEMSTRAIN_SANITIZE=ON ${CMAKE_FLAGS:-} \
    >"$BUILD.configure.log" 2>&1; then
  cat "$BUILD.configure.log" >&2
  echo "test-asan: configuring $BUILD failed" >&2
  exit 2
fi
rm -f "$BUILD.configure.log"
if ! cmake --build "$BUILD" -j"$JOBS"; then
  echo "test-asan: building $BUILD failed" >&2
  exit 2
fi

logs="$BUILD/sanitizer-logs"
rm -rf "$logs"
mkdir -p "$logs"
# detect_leaks: LeakSanitizer at every instrumented process's exit (it needs ptrace-free
#   StopTheWorld, which works as root here; see README "Sanitizers").
# halt_on_error / -fno-sanitize-recover: the first report ends the process.
# quarantine_size_mb: freed memory ASan holds back (256 MiB by default) counts against the cgroup
#   limit of the process that freed it; 16 MiB keeps use-after-free detection without that skew.
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:quarantine_size_mb=16:check_initialization_order=1:log_path=$logs/asan${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$logs/ubsan${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export LSAN_OPTIONS="log_path=$logs/lsan${LSAN_OPTIONS:+:$LSAN_OPTIONS}"

rc=0
(cd "$BUILD" && ctest --output-on-failure --timeout 600 -j2 "$@") || rc=$?

reports=("$logs"/*)
if [ -e "${reports[0]}" ]; then
  for f in "${reports[@]}"; do
    echo "----- sanitizer report: $f -----" >&2
    cat "$f" >&2
  done
  echo "test-asan: ${#reports[@]} sanitizer report(s) in $logs" >&2
  exit 1
fi
if [ "$rc" -ne 0 ]; then
  echo "test-asan: ctest failed (exit $rc); no sanitizer reports" >&2
  exit 1
fi
echo "test-asan: no sanitizer reports"
