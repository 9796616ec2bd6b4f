#!/usr/bin/env bash
# README command 2: install what is missing, build, run every test (unit + end-to-end).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh
ctest --test-dir build --output-on-failure -j"$(nproc)" "$@"
