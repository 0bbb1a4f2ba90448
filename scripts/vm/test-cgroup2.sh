#!/usr/bin/env bash
# `make test-cgroup2`: memstrain's real-cgroup integration tests on a real cgroup v2 memory
# controller, in a throwaway qemu guest (this host's memory controller is v1). The guest boots once
# (Debian's kernel, the host's root read-only over 9p: scripts/vm/boot.sh) and runs one pass per
# THP mode, switching /sys/kernel/mm/transparent_hugepage/enabled between passes; each pass runs its
# gtest filter and, in the full run, plans/demo.json. The tests write only to the guest's tmpfs and
# to BUILD/vm-results/, which keeps per mode (<thp>/) the logs, gtest.xml and the demo's report.
#
# Usage: scripts/vm/test-cgroup2.sh [--quick] BUILD    a built tree (memstrain, memstrain_integration_tests)
#        --quick: the subset `make test` runs (QUICK_ALWAYS under THP always, QUICK_MADVISE under madvise; no demo)
# Environment:
#   MEMSTRAIN_VM_THP="always madvise"   THP modes, one pass each, in this order
#   MEMSTRAIN_VM_TESTS=FILTER           gtest filter for every pass (default: the v2 subset below)
#   MEMSTRAIN_VM_DEMO=1|0               run plans/demo.json in every pass too (default 1; --quick 0)
#   MEMSTRAIN_VM_KILL_TRIALS=N          kill-test trials in the guest (default 3; --quick 1)
#   MEMSTRAIN_VM_TIME_SCALE=N           stretch the runs' stages by N instead of the measured factor
#   MEMSTRAIN_VM_REPEAT=N               run each pass's tests N times (gtest --gtest_repeat; default 1)
#   MEMSTRAIN_VM_REQUIRED=1             fail instead of skipping where qemu cannot run
#   MEMSTRAIN_VM_RESULTS=DIR            where the results go (default BUILD/vm-results)
#
# Exit 0 when every pass passed (or the guest cannot run here and MEMSTRAIN_VM_REQUIRED is unset:
# then it says so and skips), 1 when a test or the demo failed, 2 on a usage or guest error.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"

# The v2 subset: every test that needs a real memory controller and says something about v2
# (cgroup files, limits up the tree, memory.high, memory.events, PSI, memory.stat, cgroup.kill,
# clone3, cgroup namespaces and setns, release outcomes, node placement, locate in kubelet trees and
# namespaces, kill/recover, the spike fill's parallel populate and its giving back).
# Tests of parsing, HTTP, pprof and reports do not depend on the cgroup version and stay on the host.
DEFAULT_FILTER="Editors/CgroupRealTest.*:CgroupV2*.*:LocateRealTest.*:LocateSystemdRealTest.*:AttachRealTest.*"
DEFAULT_FILTER+=":RunTest.*:ReleaseRun.*:KillTest.*:SignalsTest.SecondSignal*:CloneIntoCgroup*.*:Threads/StressorFill.*"
# `make test` (--quick) boots once and runs two passes. Under TCG the cost is bytes touched (a page
# fault costs tens of times what it does natively: the guest filled memory 26x slower than this
# host at load 7), so the guest measures how much slower it fills memory than this host did just
# before boot and stretches the stages of the runs that must reach a setpoint or finish a /grow by
# that factor (MEMSTRAIN_TEST_TIME_SCALE, tests/support/run_fixture.hpp); what they assert stays a
# matter of bytes. THP `always` (the production default) runs the v2 behaviours (cgroup files,
# clone3, cgroup namespaces and setns, memory.high, cgroup.kill, OOM attribution, locate, node
# placement, kill/recover) and the release run under pressure (huge_pages_held or returned,
# comes_back); `madvise` the MADV_DONTNEED release run. The long runs (RampInside,
# Beside, the release run right after pressure, the no-trigger run), the latency-percentile test
# and the demo stay in `make test-cgroup2`.
QUICK_ALWAYS="Editors/CgroupRealTest.*:CgroupV2*.*:CloneIntoCgroup*.*:LocateRealTest.*:LocateSystemdRealTest.*:AttachRealTest.*"
QUICK_ALWAYS+=":KillTest.*:SignalsTest.SecondSignal*:RunTest.OverTheLimit*:RunTest.WithoutAllowOom*:RunTest.Sigterm*"
QUICK_ALWAYS+=":RunTest.TargetKilled*:RunTest.TargetOomKill*:ReleaseRun.UnderPressure*"
# Under madvise one release run: the release runs cost 2-3 min each in the guest at x10, and make
# test has a budget (measured: the three of them under both modes took 16.5 of the tier's 24 min).
# MadvFreeIsLazy and the rest run under both modes in `make test-cgroup2`.
QUICK_MADVISE="ReleaseRun.MadvDontNeedReturnsThePages"
quick=0
if [[ "${1:-}" == --quick ]]; then
  shift
  quick=1
  : "${MEMSTRAIN_VM_DEMO:=0}"
  : "${MEMSTRAIN_VM_KILL_TRIALS:=1}"
