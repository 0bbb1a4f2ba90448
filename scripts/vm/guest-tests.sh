#!/bin/bash
# The job `make test-cgroup2` runs inside the cgroup v2 guest (scripts/vm/test-cgroup2.sh copies it
# into the result share with its settings in job.env). One boot, one pass per THP mode: before each
# pass it writes the mode into /sys/kernel/mm/transparent_hugepage/enabled (a running kernel takes
# it for new mappings: every run starts its own target and stressor), then runs that pass's gtest
# filter of the integration tests from the host's build tree (read-only here) with their output on
# the guest's tmpfs, then plans/demo.json when asked. Per pass it writes into the share, under
# <thp>/: thp (the mode as the kernel reports it), gtest.xml, tests.log, demo/ and demo.log; and
# sanitizer reports (an ASan build) under sanitizer-logs/.
set -u
set -f   # the gtest filters in PASSES hold `*`
R=/run/vm-results
source "$R/job.env"   # REPO, BUILD, PASSES (thp=FILTER, ...), KILL_TRIALS, RUN_DEMO, HOST_FILL_MS
export MEMSTRAIN_KILL_TRIALS="$KILL_TRIALS"
# This kernel is thrown away after the run: tests may change what is global to it and restore it
# (CgroupV2NamespaceTest resets the cgroup2 hierarchy's options node-wide to show that a bare mount
# does, then puts them back).
export MEMSTRAIN_TEST_THROWAWAY_KERNEL=1
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
[[ -n "${FORCE_SCALE:-}" ]] && scale=$FORCE_SCALE
export MEMSTRAIN_TEST_TIME_SCALE=$scale
echo "guest-tests: fills 256 MiB in ${GUEST_FILL_MS} ms (host ${HOST_FILL_MS} ms): stages stretch x$scale" | tee "$R/time-scale"

rc=0
# The demo plan with its probe rate, latency limits and timeouts scaled for the emulator
# (scripts/vm/guest-demo-plan.py says why; the host runs plans/demo.json as it is).
if [[ "$RUN_DEMO" == 1 ]]; then
  python3 "$REPO/scripts/vm/guest-demo-plan.py" "$scale" "$REPO/plans/demo.json" /tmp/demo-guest.json || rc=1
  cp /tmp/demo-guest.json "$R/demo-guest.json"
fi

THP=/sys/kernel/mm/transparent_hugepage
for pass in $PASSES; do
  thp="${pass%%=*}"
  filter="${pass#*=}"
  out="$R/$thp"
  mkdir -p "$out"
  if ! echo "$thp" > "$THP/enabled"; then
    echo "guest-tests: cannot set THP $thp" | tee "$out/error"
    rc=1
    continue
  fi
  echo "enabled: $(cat "$THP/enabled"); defrag: $(cat "$THP/defrag")" > "$out/thp"
  echo "guest-tests: $(date -u +%T) THP $thp ($(cat "$out/thp")): integration tests, filter $filter"
  pass_rc=0
  if [[ -n "$filter" && "$filter" != - ]]; then
    start=$(date +%s)
    mkdir -p "/tmp/tests-$thp" && cd "/tmp/tests-$thp"
    timeout --kill-after=20 "${TESTS_TIMEOUT:-1500}" "$BUILD/memstrain_integration_tests" --gtest_filter="$filter" \
      --gtest_output="xml:$out/gtest.xml" --gtest_repeat="${REPEAT:-1}" > "$out/tests.log" 2>&1 || pass_rc=$?
    grep -E '^\[ *(OK|FAILED|SKIPPED|PASSED) *\]|tests ran|\[figures\]' "$out/tests.log" | sed 's/^/  /'
    echo "guest-tests: THP $thp: integration tests exit $pass_rc in $(( $(date +%s) - start )) s"
  fi
  if [[ "$RUN_DEMO" == 1 ]]; then
    echo "guest-tests: $(date -u +%T) THP $thp: plans/demo.json"
    cd "$REPO"
    demo_rc=0
    timeout --kill-after=20 400 "$BUILD/memstrain" run /tmp/demo-guest.json --out "$out/demo" -q > "$out/demo.log" 2>&1 || demo_rc=$?
    tail -n 14 "$out/demo.log" | sed 's/^/  /'
    echo "guest-tests: THP $thp: demo exit $demo_rc"
    [[ $demo_rc -eq 0 ]] || pass_rc=1
  fi
  [[ $pass_rc -eq 0 ]] || rc=1
done
exit "$rc"
