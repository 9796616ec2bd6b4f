#!/usr/bin/env bash
# Installs the Debian packages scalelab builds and tests with, if any is missing.
# Everything comes from Debian's archive; nothing is downloaded otherwise.
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config
  libtorch-dev libceres-dev libcli11-dev libfmt-dev doctest-dev libsqlite3-dev
  libtomlplusplus-dev nlohmann-json3-dev python3-torch libsentencepiece-dev sentencepiece
  gnuplot-nox bible-kjv sqlite3 jq python3 libxml2-utils zlib1g-dev chromium
  "$@"
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