fi
FILTER="${MEMSTRAIN_VM_TESTS:-$DEFAULT_FILTER}"
BUILD="${1:?usage: test-cgroup2.sh [--quick] BUILD}"
case "$BUILD" in /*) ;; *) BUILD="$REPO/$BUILD" ;; esac

skip() {
  if [[ "${MEMSTRAIN_VM_REQUIRED:-0}" == 1 ]]; then
    echo "test-cgroup2: FAILED: $*" >&2
    exit 2
  fi
  echo "test-cgroup2: SKIPPED (the cgroup v2 suite did not run): $*" >&2
  exit 0
}

for f in memstrain memstrain_integration_tests; do
  [[ -x "$BUILD/$f" ]] || { echo "test-cgroup2: $BUILD/$f is missing: build it first (make build)" >&2; exit 2; }
done
[[ -x "$REPO/tests/target/bin/demo-target" ]] || { echo "test-cgroup2: the demo target is missing: make go" >&2; exit 2; }

# Debian's kernel, qemu, busybox and cpio. INITRD=No: the kernel package's hook would otherwise
# build an initramfs for this machine's boot, which the guest does not use (it has its own).
if ! INITRD=No "$REPO/scripts/install-deps.sh" qemu-system-x86 linux-image-amd64 busybox-static cpio kmod; then
  skip "could not install qemu-system-x86, linux-image-amd64, busybox-static, cpio (run as root)"
fi
if ! qemu-system-x86_64 --version > /dev/null 2>&1; then
  skip "qemu-system-x86_64 does not run here"
fi

# The host's speed at filling memory (256 MiB into tmpfs), for the guest's time scale.
fill_ms() {
  local f="$1/memstrain-fill.$$" t0 t1
  t0=$(date +%s%N)
  dd if=/dev/zero of="$f" bs=1M count=256 status=none
  t1=$(date +%s%N)
  rm -f "$f"
  echo $(( (t1 - t0) / 1000000 ))
}
HOST_FILL_MS=$(fill_ms /dev/shm)
echo "test-cgroup2: this host fills 256 MiB of tmpfs in ${HOST_FILL_MS} ms (load $(cut -d' ' -f1 /proc/loadavg))"

asan=""
grep -q '^MEMSTRAIN_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" 2>/dev/null && asan=1
out="${MEMSTRAIN_VM_RESULTS:-$BUILD/vm-results}"
rm -rf "$out"
mkdir -p "$out"
modes=(${MEMSTRAIN_VM_THP:-always madvise})
passes=""
for thp in "${modes[@]}"; do
  case "$thp" in always|madvise|never) ;; *) echo "test-cgroup2: MEMSTRAIN_VM_THP: always, madvise or never, got $thp" >&2; exit 2 ;; esac
  f="$FILTER"
  if [[ $quick == 1 && -z "${MEMSTRAIN_VM_TESTS:-}" ]]; then
    f="$QUICK_MADVISE"
    [[ "$thp" == always ]] && f="$QUICK_ALWAYS"
  fi
  passes+="$thp=$f "
done
cat > "$out/job.env" <<ENV
REPO=$REPO
BUILD=$BUILD
PASSES='$passes'
KILL_TRIALS=${MEMSTRAIN_VM_KILL_TRIALS:-3}
RUN_DEMO=${MEMSTRAIN_VM_DEMO:-1}
REPEAT=${MEMSTRAIN_VM_REPEAT:-1}
FORCE_SCALE=${MEMSTRAIN_VM_TIME_SCALE:-}
ASAN_BUILD=$asan
HOST_FILL_MS=$HOST_FILL_MS
ENV
echo "test-cgroup2: booting one cgroup v2 guest for THP ${modes[*]} (results in $out)"
start=$(date +%s)
"$HERE/boot.sh" --results "$out" --thp "${modes[0]}" --timeout "${MEMSTRAIN_VM_TIMEOUT:-2400}" "$HERE/guest-tests.sh"
rc=$?
secs=$(( $(date +%s) - start ))
[[ -f "$out/job.log" ]] && sed 's/^/  guest| /' "$out/job.log"
reports=("$out"/sanitizer-logs/*)
if [[ -e "${reports[0]}" ]]; then
  for f in "${reports[@]}"; do echo "----- sanitizer report from the guest: $f -----" >&2; cat "$f" >&2; done
  rc=1
fi
echo "test-cgroup2: cgroup v2 guest ($(cat "$out/accel" 2>/dev/null || echo '?'), $(grep -o '^kernel [^,]*' "$out/guest-info" 2>/dev/null), $(cat "$out/time-scale" 2>/dev/null | grep -o 'x[0-9]*$' || echo '?') time scale) ran ${secs} s; logs in $out:"
for thp in "${modes[@]}"; do
  res="$out/$thp"
  counts="no gtest.xml"
  if [[ -f "$res/gtest.xml" ]]; then
    counts=$(python3 - "$res/gtest.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
passed = failed = skipped = 0
t = 0.0
for c in root.iter("testcase"):
    t += float(c.get("time") or 0)
    if c.find("failure") is not None: failed += 1
    elif c.get("result") == "skipped" or c.find("skipped") is not None: skipped += 1
    else: passed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped in {t:.0f} s")
PY
)
  fi
  demo="-"
  [[ -f "$res/demo.log" ]] && demo=$(grep -o 'verdict=[a-z]* checks=[0-9/]*' "$res/demo.log" | tail -1)
  echo "  THP $thp ($(cat "$res/thp" 2>/dev/null || echo 'not reached')): tests $counts; demo ${demo:-no verdict}"
done
if [[ $rc -ne 0 ]]; then
  # The failures' own messages last, where a CI log's tail shows them.
  for thp in "${modes[@]}"; do
    [[ -f "$out/$thp/gtest.xml" ]] || continue
    python3 - "$out/$thp/gtest.xml" "$thp" <<'PY' >&2
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
for c in root.iter("testcase"):
    for f in c.findall("failure"):
        text = (f.text or f.get("message") or "").strip()
        if len(text) > 3000: text = text[:3000] + " [...]"
        print(f"test-cgroup2: THP {sys.argv[2]}: {c.get('classname')}.{c.get('name')} failed:")
        for line in text.splitlines(): print("    " + line)
PY
  done
  echo "test-cgroup2: FAILED (exit $rc)" >&2
  [[ $rc -ge 124 ]] && exit 2
  exit 1
fi
exit 0
