#!/usr/bin/env bash
# scalelab's training step vs the nanoGPT-design PyTorch peer (bench/peer_gpt.py),
# one CPU thread each, same model, optimizer and batch (see README.md). One round
# runs, in turn: scalelab (bench_trainer, on Debian's LibTorch 1.13), the peer on
# Debian's torch 1.13 with OpenBLAS (through LD_LIBRARY_PATH, the system's BLAS
# alternative untouched), the same on the default BLAS (kept for reference), and
# the peer on PyTorch 2.x from PyPI, eager and torch.compile'd. The best round of
# each counts, which keeps a busy machine from favouring whichever ran in a quiet
# moment. Prints the raw results and a table with scalelab's ratio to every peer;
# the targets are checked against the faster 2.x peer. Exit 1 if a target is
# missed (a benchmark, not a test), 2 if a prerequisite is missing.
# Pin it for a fair comparison: taskset -c 1 bench/trainer_vs_peer.sh ...
#
#   bench/trainer_vs_peer.sh [BUILD_DIR [SECONDS [ROUNDS]]]   (defaults: ./build, 3, 3)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${1:-$root/build}
seconds=${2:-3}
rounds=${3:-3}
bin=$build/bench/bench_trainer
py113=/usr/bin/python3  # Debian's python3-torch; a pyenv python3 on PATH has no torch
py2=$root/.peer-venv/bin/python
arch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)

missing() { echo "trainer_vs_peer.sh: $*" >&2; exit 2; }
[[ -x $bin ]] || missing "no $bin: cmake --build $build --target bench_trainer"
"$py113" -c 'import torch' 2>/dev/null || missing "no torch in $py113: apt-get install python3-torch"
[[ -x $py2 ]] || missing "no $py2 (PyTorch 2.x peer): bench/peer-env.sh (after scripts/torch-pip.sh)"
openblas=${OPENBLAS_DIR:-}
for d in "$here/../.peer-venv/openblas/usr/lib/$arch/openblas-pthread" /usr/lib/$arch/openblas-pthread /usr/lib/$arch/openblas-openmp; do
  [[ -z $openblas && -e $d/libblas.so.3 ]] && openblas=$d
done
[[ -n $openblas && -e $openblas/libblas.so.3 ]] ||
  missing "no OpenBLAS (libblas.so.3 under /usr/lib/$arch/openblas-*): bench/peer-env.sh unpacks one, or set OPENBLAS_DIR"

export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
# Inductor compiles in a worker pool by default; one worker leaves no idle
# processes beside the timed steps, and compile time is outside the window anyway.
export TORCHINDUCTOR_COMPILE_THREADS=1
unset LD_LIBRARY_PATH  # the BLAS each run loads is chosen below, nowhere else
peer() {
  local label=$1 py=$2
  shift 2
  "$py" "$here/peer_gpt.py" --seconds "$seconds" --threads 1 --label "$label" "$@"
}
out=""
for ((r = 1; r <= rounds; r++)); do
  logging=--no-logging
  ((r == rounds)) && logging=""
  out+=$("$bin" --seconds "$seconds" $logging)$'\n'
  out+=$(LD_LIBRARY_PATH=$openblas peer t113_openblas "$py113")$'\n'
  out+=$(peer t113_default "$py113")$'\n'
  out+=$(peer t2_eager "$py2")$'\n'
  # Inductor warns on every start that there is no triton and no CUDA runtime.
  out+=$(peer t2_compile "$py2" --compile 2> >(grep -v '^W[0-9]' >&2))$'\n'
done
printf '%s\n' "$out" | grep -v '^#'
if printf '%s' "$out" | grep '^RESULT impl=t113_openblas' | grep -vq ' blas=openblas '; then
  missing "LD_LIBRARY_PATH=$openblas did not give torch 1.13 OpenBLAS (see blas= above)"
fi

printf '%s' "$out" | awk -v rounds="$rounds" '
  /^RESULT/ {
    delete f
    for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
    k = f["impl"] SUBSEP f["shape"]
    if (f["tok_s"] + 0 > tok[k] + 0) {
      tok[k] = f["tok_s"]; gf[k] = f["gflop_s"]
      desc[f["impl"]] = (f["impl"] == "scalelab") ? "LibTorch 1.13, oneDNN sgemm" : \
        sprintf("torch %s, %s%s", f["torch"], f["blas"], f["compile"] == 1 ? ", compiled" : ", eager")
    }
    if (!(f["shape"] in seen)) { seen[f["shape"]] = 1; order[++n] = f["shape"] }
  }
  /^LOGGING/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "overhead_pct") log_pct[++nl] = kv[2] } }
  END {
    target["0.84M"] = 1.25; target["0.12M"] = 2.0
    split("scalelab t113_openblas t113_default t2_eager t2_compile", impls, " ")
    printf "\nbest of %d rounds, 1 thread\n", rounds
    printf "%-6s  %-14s  %-34s  %9s  %8s  %13s\n", "shape", "impl", "stack", "tok/s", "GFLOP/s",
           "scalelab / it"
    for (j = 1; j <= n; j++)
      for (m = 1; m <= 5; m++) {
        s = order[j]; i = impls[m]
        printf "%-6s  %-14s  %-34s  %9.0f  %8.1f  %12.2fx\n", s, i, desc[i], tok[i, s], gf[i, s],
               tok["scalelab", s] / tok[i, s]
      }
    printf "\ntargets, against the faster PyTorch 2.x peer (sink calls: share of step time)\n"
    fail = 0
    for (j = 1; j <= n; j++) {
      s = order[j]; best = tok["t2_eager", s] >= tok["t2_compile", s] ? "t2_eager" : "t2_compile"
      r = tok["scalelab", s] / tok[best, s]
      ok = r >= target[s] ? "ok" : "MISSED"; if (r < target[s]) fail = 1
      printf "%-6s  scalelab %.0f / %s %.0f = %.2fx  target %.2fx  %s   sink calls %s%%\n", s,
             tok["scalelab", s], best, tok[best, s], r, target[s], ok, log_pct[j]
    }
    exit fail
  }'
