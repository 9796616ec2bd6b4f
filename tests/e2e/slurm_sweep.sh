# A tiny sweep through the SLURM backend completes, and matches the local backend
# run by run: same run ids, identical loss curves (CPU, one thread each). Then:
# scripts and logs are kept, status shows the jobs, and a second submission
# submits nothing.
source "$(dirname "$0")/lib.sh" "$@"
source "$SRC/tests/e2e/slurm_common.bash"
need_slurm
make_corpus corpus.txt
write_tiny_config tiny.toml tiny

start=$(date +%s)
expect_exit 0 "$SCALELAB" sweep tiny.toml --db local.db --runs-dir local-runs --jobs 2 --threads-per-job 1 --quiet
expect_exit 0 "$SCALELAB" sweep tiny.toml --db slurm.db --backend slurm --threads-per-job 1 --max-parallel 2
echo "$OUT"
expect_contains "$OUT" "submitted job array"
expect_contains "$OUT" "3/3 done"
slurm_s=$(( $(date +%s) - start ))

local_ids=$(sqlite3 local.db "SELECT id FROM runs ORDER BY id")
slurm_ids=$(sqlite3 slurm.db "SELECT id FROM runs ORDER BY id")
[ "$(echo "$local_ids" | wc -l)" = 3 ] || fail "want 3 local runs: $local_ids"
[ "$local_ids" = "$slurm_ids" ] || fail "run ids differ: local $local_ids, slurm $slurm_ids"
for id in $slurm_ids; do
  [ "$(sqlite3 slurm.db "SELECT status, attempts FROM runs WHERE id = '$id'")" = "done|1" ] ||
    fail "run $id: $(sqlite3 slurm.db "SELECT status, attempts, error FROM runs WHERE id = '$id'")"
  "$SCALELAB" curves "$id" --db local.db --csv | cut -d, -f1-7 > "local_$id.csv"
  "$SCALELAB" curves "$id" --db slurm.db --csv | cut -d, -f1-7 > "slurm_$id.csv"
  [ "$(wc -l < "slurm_$id.csv")" -gt 5 ] || fail "run $id: no curve ingested from its shard"
  cmp -s "local_$id.csv" "slurm_$id.csv" || fail "run $id: losses differ: $(diff "local_$id.csv" "slurm_$id.csv" | head -5)"
  [ -s "runs/$id/result.db" ] || fail "run $id: no result shard"
  [ "$(sqlite3 "runs/$id/result.db" 'PRAGMA journal_mode')" = delete ] || fail "run $id: shard is not in DELETE mode"
  grep -q "slurm job" "runs/$id/worker.log" || fail "run $id: worker log lacks the task header"
done
# The main database was never opened by a task: only the orchestrator wrote it.
[ "$(sqlite3 slurm.db "SELECT count(*) FROM cluster_jobs WHERE settled = 1 AND state = 'COMPLETED'")" = 3 ] ||
  fail "cluster_jobs: $(sqlite3 slurm.db 'SELECT * FROM cluster_jobs')"
script=$(ls runs/slurm/*/*/part0.sh)
grep -q -- "--array=0-2%2" "$script" || fail "the script does not record its sbatch line: $(head -5 "$script")"
ls runs/slurm/*/*/logs/*_0.out >/dev/null || fail "no SLURM task logs kept"

expect_exit 0 "$SCALELAB" status tiny --db slurm.db --json
[ "$(echo "$OUT" | jq -r '.[0].runs[0].slurm.state')" = COMPLETED ] || fail "status --json lacks the SLURM state: $OUT"
[ "$(echo "$OUT" | jq -r '.[0].runs[0].slurm.job_id' | grep -cE '^[0-9]+_[0-9]+$')" = 1 ] || fail "no job id in status"

# Resubmitting a finished sweep submits nothing.
expect_exit 0 "$SCALELAB" sweep tiny.toml --db slurm.db --backend slurm
case "$OUT" in *"submitted job array"*) fail "a finished sweep was submitted again: $OUT" ;; esac
[ "$(ls -d runs/slurm/*/* | wc -l)" = 1 ] || fail "a second submission directory appeared"

# Never twice: a second orchestrator while the first one's jobs are queued submits
# only what is not held; an edit's new runs go out, the finished ones do not.
write_tiny_config tiny.toml tiny "[1e10, 2e10]"
expect_exit 0 "$SCALELAB" sweep tiny.toml --db slurm.db --backend slurm --threads-per-job 1 --no-wait
expect_contains "$OUT" "submitted job array"
expect_exit 0 "$SCALELAB" sweep tiny.toml --db slurm.db --backend slurm --threads-per-job 1 --no-wait
case "$OUT" in *"submitted job array"*) fail "runs whose jobs are queued were submitted again: $OUT" ;; esac
# Detached: `status` alone ingests the shards and settles the finished jobs.
expect_exit 0 timeout 300 "$SCALELAB" status tiny --db slurm.db --watch --interval 1
expect_contains "$OUT" "tiny 6/6 done"
expect_exit 0 "$SCALELAB" sweep tiny.toml --db slurm.db --backend slurm --threads-per-job 1
expect_contains "$OUT" "6/6 done"
case "$OUT" in *"submitted job array"*) fail "a finished sweep was submitted again: $OUT" ;; esac
[ "$(sqlite3 slurm.db "SELECT sum(attempts) FROM runs")" = 6 ] || fail "a run was trained twice"
[ "$(sqlite3 slurm.db "SELECT count(DISTINCT substr(job_id, 1, instr(job_id, '_'))) FROM cluster_jobs")" = 2 ] ||
  fail "want exactly 2 job arrays: $(sqlite3 slurm.db 'SELECT job_id FROM cluster_jobs')"
echo "slurm sweep: 3 runs matched the local backend (local + slurm in ${slurm_s}s); 6 runs in $(( $(date +%s) - start ))s"
