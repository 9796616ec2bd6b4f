# MFU per run (issue 17): a CPU run has none unless a peak is given; with
# --peak-tflops, `train`, `runs`, `runs --json`, `status` and `status --json` all
# show MFU = tokens/s x FLOPs per token / (peak x 1e12), the figures as stored.
source "$(dirname "$0")/lib.sh" "$@"
make_corpus corpus.txt
tiny_run_toml 4096 > a.toml
{ tiny_run_toml 4096; printf 'seed = 2\n'; } > b.toml

# No peak on a CPU: no MFU, and nothing to explain.
expect_exit 0 "$SCALELAB" train a.toml --db s.db --runs-dir runs --threads 1
expect_contains "$OUT" "MFU -;"
expect_exit 0 "$SCALELAB" runs --db s.db --json
[ "$(echo "$OUT" | jq '.[0].mfu')" = null ] || fail "a CPU run without --peak-tflops has an MFU: $OUT"
[ "$(echo "$OUT" | jq -r '.[0].accelerator')" = cpu ] || fail "accelerator is not cpu: $OUT"

# With a peak: MFU is tokens/s x FLOPs per token over it.
expect_exit 0 "$SCALELAB" train b.toml --db s.db --runs-dir runs --threads 1 --peak-tflops 0.01 --json
end=$(echo "$OUT" | tail -n 1)
echo "$end" | jq -e '.mfu > 0 and .peak_tflops == 0.01' >/dev/null || fail "train --json end event: $end"
expect_exit 0 "$SCALELAB" runs --db s.db --json
run=$(echo "$OUT" | jq -c '.[] | select(.mfu != null)')
[ -n "$run" ] || fail "no run with an MFU in runs --json: $OUT"
echo "$run" | jq -e '((.mfu - .tokens_per_s * .flops_per_token / (.peak_tflops * 1e12)) | fabs) < 1e-9 * (1 + .mfu)' \
  >/dev/null || fail "stored MFU is not tokens_per_s x flops_per_token / peak: $run"
[ "$(echo "$end" | jq .mfu)" = "$(echo "$run" | jq .mfu)" ] || fail "train's MFU differs from the stored one"
expect_exit 0 "$SCALELAB" runs --db s.db
expect_contains "$OUT" "MFU"
pct=$(echo "$run" | jq -r '.mfu * 100')
shown=$(printf '%.3g%%' "$pct")
expect_contains "$OUT" "$shown" "runs table (MFU $pct%)"

# A sweep with execution.peak_tflops: status --json carries each run's MFU.
{ printf '%s\n' 'name = "mfu"'; tiny_model_toml; cat <<'TOML'
tokens = 4096
[axes]
params = [2e4]
seed = [1, 2]
[execution]
jobs = 1
threads_per_job = 1
peak_tflops = 0.01
TOML
} > sweep.toml
expect_exit 0 "$SCALELAB" sweep sweep.toml --db s.db --quiet
expect_exit 0 "$SCALELAB" status mfu --db s.db --json
echo "$OUT" | jq -e '.[0].runs | length == 2 and all(.mfu != null and .peak_tflops == 0.01 and
  ((.mfu - .tokens_per_s * .flops_per_token / 1e10) | fabs) < 1e-9 * (1 + .mfu))' >/dev/null ||
  fail "status --json: each run's MFU from its tokens/s and peak: $OUT"
expect_exit 0 "$SCALELAB" status mfu --db s.db
expect_contains "$OUT" ", MFU "
# --peak-tflops overrides the config's for the workers.
sqlite3 s.db "UPDATE runs SET status = 'pending' WHERE sweep_id IS NOT NULL"
expect_exit 0 "$SCALELAB" sweep sweep.toml --db s.db --quiet --peak-tflops 0.02
expect_exit 0 "$SCALELAB" status mfu --db s.db --json
echo "$OUT" | jq -e '.[0].runs | all(.peak_tflops == 0.02)' >/dev/null || fail "--peak-tflops did not reach the workers: $OUT"

# A GPU the table does not know: MFU unset, and `runs` says why once.
sqlite3 s.db "UPDATE runs SET accelerator = 'NVIDIA GeForce RTX 4090', peak_tflops = NULL, mfu = NULL"
expect_exit 0 "$SCALELAB" runs --db s.db
[ "$(echo "$OUT" | grep -c "no peak for GPU 'NVIDIA GeForce RTX 4090'")" = 1 ] || fail "the note is not said once: $OUT"
echo "mfu_status: ok"
