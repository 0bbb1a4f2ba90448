#!/usr/bin/env bash
# Build the Go helpers used by memstrain's tests and demo:
#   tests/target  -> OUTDIR_TARGET/demo-target   (default tests/target/bin)
#   tests/goprof  -> OUTDIR_GOPROF/heapgen       (default tests/goprof/bin)
#
# Usage: tests/go-build.sh [OUTDIR_TARGET [OUTDIR_GOPROF]]
#        FORCE=1 tests/go-build.sh   # rebuild even if binaries are up to date
#
# Standard library only: no network, no module downloads (GOPROXY=off).
# Build cache and GOPATH live under build/ in the repository unless GOCACHE /
# GOPATH are already set, so nothing is written to $HOME.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

abspath() {
    case "$1" in
        /*) printf '%s\n' "$1" ;;
        *) printf '%s/%s\n' "$PWD" "$1" ;;
    esac
}

OUT_TARGET="$(abspath "${1:-$REPO/tests/target/bin}")"
OUT_GOPROF="$(abspath "${2:-$REPO/tests/goprof/bin}")"
if [ "$#" -gt 2 ]; then
    echo "usage: $0 [OUTDIR_TARGET [OUTDIR_GOPROF]]" >&2
    exit 2
fi

if ! command -v go >/dev/null 2>&1; then
    echo "error: 'go' not found in PATH; install golang-go (e.g. apt-get install -y golang-go)" >&2
    exit 1
fi

export CGO_ENABLED=0
export GOFLAGS=-mod=mod
export GOPROXY=off
export GOWORK=off
export GOTOOLCHAIN=local # ignored by go < 1.21; stops newer go from fetching toolchains
export GOCACHE="${GOCACHE:-$REPO/build/gocache}"
export GOPATH="${GOPATH:-$REPO/build/gopath}"
export GOMODCACHE="${GOMODCACHE:-$GOPATH/pkg/mod}"
mkdir -p "$GOCACHE" "$GOPATH"

# up_to_date BIN SRCDIR: BIN exists and no Go source / go.mod / go.sum under
# SRCDIR (bin/ excluded) is newer than it.
up_to_date() {
    local bin="$1" src="$2"
    [ "${FORCE:-0}" = "1" ] && return 1
    [ -x "$bin" ] || return 1
    local newer
    newer="$(find "$src" -path "$src/bin" -prune -o \
        -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) \
        -newer "$bin" -print -quit)"
    [ -z "$newer" ]
}

# build NAME SRCDIR PKG OUTDIR
build() {
    local name="$1" src="$2" pkg="$3" outdir="$4"
    local bin="$outdir/$name"
    if up_to_date "$bin" "$src"; then
        echo "go-build: $bin is up to date"
        return 0
    fi
    mkdir -p "$outdir"
    echo "go-build: building $bin"
    # Build to a temporary name so an interrupted build never leaves a
    # half-written binary that looks up to date.
    (cd "$src" && go build -trimpath -o "$bin.tmp.$$" "$pkg")
    mv -f "$bin.tmp.$$" "$bin"
}

build demo-target "$REPO/tests/target" . "$OUT_TARGET"
build heapgen "$REPO/tests/goprof" ./cmd/heapgen "$OUT_GOPROF"
