#!/usr/bin/env bash
# Installs a memstrain .deb on a clean Debian bookworm root and runs it there, as a user of the
# package would: `apt install ./memstrain_*.deb` (its Depends must come from bookworm alone), then
# `memstrain --version`, `man memstrain`, `memstrain validate` on the shipped plans and schema
# files, and the completion script's syntax.
#
# The root is made with debootstrap (variant minbase) from the mirror this machine's apt uses, in a
# temporary directory that is removed at the end (mounts included), whatever happens.
#
# Usage: scripts/deb-test.sh build-deb/memstrain_0.1.0_amd64.deb     (as root)
# Ends with "deb-test: N passed, N failed"; exits non-zero when anything failed.
set -euo pipefail

deb=${1:?usage: scripts/deb-test.sh PACKAGE.deb}
[[ -f $deb ]] || { echo "deb-test: no such package: $deb" >&2; exit 2; }
deb=$(realpath "$deb")
[[ $(id -u) -eq 0 ]] || { echo "deb-test: needs root (debootstrap, chroot)" >&2; exit 2; }
command -v debootstrap >/dev/null || { echo "deb-test: debootstrap is missing (apt-get install debootstrap)" >&2; exit 2; }

# The Debian mirror apt uses here (deb822 sources first, then sources.list).
mirror=""
for f in /etc/apt/sources.list.d/*.sources; do
  [[ -f $f ]] || continue
  mirror=$(awk '/^URIs:/ {for (i = 2; i <= NF; i++) if ($i !~ /security/) {print $i; exit}}' "$f")
  [[ -n $mirror ]] && break
done
if [[ -z $mirror && -f /etc/apt/sources.list ]]; then
  mirror=$(awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) {print $i; exit}}' /etc/apt/sources.list)
fi
mirror=${mirror:-http://deb.debian.org/debian}

root=$(mktemp -d /var/tmp/memstrain-deb-root.XXXXXX)
cleanup() {
  for m in "$root/proc" "$root/dev/pts"; do
    if mountpoint -q "$m" 2>/dev/null; then umount -l "$m" || true; fi
  done
  rm -rf --one-file-system "$root"
}
trap cleanup EXIT

start=$(date +%s)
echo "deb-test: debootstrap bookworm (minbase) from $mirror into $root" >&2
if ! debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.log" 2>&1; then
  tail -n 30 "$root.log" >&2
  rm -f "$root.log"
  echo "deb-test: debootstrap failed"
  echo "deb-test: 0 passed, 1 failed"
  exit 1
fi
rm -f "$root.log"
echo "deb-test: root ready in $(($(date +%s) - start)) s" >&2
mount -t proc proc "$root/proc"
cp "$deb" "$root/tmp/"
pkg=/tmp/$(basename "$deb")

in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }

passed=0 failed=0
check() {
  local what=$1
  shift
  local out
  if out=$("$@" 2>&1); then
    echo "ok: $what"
    passed=$((passed + 1))
  else
    echo "FAILED: $what"
    echo "$out" | tail -n 20 | sed 's/^/  /'
    failed=$((failed + 1))
  fi
}

check "apt installs the package and its Depends from bookworm" \
  in_root sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $pkg"
check "memstrain --version names version, commit, build type and compiler" \
  in_root sh -c 'v=$(memstrain --version) && echo "$v" && echo "$v" | grep -q "^memstrain [0-9]" && echo "$v" | grep -q "^commit: " &&
                 echo "$v" | grep -q "^build: " && echo "$v" | grep -q "^compiler: "'
check "man memstrain shows the page (man-db from Recommends)" \
  in_root sh -c 'MANPAGER=cat man memstrain | grep -q "memory-pressure chaos experiments" && man -w memstrain'
check "memstrain validate /usr/share/memstrain/plans/demo.json" \
  in_root memstrain validate /usr/share/memstrain/plans/demo.json
check "every shipped plan validates, and a Kubernetes-unit plan from stdin" \
  in_root sh -c 'for p in /usr/share/memstrain/plans/*.json; do memstrain validate "$p" >/dev/null || exit 1; done &&
                 echo "{\"name\":\"k\",\"target\":{\"attach\":{\"cgroup\":\"/x\"}},\"stages\":[{\"name\":\"s\",\"duration\":\"1m30s\",\"pressure\":{\"size\":\"512Mi\"}}]}" |
                 memstrain validate - --json | grep -q "\"valid\": true"'
check "schemas, dashboard and completion are installed" \
  in_root sh -c 'test -s /usr/share/memstrain/schemas/plan.schema.json && test -s /usr/share/memstrain/schemas/report.schema.json &&
                 test -s /usr/share/memstrain/grafana/grafana-dashboard.json && bash -n /usr/share/bash-completion/completions/memstrain'
check "an invalid plan exits 2" \
  in_root sh -c 'echo "{}" | memstrain validate -; test $? -eq 2'

echo "deb-test: $(($(date +%s) - start)) s in all" >&2
echo "deb-test: $passed passed, $failed failed"
((failed == 0))
