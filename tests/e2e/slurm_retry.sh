# A task that crashes is retried under the local backend's failure classes, then
# reported as failed with its error and log.
source "$(dirname "$0")/lib.sh" "$@"
source "$SRC/tests/e2e/slurm_common.bash"
need_slurm
make_corpus corpus.txt
write_tiny_config f.toml failing
expect_exit 0 "$SCALELAB" plan f.toml --json --no-calibrate
bad=$(echo "$OUT" | jq -r '.runs[0].id')
# A node that cannot write the run's log: the task dies (exit 1) before the
# trainer starts, on every attempt.
mkdir -p "runs/$bad/worker.log"
expect_exit 1 "$SCALELAB" sweep f.toml --db s.db --backend slurm --threads-per-job 1 --retries 1
echo "$OUT"
expect_contains "$OUT" "retry  "
expect_contains "$OUT" "FAILED"
expect_contains "$OUT" "retries used up"
expect_contains "$OUT" "2/3 done"
[ "$(sqlite3 s.db "SELECT status, attempts, failures FROM runs WHERE id = '$bad'")" = "failed|2|2" ] ||
  fail "bad run: $(sqlite3 s.db "SELECT status, attempts, failures, error FROM runs WHERE id = '$bad'")"
[ "$(sqlite3 s.db "SELECT count(*) FROM runs WHERE status = 'done'")" = 2 ] || fail "the other runs did not finish"
expect_exit 0 "$SCALELAB" status failing --db s.db
expect_contains "$OUT" "failed or diverged"
expect_contains "$(sqlite3 s.db "SELECT error FROM runs WHERE id = '$bad'")" "scalelab: cannot write"
[ "$(sqlite3 s.db "SELECT count(*) FROM cluster_jobs WHERE run_id = '$bad' AND state = 'FAILED'")" = 1 ] ||
  fail "the failed job's state is not recorded"
echo "retry: run $bad failed twice (exit 1), retried once, reported failed"
