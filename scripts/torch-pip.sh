#!/usr/bin/env bash
# Installs LibTorch 2.x from PyPI's torch wheel into .torch-pip/ (inside the checkout)
# and prints the torch package directory, whose share/cmake holds TorchConfig.cmake.
# The version is pinned (SCALELAB_TORCH_VERSION overrides it). --no-deps: the wheel's
# CUDA dependencies (cuDNN, cuBLAS, NCCL, ... several GB of nvidia-* wheels) are not
# fetched; a CPU build links libtorch_cpu and libc10 alone (docs/torch.md).
set -euo pipefail
cd "$(dirname "$0")/.."
version=${SCALELAB_TORCH_VERSION:-2.15.0}
dir=$PWD/.torch-pip
if [ ! -f "$dir/torch/share/cmake/Torch/TorchConfig.cmake" ] || [ "$(cat "$dir/.version" 2>/dev/null)" != "$version" ]; then
  rm -rf "$dir"
  echo "torch-pip.sh: installing torch==$version (--no-deps) into $dir" >&2
  python3 -m pip install -q --no-deps --disable-pip-version-check --target "$dir" "torch==$version" >&2
  echo "$version" > "$dir/.version"
fi
echo "$dir/torch"
