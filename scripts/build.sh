#!/usr/bin/env bash
# Configures and builds scalelab into build/ (Release). Extra args go to CMake's configure step.
# SCALELAB_BUILD_TARGETS="scalelab" builds only those targets (the quickstart: no tests, no benchmarks).
set -euo pipefail
cd "$(dirname "$0")/.."
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" "$@" >/dev/null
targets=()
for t in ${SCALELAB_BUILD_TARGETS:-}; do targets+=(--target "$t"); done
cmake --build build -j"$(nproc)" "${targets[@]}"
