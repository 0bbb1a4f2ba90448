#!/usr/bin/env bash
# docs/plan.schema.json against the shipped plans and the hostile plan corpus (tests/schema, with
# ajv from npm: JSON Schema 2020-12). Dependencies go to tests/schema/node_modules, pinned by
# tests/schema/package-lock.json; no network after the first `npm ci`.
#
# Usage: scripts/schema-validate.sh     (BUILD=dir or MEMSTRAIN_BINARY=path also checks that
#                                        `memstrain validate` refuses what the schema cannot tell)
# Ends with "schema-validate: N passed, N failed, N skipped"; exits non-zero when anything failed.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
TESTS=tests/schema

command -v node >/dev/null 2>&1 || { echo "schema-validate: node is not installed (Node.js 20 or newer)"; echo "schema-validate: 0 passed, 1 failed"; exit 1; }
if [[ ! -d $TESTS/node_modules || $TESTS/package-lock.json -nt $TESTS/node_modules ]]; then
  echo "schema-validate: installing npm dependencies into $TESTS/node_modules" >&2
  npm ci --prefix "$TESTS" --no-audit --no-fund --loglevel=error >&2 || { echo "schema-validate: 0 passed, 1 failed"; exit 1; }
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
if ((rc != 0 && failed == 0)); then failed=1; fi
echo "schema-validate: $passed passed, $failed failed, $skipped skipped"
((failed == 0 && rc == 0))
