#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs everything mirrorflow needs on a fresh Debian machine, idempotently, doing only what is missing:
# the Debian packages (as root, through apt-get), the capture helper (build/mf-capture, when missing or
# older than its source), the npm dependencies (npm ci, when package-lock.json changed) and the compiled
# build in dist/ (scripts/build.mjs, when dist/ is missing or older than a source).
# When nothing is missing it costs a dpkg query and a find.
# Usage: bash scripts/setup.sh [--no-npm]
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  iproute2 nftables tcpdump tshark awscli tcpreplay iperf3 socat netcat-openbsd
  iputils-ping curl procps python3 gcc libc6-dev chromium nmap masscan openssh-server openssh-client sshpass
)

# One dpkg query for the whole list: a package is missing unless it is listed as installed.
installed=$( (dpkg-query -W -f='${Package} ${Status}\n' "${PACKAGES[@]}" 2>/dev/null || true) | awk '/ install ok installed$/ {print $1}')
missing=()
for p in "${PACKAGES[@]}"; do
  grep -qx "$p" <<<"$installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages (${missing[*]}); run this script as root" >&2
    exit 1
  fi
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  echo 'wireshark-common wireshark-common/install-setuid boolean false' | debconf-set-selections
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The GSO-exact capture helper (src/capture/mf-capture.c), built with the system compiler.
if [ ! -x build/mf-capture ] || [ src/capture/mf-capture.c -nt build/mf-capture ]; then
  echo "setup: building build/mf-capture" >&2
  mkdir -p build
  cc -O2 -Wall -Werror -o build/mf-capture.tmp src/capture/mf-capture.c
  mv build/mf-capture.tmp build/mf-capture
fi

if [ "${1:-}" != "--no-npm" ]; then
  stamp=node_modules/.mirrorflow-lock
  want=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "setup: installing npm dependencies (npm ci)" >&2
    npm ci --no-audit --no-fund --loglevel=error
    echo "$want" > "$stamp"
  fi

  # The compiled build (dist/): made when missing or when a source is newer than the last build.
  node scripts/build.mjs --if-stale
fi
