#!/bin/bash
# The job `make test-cgroup2` runs inside the cgroup v2 guest (scripts/vm/test-cgroup2.sh copies it
# into the result share with its settings in job.env). It runs the v2 subset of the integration
# tests from the host's build tree (read-only here) with their output on the guest's tmpfs, then
# plans/demo.json, and writes into the share: gtest.xml, tests.log, demo/ (the run's report),
# demo.log, and sanitizer reports (an ASan build) under sanitizer-logs/.
set -u
R=/run/vm-results
source "$R/job.env"   # REPO, BUILD, FILTER, KILL_TRIALS, RUN_DEMO
export MEMSTRAIN_KILL_TRIALS="$KILL_TRIALS"
mkdir -p "$R/sanitizer-logs"
if [[ -n "${ASAN_BUILD:-}" ]]; then
  logs="$R/sanitizer-logs"
  export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:quarantine_size_mb=16:check_initialization_order=1:log_path=$logs/asan"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$logs/ubsan"
  export LSAN_OPTIONS="log_path=$logs/lsan"
fi

# How much slower than the host this guest fills memory: the runs' stages stretch by that factor
# (tests/support/run_fixture.hpp timeScale), between 1 and 10.
t0=$(date +%s%N)
dd if=/dev/zero of=/tmp/memstrain-fill bs=1M count=256 status=none
t1=$(date +%s%N)
rm -f /tmp/memstrain-fill
GUEST_FILL_MS=$(( (t1 - t0) / 1000000 ))
HOST_FILL_MS=${HOST_FILL_MS:-0}
scale=1
if (( HOST_FILL_MS > 0 )); then scale=$(( (GUEST_FILL_MS + HOST_FILL_MS - 1) / HOST_FILL_MS )); fi
(( scale < 1 )) && scale=1
(( scale > 10 )) && scale=10
export MEMSTRAIN_TEST_TIME_SCALE=$scale
echo "guest-tests: fills 256 MiB in ${GUEST_FILL_MS} ms (host ${HOST_FILL_MS} ms): stages stretch x$scale" | tee "$R/time-scale"

rc=0
echo "guest-tests: $(date -u +%T) integration tests, filter $FILTER"
mkdir -p /tmp/tests && cd /tmp/tests
timeout --kill-after=20 "${TESTS_TIMEOUT:-1500}" "$BUILD/memstrain_integration_tests" --gtest_filter="$FILTER" \
  --gtest_output="xml:$R/gtest.xml" > "$R/tests.log" 2>&1 || rc=$?
grep -E '^\[ *(OK|FAILED|SKIPPED|PASSED) *\]|tests ran' "$R/tests.log" | sed 's/^/  /'
echo "guest-tests: integration tests exit $rc"

if [[ "$RUN_DEMO" == 1 ]]; then
  echo "guest-tests: $(date -u +%T) plans/demo.json"
  cd "$REPO"
  demo_rc=0
  timeout --kill-after=20 300 "$BUILD/memstrain" run plans/demo.json --out "$R/demo" -q > "$R/demo.log" 2>&1 || demo_rc=$?
  tail -n 12 "$R/demo.log" | sed 's/^/  /'
  echo "guest-tests: demo exit $demo_rc"
  [[ $demo_rc -eq 0 ]] || rc=1
fi
exit "$rc"
