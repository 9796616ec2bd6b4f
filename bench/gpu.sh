#!/usr/bin/env bash
# The one script to run on a GPU machine (docs/gpu.md): builds the trainer-only
# target against that machine's LibTorch, then measures, each section within its
# own time budget and the whole within SCALELAB_GPU_BENCH_BUDGET seconds (480):
#   1. throughput at ~1M, 10M, 50M, 124M parameters: scalelab (eager; CUDA graphs at
#      1M) against bench/peer_gpt.py eager and torch.compile: tokens/s, MFU, ratios;
#   2. packing: 20 runs of 3.3M parameters as 20 concurrent processes on the GPU
#      (1/20 of its memory each) against the same runs one at a time;
#   3. checks: GPU-against-CPU loss curves and a GPU resume (bench_gpu_checks curves).
# Prints a summary against the targets; writes summary.md, results.json, log.txt and
# build.log into --out DIR ($OUT when set, else ./gpu-bench-out). Exits 1 only when a
# check fails (or cannot run); a missed speed target prints MISSED and exits 0.
#
#   bench/gpu.sh [--cpu-smoke] [--build-dir DIR] [--out DIR]
#
# --cpu-smoke (or SCALELAB_GPU_BENCH_DEVICE=cpu): every section on the CPU with tiny
# shapes and few steps, using the binaries already in DIR (default ./build): what
# tests/e2e/gpu_bench_smoke.sh runs, so the script's logic is tested without a GPU.
set -uo pipefail  # no -e: a section's failure is reported, the next one still runs

