#!/usr/bin/env bash
# Creates .peer-venv/: a virtual environment on Debian's /usr/bin/python3 that runs
# bench/peer_gpt.py on PyTorch 2.x from PyPI. torch itself is not installed again:
# a .pth file points the venv at the wheel scripts/torch-pip.sh already unpacked in
# .torch-pip/ (1.2 GB, fetched --no-deps), so only its pure-python deps come here,
# pinned, plus numpy, which it warns about on every start without.
# That wheel is the CUDA build: libtorch.so links the CUDA libraries even for CPU
# work. Most come with the CUDA toolkit (/usr/local/cuda/lib64, on ld.so's path
# here); the rest scripts/torch-pip-cuda.sh adds to .torch-pip/nvidia/ (the CUDA
# flavour's build uses the same), where the torch libraries' RPATH finds them.
# OpenBLAS for the torch 1.13 peer is unpacked from Debian's libopenblas0-pthread
# into .peer-venv/openblas/ (apt-get download, dpkg -x): installing the package would
# make it the system's BLAS, for scalelab's own tests too. torch.compile on CPU also needs a C++ compiler and
# python3-dev's headers for Inductor's generated code (build-essential, python3-dev).
# Prints the venv's python. Idempotent: rerunning on a complete venv does nothing.
#
#   bench/peer-env.sh          then: .peer-venv/bin/python bench/peer_gpt.py --compile
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$PWD/.peer-venv
pins=(typing_extensions==4.15.0 sympy==1.14.0 mpmath==1.3.0 networkx==3.5 jinja2==3.1.6
  MarkupSafe==3.0.3 filelock==3.20.0 fsspec==2025.9.0 setuptools==80.9.0
  numpy==2.3.4)

bash scripts/torch-pip-cuda.sh >/dev/null
stamp="${pins[*]}"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.pins" 2>/dev/null)" != "$stamp" ]; then
  rm -rf "$venv"
  echo "peer-env.sh: creating $venv" >&2
  /usr/bin/python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "${pins[@]}" >&2
  site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  echo "$PWD/.torch-pip" > "$site/scalelab-torch-pip.pth"
  echo "$stamp" > "$venv/.pins"
fi
if [ ! -e "$venv/openblas/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3" ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download -q libopenblas0-pthread >&2)
  dpkg -x "$tmp"/libopenblas0-pthread_*.deb "$venv/openblas"
  rm -rf "$tmp"
fi
if ! "$venv/bin/python" -c 'import torch' 2>/dev/null; then
  echo "peer-env.sh: torch does not import; libraries missing:" >&2
  ldd .torch-pip/torch/lib/libtorch_cuda.so | grep 'not found' >&2
  exit 1
fi
echo "$venv/bin/python"
