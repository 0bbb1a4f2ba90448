#!/usr/bin/env bash
# Offline checks of k8s/: every YAML parses and validates (Kubernetes OpenAPI schemas from the npm
# package kubernetes-models, Chaos Mesh CRDs from ../shared/schemas/chaos-mesh), the Dockerfile
# is linted, and the launcher script is tested against a fake kubectl. No cluster, no network
# except the npm registry on first use (dependencies go to tests/k8s/node_modules, pinned by
# tests/k8s/package-lock.json).
#
# Usage: scripts/k8s-validate.sh            (MEMSTRAIN_BINARY=path also runs `memstrain validate`
#                                            on the ConfigMap's plans; default build/memstrain)
# Ends with "N passed, N failed, N skipped"; exits non-zero when anything failed.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
TESTS=tests/k8s

fail() {
  echo "k8s-validate: $*" >&2
  echo "k8s-validate: 0 passed, 1 failed"
  exit 1
}

command -v node >/dev/null 2>&1 || fail "node is not installed (Node.js 20 or newer is needed)"
node_major=$(node -p 'process.versions.node.split(".")[0]')
((node_major >= 20)) || fail "Node.js $(node --version) is too old: 20 or newer is needed"

# Debian packages the checks use: jq (the launcher parses kubectl's JSON with it) and shellcheck.
missing=()
for tool in jq shellcheck; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
if ((${#missing[@]})); then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "k8s-validate: installing ${missing[*]}" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null ||
      { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; } ||
      fail "could not install ${missing[*]}"
  else
    command -v jq >/dev/null 2>&1 || fail "jq is missing (apt-get install jq)"
  fi
fi

if [[ ! -d $TESTS/node_modules || $TESTS/package-lock.json -nt $TESTS/node_modules ]]; then
  echo "k8s-validate: installing npm dependencies into $TESTS/node_modules" >&2
  npm ci --prefix "$TESTS" --no-audit --no-fund --loglevel=error >&2 || fail "npm ci in $TESTS failed"
  touch "$TESTS/node_modules"
fi

build_dir=${BUILD:-build}
[[ $build_dir == /* ]] || build_dir=$REPO/$build_dir
if [[ -z ${MEMSTRAIN_BINARY:-} && -x $build_dir/memstrain ]]; then
  export MEMSTRAIN_BINARY=$build_dir/memstrain
fi

tap=$(mktemp)
trap 'rm -f "$tap"' EXIT
set +e
node --test --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$tap" "$TESTS"/*.test.mjs
rc=$?
set -e

count() { sed -n "s/^# $1 \([0-9][0-9]*\)$/\1/p" "$tap" | tail -n 1; }
passed=$(count pass) failed=$(count fail) skipped=$(count skipped)
passed=${passed:-0} failed=${failed:-0} skipped=${skipped:-0}
if ((rc != 0 && failed == 0)); then failed=1; fi  # the runner itself failed (a file did not load)
echo "k8s-validate: $passed passed, $failed failed, $skipped skipped"
((failed == 0 && rc == 0))
