#!/usr/bin/env bash
# Installs the Debian packages memstrain needs to build and test, when they are missing.
# Usage: scripts/install-deps.sh [extra packages...]
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libboost-program-options-dev libcgroup-dev nlohmann-json3-dev libspdlog-dev
  libgtest-dev libgmock-dev
  libcurl4-openssl-dev libprotobuf-dev protobuf-compiler zlib1g-dev
  golang-go curl python3
  chromium  # headless: renders report.html in the browser test and the demo's screenshot
  "$@"
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "memstrain: these Debian packages are missing: ${missing[*]}" >&2
  echo "memstrain: run as root (or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi

echo "memstrain: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
