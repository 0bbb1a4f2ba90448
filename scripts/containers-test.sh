#!/usr/bin/env bash
# The real-runtime tier: memstrain against containers that podman and runc start, and the shipped
# Job (k8s/job.yaml) run as a node's runtime runs it (tests/containers/, Python unittest).
#
# Usage: scripts/containers-test.sh [unittest names...]     (default: every test_*.py module)
#        MEMSTRAIN_BINARY=build-asan/memstrain scripts/containers-test.sh test_job.Recover
#
# Runs as root. Installs what it needs from Debian when missing (podman, runc, python3-yaml).
# Exits 77 (ctest's "skipped") with the reason printed when the runtimes cannot run here. podman
# uses tests/containers/containers.conf (CONTAINERS_CONF) and its own storage under a scratch
# directory; runc its own state directory; containers at kubelet paths live below the cgroup
# /memstrain-ctr-test-<pid>. All of it is removed on exit, whatever happened.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SKIP=77
skip() {
  echo "containers: SKIPPED: $*"
  exit "$SKIP"
}

[[ $(id -u) == 0 ]] || skip "not root: podman and runc need root to start containers and place them in cgroups"
"$REPO/scripts/install-deps.sh" podman runc python3-yaml >&2 || skip "could not install podman, runc and python3-yaml"

export MEMSTRAIN_BINARY=${MEMSTRAIN_BINARY:-$REPO/build/memstrain}
[[ $MEMSTRAIN_BINARY == /* ]] || MEMSTRAIN_BINARY=$REPO/$MEMSTRAIN_BINARY
[[ -x $MEMSTRAIN_BINARY ]] || { echo "containers: $MEMSTRAIN_BINARY is not built (make build)" >&2; exit 1; }
export MEMSTRAIN_DEMO_TARGET=${MEMSTRAIN_DEMO_TARGET:-$REPO/tests/target/bin/demo-target}
[[ -x $MEMSTRAIN_DEMO_TARGET ]] || "$REPO/tests/go-build.sh" >&2

export CONTAINERS_CONF=$REPO/tests/containers/containers.conf
STATE=$(mktemp -d /var/tmp/memstrain-ctr-XXXXXX)
export MEMSTRAIN_CTR_STATE=$STATE MEMSTRAIN_CTR_CGROUP=/memstrain-ctr-test-$$
PODMAN=(podman --root "$STATE/podman/storage" --runroot "$STATE/podman/run" --tmpdir "$STATE/podman/tmp")

# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  local id m
  if [[ -d $STATE/runc ]]; then
    for id in $(runc --root "$STATE/runc" list -q 2>/dev/null); do runc --root "$STATE/runc" delete --force "$id" || true; done
  fi
  if [[ -d $STATE/podman ]]; then
    "${PODMAN[@]}" rm --all --force --time 0 >/dev/null 2>&1 || true
    "${PODMAN[@]}" rmi --all --force >/dev/null 2>&1 || true
    # containers/storage keeps its overlay directory as a private mount of its own.
    for m in $(findmnt -rn -o TARGET | grep "^$STATE/" | sort -r); do umount -l "$m" || true; done
  fi
  # The cgroup subtree of the runc containers, in every hierarchy, deepest first.
  for m in $(findmnt -rn -t cgroup,cgroup2 -o TARGET); do
    [[ -d $m$MEMSTRAIN_CTR_CGROUP ]] && find "$m$MEMSTRAIN_CTR_CGROUP" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  rm -rf "$STATE"
}
trap cleanup EXIT

# Can the runtimes run here at all? A skip says why; a failure later is a real failure.
why=$(runc --root "$STATE/runc" list 2>&1 >/dev/null) || skip "runc cannot run here: $why"
why=$("${PODMAN[@]}" info 2>&1 >/dev/null) || skip "podman cannot run here: ${why##*$'\n'}"

cd "$REPO/tests/containers"
if (($# == 0)); then
  for f in test_*.py; do set -- "$@" "${f%.py}"; done
fi
start=$SECONDS
rc=0
python3 -m unittest -v "$@" || rc=$?
echo "containers: $(basename "$MEMSTRAIN_BINARY") against podman $("${PODMAN[@]}" version --format '{{.Client.Version}}') and" \
  "$(runc --version | head -n 1), $((SECONDS - start)) s"
exit "$rc"
