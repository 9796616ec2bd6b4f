#!/usr/bin/env bash
# scalelab's training step vs a nanoGPT-style PyTorch peer, one CPU thread each,
# same model, optimizer and batch (see README.md). Runs alternate between the two
# for ROUNDS rounds and the best round of each counts, which keeps a busy machine
# from favouring whichever ran in a quiet moment. Prints the raw results and a
# table of tokens/s with the ratio against the targets; exits 1 if one is missed.
#
#   bench/trainer_vs_peer.sh [BUILD_DIR [SECONDS [ROUNDS]]]   (defaults: ./build, 3, 3)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
seconds=${2:-3}
rounds=${3:-3}
bin=$build/bench/bench_trainer
py=/usr/bin/python3  # Debian's python3-torch; a pyenv python3 on PATH has no torch
# The glibc allocator settings scalelab applies to itself (trainer/device.h:
# keep_freed_memory), given to a second peer run to show what they alone are worth.
tuned_malloc=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824

if [[ ! -x $bin ]]; then
  echo "no $bin: cmake --build $build --target bench_trainer" >&2
  exit 2
fi

export OMP_NUM_THREADS=1
out=""
for ((r = 1; r <= rounds; r++)); do
  logging=--no-logging
  ((r == rounds)) && logging=""
  out+=$("$bin" --seconds "$seconds" $logging)$'\n'
  out+=$("$py" "$here/peer_gpt.py" --seconds "$seconds")$'\n'
  out+=$(GLIBC_TUNABLES=$tuned_malloc "$py" "$here/peer_gpt.py" --seconds "$seconds" |
    sed 's/impl=peer/impl=peer_malloc/')$'\n'
done
printf '%s\n' "$out" | grep -v '^#'

printf '%s' "$out" | awk -v rounds="$rounds" '
  /^RESULT/ {
    for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
    k = f["impl"] SUBSEP f["shape"]
    if (f["tok_s"] + 0 > tok[k] + 0) { tok[k] = f["tok_s"]; gf[k] = f["gflop_s"] }
    if (!(f["shape"] in seen)) { seen[f["shape"]] = 1; order[++n] = f["shape"] }
  }
  /^LOGGING/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "overhead_pct") log_pct[++nl] = kv[2] } }
  END {
    target["0.84M"] = 1.25; target["0.12M"] = 2.0
    printf "\nbest of %d rounds, 1 thread\n", rounds
    printf "%-6s  %14s  %10s  %7s  %7s  %10s  %9s  %9s  %s\n", "shape", "scalelab tok/s", "peer tok/s",
           "ratio", "target", "vs peer+m", "GFLOP/s", "peer GF/s", "sink calls / step time"
    fail = 0
    for (j = 1; j <= n; j++) {
      s = order[j]; r = tok["scalelab", s] / tok["peer", s]; rm = tok["scalelab", s] / tok["peer_malloc", s]
      ok = r >= target[s] ? "ok" : "MISSED"; if (r < target[s]) fail = 1
      printf "%-6s  %14.0f  %10.0f  %6.2fx  %6.2fx  %9.2fx  %9.1f  %9.1f  %s%%  %s\n", s,
             tok["scalelab", s], tok["peer", s], r, target[s], rm, gf["scalelab", s], gf["peer", s],
             log_pct[j], ok
    }
    exit fail
  }'
