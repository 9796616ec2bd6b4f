# bench/gpu.sh's logic without a GPU: --cpu-smoke runs every section (throughput
# table against the peer, packing, loss-curve and resume checks, summary, JSON) on the
# CPU with tiny shapes (6 packed runs instead of 20), from the benchmark binaries of this build.
source "$(dirname "$0")/lib.sh" "$@"
build=$(dirname "$(dirname "$SCALELAB")")
for b in bench_trainer bench_gpu_checks; do
  if [ ! -x "$build/bench/$b" ]; then
    [ "${CI:-}" = true ] && fail "no $build/bench/$b (CI builds every target)"
    echo "SKIP: no $build/bench/$b: ninja -C $build bench_trainer bench_gpu_checks"
    exit 0
  fi
done

# Bad input: one line naming the flag, exit 2.
expect_exit 2 bash "$SRC/bench/gpu.sh" --cpu-smoke --bogus
expect_contains "$ERR" "'--bogus'"
expect_exit 2 "$build/bench/bench_trainer" --params 7x
expect_contains "$ERR" "--params"
expect_exit 2 "$build/bench/bench_trainer" --shape L2-D65-H2-T64
expect_contains "$ERR" "--shape"
expect_exit 2 "$build/bench/bench_gpu_checks" curves --steps 10
expect_contains "$ERR" "--data"
expect_exit 2 "$build/bench/bench_trainer" --device tpu
expect_contains "$ERR" "device 'tpu'"

# The default CPU mode keeps the RESULT format trainer_vs_peer.sh parses.
expect_exit 0 "$build/bench/bench_trainer" --seconds 0.1 --shape 0.12M --no-logging
line=$(grep '^RESULT' <<<"$OUT")
[[ $line =~ ^RESULT\ impl=scalelab\ shape=0.12M\ params=[0-9]+\ steps=[0-9]+\ step_ms=[0-9.]+\ tok_s=[0-9.]+\ gflop_s=[0-9.]+$ ]] ||
  fail "default RESULT line changed: $line"
expect_exit 0 "$build/bench/bench_trainer" --seconds 0.1 --shape L1-D32-H2-T32 --json --peak-tflops 2
expect_contains "$OUT" '"shape":"L1-D32-H2-T32"'
expect_contains "$OUT" '"peak_tflops":2,'

t0=$SECONDS
expect_exit 0 env SCALELAB_GPU_BENCH_DEVICE=cpu bash "$SRC/bench/gpu.sh" --build-dir "$build" --out out
took=$((SECONDS - t0))  # reported, not asserted: a loaded machine is slower, and that is no bug
for f in summary.md results.json log.txt; do [ -s "out/$f" ] || fail "no out/$f"; done
summary=$(cat out/summary.md)
expect_contains "$summary" "bench/gpu.sh (smoke)"
expect_contains "$summary" "| loss curve GPU vs CPU | see log | PASS |"
expect_contains "$summary" "| resume, no jump | see log | PASS |"
expect_contains "$summary" "(0 failed)"
expect_contains "$summary" "no figure here is a GPU measurement"
# The scalelab row holds a measured tokens/s.
grep -Eq '^\| L2-D64-H2-T64 \| [0-9.]+ \|' out/summary.md || fail "no scalelab tokens/s in the table: $summary"
# The peer: measured where Debian's torch is installed, else said to be skipped.
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  grep -Eq '^\| L2-D64-H2-T64 \| [0-9.]+ \| [^|]+ \| [^|]+ \| [0-9.]+ \|' out/summary.md ||
    fail "no peer tokens/s in the table: $summary"
  expect_contains "$OUT" "peer_compile SKIP: torch 1."
else
  [ "${CI:-}" = true ] && fail "no torch for /usr/bin/python3 (scripts/deps.sh installs python3-torch)"
  expect_contains "$OUT" "table: peer SKIP"
fi
/usr/bin/python3 - out/results.json <<'PY' || fail "results.json: $(cat out/results.json)"
import json, sys
rows = json.load(open(sys.argv[1]))
pack = [r for r in rows if r["section"] == "pack"][0]
assert pack["runs"] == 6 and pack["failed"] == 0 and pack["seq_tokens"] == pack["packed_tokens"] > 0, pack
checks = {r["check"]: r for r in rows if r["section"] == "checks"}
assert checks["loss_curve"]["pass"] == 1 and checks["loss_curve"]["max_abs_dev"] == 0, checks
assert checks["resume"]["pass"] == 1 and checks["resume"]["exact_required"] == 1, checks
assert any(r["section"] == "table" and r.get("impl") == "scalelab" and r["tok_s"] > 0 for r in rows)
PY
echo "gpu.sh --cpu-smoke passed in ${took}s"