root=$(cd "$(dirname "$0")/.." && pwd)
mode=gpu build_dir="" out=${OUT:-$PWD/gpu-bench-out}
[[ ${SCALELAB_GPU_BENCH_DEVICE:-cuda} == cpu ]] && mode=smoke
while (($#)); do
  case $1 in
    --cpu-smoke) mode=smoke ;;
    --build-dir) [[ $# -ge 2 ]] || { echo "gpu.sh: --build-dir expects a directory" >&2; exit 2; }
      build_dir=$2; shift ;;
    --out) [[ $# -ge 2 ]] || { echo "gpu.sh: --out expects a directory" >&2; exit 2; }
      out=$2; shift ;;
    *) echo "gpu.sh: unknown argument '$1' (expected --cpu-smoke, --build-dir DIR, --out DIR)" >&2
      exit 2 ;;
  esac
  shift
done
# The smoke mode checks logic, not speed: its budget only guards against a hang, so a
# loaded CI machine never cuts a section short.
if [[ $mode == smoke ]]; then budget=${SCALELAB_GPU_BENCH_BUDGET:-900}; else budget=${SCALELAB_GPU_BENCH_BUDGET:-480}; fi
[[ $budget =~ ^[0-9]+$ ]] || { echo "gpu.sh: SCALELAB_GPU_BENCH_BUDGET expects seconds, got '$budget'" >&2; exit 2; }
# The overall bound: every section's budget is cut to what is left of this.
if [[ -z ${SCALELAB_GPU_BENCH_INNER:-} ]]; then
  SCALELAB_GPU_BENCH_INNER=1 exec timeout -k 10 "$((budget + 30))" bash "$0" \
    $([[ $mode == smoke ]] && echo --cpu-smoke) ${build_dir:+--build-dir "$build_dir"} --out "$out"
fi

if [[ $mode == gpu ]]; then
  device=cuda py=${SCALELAB_PEER_PYTHON:-python3} seconds=3 warmup=5
  table_args=(--params 1M,10M,50M,124M) graph_args=(--params 1M) table_rows="1M 10M 50M 124M"
  compile_args=(--params) compile_order="50M 124M 1M 10M" table_cap=240
  pack_args=(--device cuda --steps 300 --memory-fraction 0.05 --threads 1) pack_n=20
  curve_args=(--device cuda --steps 200)
  b_build=240 b_checks=60 b_table=210 b_pack=110
else
  device=cpu py=${SCALELAB_PEER_PYTHON:-/usr/bin/python3} seconds=0.3 warmup=1
  table_args=(--shape L2-D64-H2-T64) graph_args=() table_rows="L2-D64-H2-T64"
  compile_args=(--shape) compile_order=$table_rows table_cap=30
  pack_args=(--device cpu --tiny --steps 12 --threads 1) pack_n=${SCALELAB_GPU_BENCH_PACK_N:-6}
  curve_args=(--device cpu --tiny --steps 40 --threads 1)
  b_build=10 b_checks=200 b_table=200 b_pack=300
fi
mkdir -p "$out" || exit 2
log=$out/log.txt results=$out/results.txt
: >"$log"; : >"$results"
work=$(mktemp -d "${TMPDIR:-/tmp}/scalelab-gpu-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
start=$SECONDS

say() { printf '%s\n' "$*" | tee -a "$log"; }
# record SECTION KEY=VALUE...: one line of results.txt (results.json is made from these).
record() { printf '%s\n' "$*" >>"$results"; }
# begin_section BUDGET RESERVED: the section ends after BUDGET seconds, or earlier so
# that RESERVED seconds stay for the sections after it and 20 for the summary.
begin_section() {
  local left=$((budget - (SECONDS - start) - 20 - $2))
  section_end=$((SECONDS + ($1 < left ? $1 : left)))
}
# allow CAP: the seconds one command of the section may take.
allow() {
  local left=$((section_end - SECONDS))
  ((left < $1)) && echo "$left" || echo "$1"
}
# run_logged LIMIT CMD...: runs CMD under a time limit, its output appended to log.txt
# and kept in $work/last; returns CMD's status (124: out of time).
run_logged() {
  local limit=$1; shift
  ((limit > 0)) || { echo "no time left" >"$work/last"; return 124; }
  echo "\$ $*" >>"$log"
  timeout -k 5 "$limit" "$@" >"$work/last" 2>&1
  local rc=$?
  cat "$work/last" >>"$log"
  return $rc
}

section_detect() {
  gpu_name=cpu driver=none
  if [[ $mode == gpu ]]; then
    local q
    q=$(nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader 2>&1 | head -1)
    [[ $q == *,*,* ]] || { say "no GPU: nvidia-smi says: $q (use --cpu-smoke on a CPU machine)"; exit 1; }
    IFS=, read -r gpu_name driver cap <<<"$q"
    gpu_name=$(echo $gpu_name) driver=$(echo $driver) cap=$(echo $cap)
    export TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-$cap}
  fi
  say "# gpu.sh ($mode): device $device, GPU '$gpu_name', driver $driver, $(nproc) cores, budget ${budget}s"
  record "detect mode=$mode device=$device gpu=${gpu_name// /_} driver=$driver"
}

section_build() {
  local t0=$SECONDS
  begin_section $b_build $((b_checks + 90 + 60))  # at least 90 s of table, 60 of packing
  if [[ $mode == smoke ]]; then
    bin=${build_dir:-$root/build}/bench
    [[ -x $bin/bench_trainer && -x $bin/bench_gpu_checks ]] ||
      { say "no $bin/bench_trainer or bench_gpu_checks: ninja -C ${build_dir:-build} bench_trainer bench_gpu_checks"; exit 2; }
    say "build: using $bin (smoke mode builds nothing)"
  elif [[ -n $build_dir && -x $build_dir/bench/bench_trainer && -x $build_dir/bench/bench_gpu_checks ]]; then
    bin=$build_dir/bench
    say "build: using $bin"
  else
    local dir=${build_dir:-$root/build-gpu} prefix
    prefix=$("$py" -c 'import torch; print(torch.utils.cmake_prefix_path)') ||
      { say "build: '$py' has no torch to build against"; exit 1; }
    say "build: trainer-only against $prefix into $dir, -j$(nproc)"
    run_logged "$(allow $b_build)" cmake -S "$root" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DSCALELAB_TRAINER_ONLY=ON -DSCALELAB_CUDA=ON "-DCMAKE_PREFIX_PATH=$prefix" &&
      run_logged "$(allow $b_build)" cmake --build "$dir" -j"$(nproc)" --target bench_trainer bench_gpu_checks
    local rc=$?
    cp "$log" "$out/build.log"
    ((rc == 0)) || { say "build FAILED (rc $rc), see build.log"; record "build status=failed"; exit 1; }
    bin=$dir/bench
  fi
  record "build status=ok seconds=$((SECONDS - t0))"
  say "build: $((SECONDS - t0))s"
}

# A corpus of real English for the checks and the packed runs: the project's docs.
make_corpus() { cat "$root"/README.md "$root"/docs/*.md >"$work/corpus.txt"; }

# table_run SECTION CMD...: runs one throughput command, keeping its RESULT lines.
table_run() {
  local name=$1; shift
  if run_logged "$(allow "$table_cap")" "$@"; then
    grep '^RESULT' "$work/last" | sed "s/^RESULT/table run=$name/" >>"$results"
  else
    say "table: $name FAILED or out of time: $(tail -1 "$work/last")"
    record "table run=$name status=failed"
  fi
}

section_table() {
  local t0=$SECONDS common=(--device "$device" --seconds "$seconds" --warmup "$warmup") s
  begin_section $b_table $b_pack
  table_run scalelab "$bin/bench_trainer" "${common[@]}" "${table_args[@]}" --peak-tflops auto
  peak=$(grep '^table run=scalelab' "$results" | head -1 | sed -n 's/.* peak_tflops=\([^ ]*\).*/\1/p')
  [[ $peak =~ ^[0-9.]+$ ]] || peak=""
  if ((${#graph_args[@]})); then
    table_run scalelab_graphs "$bin/bench_trainer" "${common[@]}" "${graph_args[@]}" --cuda-graphs \
      --peak-tflops "${peak:-auto}"
    sed -i 's/^table run=scalelab_graphs impl=scalelab /table run=scalelab_graphs impl=scalelab_graphs /' "$results"
  fi
  local why="" peer=("$root/bench/peer_gpt.py" "${common[@]}" ${peak:+--peak-tflops "$peak"})
  "$py" -c 'import torch' 2>/dev/null || why="'$py' cannot import torch"
  if [[ -z $why ]]; then
    table_run peer "$py" "${peer[@]}" "${table_args[@]}" --label peer
    if "$py" -c 'import torch, sys; sys.exit(0 if hasattr(torch, "compile") else 1)'; then
      # One process per shape, the targets' shapes first: compiling takes most of a
      # minute per model, and a shape cut off by the budget must not take the others.
      for s in $compile_order; do
        table_run "peer_compile_$s" "$py" "${peer[@]}" "${compile_args[@]}" "$s" --compile --label peer_compile
      done
    else
      why="torch $("$py" -c 'import torch; print(torch.__version__)') has no torch.compile"
      say "table: peer_compile SKIP: $why"; record "table run=peer_compile status=skip"
    fi
  else
    say "table: peer SKIP: $why"; record "table run=peer status=skip"
  fi
  say ""
  say "$(table_text)"
  say "table: $((SECONDS - t0))s"
}

# tok_s IMPL SHAPE / mfu IMPL SHAPE: from the table's RESULT lines ("" when absent).
tok_s() { grep "^table .*impl=$1 shape=$2 " "$results" | head -1 | sed -n 's/.* tok_s=\([^ ]*\).*/\1/p'; }
mfu() { grep "^table .*impl=$1 shape=$2 " "$results" | head -1 | sed -n 's/.* mfu=\([^ ]*\).*/\1/p'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else printf "-" }'; }
pct() { awk -v m="$1" 'BEGIN { if (m ~ /^[0-9.]+$/) printf "%.1f%%", 100 * m; else printf "-" }'; }

table_text() {
  printf '| shape | scalelab tok/s | MFU | graphs tok/s | peer eager tok/s | MFU | peer compile tok/s | MFU | vs eager | vs compile |\n'
  printf '|---|---|---|---|---|---|---|---|---|---|\n'
  local s a g e c
  for s in $table_rows; do
    a=$(tok_s scalelab "$s") g=$(tok_s scalelab_graphs "$s") e=$(tok_s peer "$s") c=$(tok_s peer_compile "$s")
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$s" "${a:--}" "$(pct "$(mfu scalelab "$s")")" \
      "${g:--}" "${e:--}" "$(pct "$(mfu peer "$s")")" "${c:--}" "$(pct "$(mfu peer_compile "$s")")" \
      "$(ratio "$a" "$e")" "$(ratio "$a" "$c")"
  done
}

# pack_batch NAME PARALLEL: pack_n runs, all at once (1) or one after another (0);
# prints "tokens wall_s failed".
pack_batch() {
  local name=$1 parallel=$2 limit i t0 failed=0 batch_end
  batch_end=$((SECONDS + $(allow $((b_pack / 2)))))
  t0=$(date +%s.%N)
  for ((i = 1; i <= pack_n; i++)); do
    limit=$((batch_end - SECONDS))
    ((limit > 0)) || limit=1  # out of time: the run fails at once and is counted
    if ((parallel)); then
      timeout -k 5 "$limit" "$bin/bench_gpu_checks" pack-run "${pack_args[@]}" --data "$work/corpus.txt" \
        --seed "$i" >"$work/$name.$i" 2>&1 &
    else
      timeout -k 5 "$limit" "$bin/bench_gpu_checks" pack-run "${pack_args[@]}" --data "$work/corpus.txt" \
        --seed "$i" >"$work/$name.$i" 2>&1 || failed=$((failed + 1))
    fi
  done
  if ((parallel)); then
    for job in $(jobs -p); do wait "$job" || failed=$((failed + 1)); done
  fi
  local wall tokens
  wall=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }')
  cat "$work/$name".* >>"$log"
  tokens=$(cat "$work/$name".* | sed -n 's/^RESULT .* tokens=\([0-9]*\) .*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
  echo "$tokens $wall $failed"
}

section_pack() {
  local t0=$SECONDS seq packed
  begin_section $b_pack 0
  say "packing: $pack_n runs of bench_gpu_checks pack-run ${pack_args[*]}"
  read -r s_tok s_wall s_fail <<<"$(pack_batch seq 0)"
  read -r p_tok p_wall p_fail <<<"$(pack_batch packed 1)"
  seq=$(awk -v t="$s_tok" -v w="$s_wall" 'BEGIN { printf "%.1f", t / w }')
  packed=$(awk -v t="$p_tok" -v w="$p_wall" 'BEGIN { printf "%.1f", t / w }')
  pack_ratio=$(ratio "$packed" "$seq") pack_failed=$((s_fail + p_fail))
  record "pack runs=$pack_n seq_tokens=$s_tok seq_wall_s=$s_wall seq_tok_s=$seq packed_tokens=$p_tok" \
    "packed_wall_s=$p_wall packed_tok_s=$packed ratio=$pack_ratio failed=$pack_failed"
  say "packing: one at a time $seq tok/s ($s_tok tokens in ${s_wall}s), packed $packed tok/s" \
    "($p_tok tokens in ${p_wall}s): ${pack_ratio}x; $pack_failed run(s) failed; $((SECONDS - t0))s"
}

section_checks() {
  local t0=$SECONDS rc
  begin_section $b_checks $((90 + 60))
  run_logged "$(allow $b_checks)" "$bin/bench_gpu_checks" curves "${curve_args[@]}" --data "$work/corpus.txt"
  rc=$?
  grep '^RESULT' "$work/last" | sed 's/^RESULT/checks/' >>"$results"
  grep -E '^(RESULT|#)' "$work/last"
  curve_ok=$(sed -n 's/^checks check=loss_curve pass=\([01]\).*/\1/p' "$results")
  resume_ok=$(sed -n 's/^checks check=resume pass=\([01]\).*/\1/p' "$results")
  ((rc == 0)) || say "checks: bench_gpu_checks exited $rc: $(tail -1 "$work/last")"
  say "checks: loss curve $([[ $curve_ok == 1 ]] && echo PASS || echo FAIL)," \
    "resume $([[ $resume_ok == 1 ]] && echo PASS || echo FAIL); $((SECONDS - t0))s"
}

# target NAME VALUE OK: one summary row (OK: 1 met, 0 missed, "" not measured).
target() {
  local status=SKIP
  [[ $3 == 1 ]] && status=ok
  [[ $3 == 0 ]] && status=MISSED
  [[ $mode == smoke && $status != SKIP ]] && status="$status (cpu smoke: not a GPU figure)"
  printf '| %s | %s | %s |\n' "$1" "${2:--}" "$status"
  record "target name=${1// /_} value=${2:--} status=${status%% *}"
}
at_least() { awk -v v="$1" -v t="$2" 'BEGIN { if (v ~ /^[0-9.]+$/) print (v + 0 >= t ? 1 : 0) }'; }

summary() {
  local s big=50M huge=124M small=1M
  [[ $mode == smoke ]] && big=L2-D64-H2-T64 huge=L2-D64-H2-T64 small=L2-D64-H2-T64
  {
    echo "# bench/gpu.sh ($mode) on '$gpu_name', driver $driver, $(date -u +%Y-%m-%dT%H:%MZ), $((SECONDS - start))s"
    echo
    table_text
    echo
    echo "| target | measured | status |"
    echo "|---|---|---|"
    target "MFU >= 40% at 50M" "$(pct "$(mfu scalelab $big)")" "$(at_least "$(mfu scalelab $big)" 0.40)"
    for s in $table_rows; do
      local r; r=$(ratio "$(tok_s scalelab "$s")" "$(tok_s peer "$s")")
      target "scalelab >= peer eager at $s" "${r}x" "$(at_least "$r" 1.0)"
    done
    for s in $(printf '%s\n' $big $huge | sort -u); do
      local r; r=$(ratio "$(tok_s scalelab "$s")" "$(tok_s peer_compile "$s")")
      target "scalelab within 10% of torch.compile at $s" "${r}x" "$(at_least "$r" 0.9)"
    done
    local g; g=$(ratio "$(tok_s scalelab_graphs $small)" "$(tok_s scalelab $small)")
    target "CUDA graphs at $small (vs eager, informative)" "${g}x" ""
    target "packing >= 3x" "${pack_ratio:-}x (${pack_failed:-?} failed)" \
      "$([[ ${pack_failed:-1} == 0 ]] && at_least "${pack_ratio:-}" 3.0 || echo 0)"
    echo "| loss curve GPU vs CPU | see log | $([[ ${curve_ok:-} == 1 ]] && echo PASS || echo FAIL) |"
    echo "| resume, no jump | see log | $([[ ${resume_ok:-} == 1 ]] && echo PASS || echo FAIL) |"
    [[ $mode == smoke ]] && echo && echo "CPU smoke run: tiny shapes on the CPU; no figure here is a GPU measurement."
  } >"$out/summary.md"
  cat "$out/summary.md" | tee -a "$log"
  awk -f - "$results" >"$out/results.json" <<'AWK'
    # Each results.txt line "SECTION k=v ..." becomes {"section": ..., "k": v, ...}.
    function q(s) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); return "\"" s "\"" }
    BEGIN { printf "[" }
    { printf "%s\n  {\"section\": %s", (NR > 1 ? "," : ""), q($1)
      for (i = 2; i <= NF; i++) { k = $i; sub(/=.*/, "", k); v = substr($i, length(k) + 2)
        printf ", %s: %s", q(k), (v ~ /^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$/ ? v : q(v)) }
      printf "}" }
    END { print "\n]" }
AWK
}

section_detect
section_build
make_corpus
section_checks
section_table
section_pack
summary
[[ ${curve_ok:-} == 1 && ${resume_ok:-} == 1 ]] || { echo "gpu.sh: a check FAILED (see above)" >&2; exit 1; }
exit 0
