#!/usr/bin/env bash
# Configures and builds scalelab into build/ (Release). Extra args go to CMake's configure step.
# SCALELAB_BUILD_TARGETS="scalelab" builds only those targets (the quickstart: no tests, no benchmarks).
# SCALELAB_TORCH=pip builds against LibTorch 2.x from PyPI's torch wheel instead of Debian's
# 1.13, into build-torch2/ (scripts/torch-pip.sh; docs/torch.md); SCALELAB_TORCH=pip-cuda
# against the same wheel's CUDA libraries, with the trainer's CUDA code, into build-torch2-cuda/
# (scripts/torch-pip-cuda.sh; needs the CUDA toolkit, not a GPU).
set -euo pipefail
cd "$(dirname "$0")/.."
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
dir=build
torch=()
case ${SCALELAB_TORCH:-debian} in
  debian) ;;
  pip)
    t=$(bash scripts/torch-pip.sh)
    dir=build-torch2 flavour=-DSCALELAB_TORCH_CPU_ONLY=ON ;;
  pip-cuda)
    t=$(bash scripts/torch-pip-cuda.sh)
    dir=build-torch2-cuda flavour=-DSCALELAB_CUDA=ON ;;
  *) echo "build.sh: SCALELAB_TORCH must be debian, pip or pip-cuda, got '$SCALELAB_TORCH'" >&2
     exit 2 ;;
esac
if [ "$dir" != build ]; then
  torch=("-DCMAKE_PREFIX_PATH=$t;$t/share/cmake" "$flavour")
  # The wheel's CMake config asks the CUDA toolkit for the GPUs' architectures and fails
  # where there is none; scalelab compiles no CUDA kernels (no .cu files, also in the
  # CUDA flavour), so any list will do.
  export TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0}
fi
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" "${torch[@]}" "$@" >/dev/null
targets=()
for t in ${SCALELAB_BUILD_TARGETS:-}; do targets+=(--target "$t"); done
cmake --build "$dir" -j"$(nproc)" "${targets[@]}"
