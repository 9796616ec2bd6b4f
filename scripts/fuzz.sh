#!/usr/bin/env bash
# Builds the libFuzzer harnesses of fuzz/ with clang (ASan + UBSan) in build-fuzz/
# and runs each for SECONDS (default 60) on a copy of its seed corpus, so the
# repository is never modified. One line per harness: executions and crashes.
# Exits non-zero if any harness crashed, printing the crash file's path.
#   bash scripts/fuzz.sh [SECONDS]
# Environment: FUZZ_BUILD (build dir, default build-fuzz), FUZZ_OUT (where corpora
# and crash files go, default $FUZZ_BUILD/runs), FUZZ_HARNESSES (default: all four).
set -euo pipefail
seconds=${1:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
build=${FUZZ_BUILD:-$root/build-fuzz}
out=${FUZZ_OUT:-$build/runs}
harnesses=(${FUZZ_HARNESSES:-run_config sweep_config csv checkpoint})

# The project's packages, plus clang and libFuzzer's runtime (libclang-rt-14-dev on Debian 12).
bash "$root/scripts/deps.sh" clang libclang-rt-14-dev
clang_rt=$(clang -print-resource-dir)/lib/linux/libclang_rt.fuzzer-x86_64.a
[ -f "$clang_rt" ] || { echo "fuzz.sh: libFuzzer runtime missing ($clang_rt)" >&2; exit 1; }

jobs=$(nproc)
[ "$jobs" -gt 2 ] || jobs=2
if [ ! -f "$build/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S "$root/fuzz" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
nice -n 10 cmake --build "$build" -j "$jobs" --target $(printf 'fuzz_%s ' "${harnesses[@]}")

mkdir -p "$out"
failed=0
printf '%-14s %10s %8s  %s\n' harness execs crashes "crash files"
for h in "${harnesses[@]}"; do
  run="$out/$h"
  rm -rf "$run"
  mkdir -p "$run/corpus" "$run/artifacts"
  # crash-repro-* seeds are findings' reproducers: they stay in, so an unfixed one fails every run.
  [ -d "$root/fuzz/corpus/$h" ] && cp -r "$root/fuzz/corpus/$h/." "$run/corpus/"
  rc=0
  (cd "$run" && nice -n 10 "$build/fuzz_$h" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 \
      -print_final_stats=1 -artifact_prefix="$run/artifacts/" corpus >"$run/log" 2>&1) || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$run/log" | tail -1)
  crashes=$(find "$run/artifacts" -type f | sort)
  n=$(printf '%s' "$crashes" | grep -c . || true)
  if [ "$rc" -ne 0 ] && [ "$n" -eq 0 ]; then n=1; crashes="(exit $rc, no artifact; see $run/log)"; fi
  printf '%-14s %10s %8s  %s\n' "$h" "${execs:-?}" "$n" "$(echo $crashes)"
  if [ "$n" -ne 0 ]; then
    failed=1
    grep -a -m1 -E 'ERROR: |runtime error|deadly signal|what\(\)|Test unit written' "$run/log" >&2 || true
    echo "  log: $run/log" >&2
  fi
done
exit $failed
