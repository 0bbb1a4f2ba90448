#!/usr/bin/env bash
# `make image`: builds k8s/Dockerfile with podman (the memstrain image and the demo-target image)
# from a Debian base made locally with debootstrap and imported (no registry is pulled from), then
# smoke-tests the memstrain image: `memstrain --version`, a dry run of plans/demo.json and the
# launcher's --help, each in a container of the built image as its default user.
#
# Usage: scripts/build-image.sh            (as root; ~8 min on 2 cores, most of it compiling)
#   MEMSTRAIN_IMAGE=memstrain:0.1.0        tag of the memstrain image
#   DEBIAN_MIRROR=http://…/debian          debootstrap's mirror (default: the one apt uses here)
#   REBUILD_BASE=1                         debootstrap the base again even if debian:bookworm exists
#
# The images go to podman's default storage (`podman images`), where `podman save` or
# `kind load image-archive` can take them, with the base and the build stages (unnamed images,
# the cache of the next build; `podman rmi` them to free ~2 GB). Not part of `make test`.
# Measured: 23 min on the shared 2-core machine at load 7-12 (debootstrap 151 s of it).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TAG=${MEMSTRAIN_IMAGE:-memstrain:0.1.0}
DEMO_TAG=${MEMSTRAIN_DEMO_IMAGE:-memstrain-demo-target:0.1.0}
BASE=debian:bookworm
log() { printf 'image: %s\n' "$*" >&2; }

[[ $(id -u) == 0 ]] || { log "run as root (podman builds rootful here)"; exit 1; }
"$REPO/scripts/install-deps.sh" podman runc debootstrap
# The same podman settings as the container tier (runc, cgroupfs, file events, ulimits this VM allows).
export CONTAINERS_CONF=${CONTAINERS_CONF:-$REPO/tests/containers/containers.conf}

# The mirror apt uses (deb822 .sources or a one-line sources.list), for the base and the build.
debian_mirror() {
  local uri
  uri=$(awk '/^URIs:/ {u=$2} /^Suites:/ && / bookworm( |$)/ {print u; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  [[ -n $uri ]] || uri=$(awk '$1 == "deb" && $3 == "bookworm" {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  printf '%s\n' "${uri:-http://deb.debian.org/debian}"
}

start=$SECONDS
if [[ -n ${REBUILD_BASE:-} ]] || ! podman image exists "$BASE"; then
  mirror=${DEBIAN_MIRROR:-$(debian_mirror)}
  work=$(mktemp -d /var/tmp/memstrain-base-XXXXXX)
  trap 'rm -rf "$work"' EXIT
  log "debootstrap --variant=minbase bookworm from $mirror"
  debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -n 20 "$work/debootstrap.log" >&2; log "debootstrap failed"; exit 1; }
  rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
  tar -C "$work/rootfs" -c . | podman import --change 'CMD ["/bin/bash"]' - "$BASE" >/dev/null
  log "imported $BASE ($((SECONDS - start)) s)"
fi

# --pull=never: FROM debian:bookworm is the imported base, never a registry's.
commit=$(git -C "$REPO" rev-parse HEAD 2>/dev/null || echo unknown)
log "podman build -f k8s/Dockerfile -t $TAG (commit $commit)"
podman build --pull=never --network host -f "$REPO/k8s/Dockerfile" --build-arg MEMSTRAIN_GIT_COMMIT="$commit" -t "$TAG" "$REPO"
podman build --pull=never --network host -f "$REPO/k8s/Dockerfile" --target demo-target -t "$DEMO_TAG" "$REPO"
log "built $TAG and $DEMO_TAG ($((SECONDS - start)) s)"

# Smoke test, as the image's default (non-root) user.
want=$(sed -n 's/^project(memstrain VERSION \([0-9.]*\).*/\1/p' "$REPO/CMakeLists.txt")
version=$(podman run --rm --network none "$TAG" memstrain --version)
[[ $version == *"$want"* ]] || { log "memstrain --version in the image says \"$version\", expected $want"; exit 1; }
dry=$(podman run --rm --network none -v "$REPO/plans:/plans:ro" "$TAG" memstrain run /plans/demo.json --dry-run) ||
  { log "the dry run in the image failed"; exit 1; }
[[ $dry == *"dry run: nothing was started or changed"* ]] || { log "unexpected dry run output: $dry"; exit 1; }
podman run --rm --network none "$TAG" memstrain-launch.sh --help >/dev/null
podman run --rm --network none --entrypoint /usr/local/bin/demo-target "$DEMO_TAG" -h >/dev/null 2>&1 || [[ $? == 2 ]]
log "smoke test passed: $version; dry run of plans/demo.json; memstrain-launch.sh --help ($((SECONDS - start)) s in all)"
