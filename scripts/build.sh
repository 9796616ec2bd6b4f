#!/usr/bin/env bash
# Configures and builds scalelab into build/ (Release). Extra args go to CMake's configure step.
# SCALELAB_BUILD_TARGETS="scalelab" builds only those targets (the quickstart: no tests, no benchmarks).
# SCALELAB_TORCH=pip builds against LibTorch 2.x from PyPI's torch wheel instead of Debian's
# 1.13, into build-torch2/ (scripts/torch-pip.sh; docs/torch.md).
set -euo pipefail
cd "$(dirname "$0")/.."
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
dir=build
torch=()
if [ "${SCALELAB_TORCH:-debian}" = pip ]; then
  t=$(bash scripts/torch-pip.sh)
  dir=build-torch2
  torch=("-DCMAKE_PREFIX_PATH=$t;$t/share/cmake" -DSCALELAB_TORCH_CPU_ONLY=ON)
  # The wheel's CMake config asks the CUDA toolkit for the GPUs' architectures and fails
  # where there is none; a CPU build compiles no CUDA, so any list will do.
  export TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0}
elif [ "${SCALELAB_TORCH:-debian}" != debian ]; then
  echo "build.sh: SCALELAB_TORCH must be debian or pip, got '$SCALELAB_TORCH'" >&2
  exit 2
fi
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" "${torch[@]}" "$@" >/dev/null
targets=()
for t in ${SCALELAB_BUILD_TARGETS:-}; do targets+=(--target "$t"); done
cmake --build "$dir" -j"$(nproc)" "${targets[@]}"
