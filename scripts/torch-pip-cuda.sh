#!/usr/bin/env bash
# Completes .torch-pip/ (scripts/torch-pip.sh) for a CUDA build: adds the four NVIDIA
# wheels that libtorch_cuda.so needs and the system CUDA toolkit cannot give, and prints
# the torch package directory, as torch-pip.sh does (docs/torch.md, "The CUDA flavour").
#  - cuFile, cuSPARSELt and NVSHMEM are not in the 13.0 toolkit at all;
#  - NCCL is, but 2.2x: libtorch_cuda.so calls 11 functions it lacks (ncclCommGrow, ...).
# Everything else (cudart, cuBLAS, cuDNN, cuFFT, cuSPARSE, NVRTC, ...) comes from
# /usr/local/cuda. The wheels go into .torch-pip/nvidia/, where the torch libraries' own
# RPATH ($ORIGIN/../../nvidia/<name>/lib) looks: the layout pip gives site-packages, so
# any binary or plugin loading libtorch_cuda.so finds them with no rpath of its own.
set -euo pipefail
cd "$(dirname "$0")/.."
t=$(bash scripts/torch-pip.sh)
dir=${t%/torch}
version=$(cat "$dir/.version")
# Pins for the torch 2.15.0 wheel, read from its METADATA (torch-*.dist-info); cuFile
# comes through cuda-toolkit[cufile]==13.2.2, whose own metadata pins nvidia-cufile.
pins=(nvidia-nccl-cu13==2.30.7 nvidia-cusparselt-cu13==0.8.1 nvidia-nvshmem-cu13==3.7.2 nvidia-cufile==1.17.1.22)
meta="$dir/torch-$version.dist-info/METADATA"
for p in nvidia-nccl-cu13==2.30.7 nvidia-cusparselt-cu13==0.8.1 nvidia-nvshmem-cu13==3.7.2 'cuda-toolkit\[.*cufile.*\]==13.2.2'; do
  if ! grep -q "^Requires-Dist: $p" "$meta"; then
    echo "torch-pip-cuda.sh: torch $version does not require $p; the pins in this script are for torch 2.15.0" >&2
    exit 2
  fi
done
stamp="$dir/.cuda-version"
if [ "$(cat "$stamp" 2>/dev/null)" != "${pins[*]}" ]; then
  # pip --target skips a top-level directory that already exists (nvidia/ is shared by
  # all four wheels), so a partial or older install is removed first.
  rm -rf "$dir/nvidia" "$dir"/nvidia_*.dist-info "$stamp"
  echo "torch-pip-cuda.sh: installing ${pins[*]} (--no-deps) into $dir" >&2
  python3 -m pip install -q --no-deps --disable-pip-version-check --target "$dir" "${pins[@]}" >&2
  echo "${pins[*]}" > "$stamp"
fi
echo "$t"
