#!/usr/bin/env bash
# Installs the Debian 12 packages the build, the tests and the benchmarks
# need, skipping those already installed. Needs root (or sudo).
set -euo pipefail

pkgs=(
  build-essential pkg-config
  libzookeeper-mt-dev libevent-dev libssl-dev libzstd-dev liblz4-dev zlib1g-dev
  libsnappy-dev libjansson-dev check
  zookeeper zookeeper-bin python3-kazoo python3-pytest netcat-openbsd procps
  kcat python3-confluent-kafka python3-kafka python3-snappy python3-lz4 python3-zstandard python3-xxhash
  clang libclang-rt-14-dev
)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#pkgs[@]} packages present"
  exit 0
fi
echo "deps: installing ${missing[*]}"
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
