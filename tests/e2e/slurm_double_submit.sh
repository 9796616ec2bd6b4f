# An orchestrator killed between sbatch returning and the job ids being recorded
# never gets its runs submitted twice (docs/cluster.md, "Submitting twice"):
#  1. killed right after sbatch (SCALELAB_TEST_KILL_AFTER_SBATCH, test-only): the
#     restart finds the array by its job name, records it, and submits nothing;
#  2. killed inside an sbatch that never submitted: while squeue does not answer
#     the runs stay held; once it does and shows no such job, they go out again.
source "$(dirname "$0")/lib.sh" "$@"
source "$SRC/tests/e2e/slurm_common.bash"
need_slurm
make_corpus corpus.txt
write_tiny_config dbl.toml dbl

# Every run done once, by one job of one array, with its curve ingested.
check_once() {  # DATABASE_DIR SCRIPTS (batch scripts written, submitted or not)
  local d=$1 array ids id logs
  ids=$(sqlite3 "$d/s.db" "SELECT id FROM runs ORDER BY id")
  [ "$(echo "$ids" | wc -l)" = 3 ] || fail "want 3 runs: $ids"
  [ "$(sqlite3 "$d/s.db" "SELECT count(*) FROM cluster_jobs WHERE settled = 1 AND state = 'COMPLETED'")" = 3 ] ||
    fail "cluster_jobs: $(sqlite3 "$d/s.db" 'SELECT * FROM cluster_jobs')"
  array=$(sqlite3 "$d/s.db" "SELECT DISTINCT substr(job_id, 1, instr(job_id, '_') - 1) FROM cluster_jobs")
  [ "$(echo "$array" | wc -l)" = 1 ] || fail "want one job array: $(sqlite3 "$d/s.db" 'SELECT job_id FROM cluster_jobs')"
  [ "$(sqlite3 "$d/s.db" "SELECT group_concat(job_id) FROM (SELECT job_id FROM cluster_jobs ORDER BY job_id)")" = \
    "${array}_0,${array}_1,${array}_2" ] || fail "tasks: $(sqlite3 "$d/s.db" 'SELECT job_id FROM cluster_jobs')"
  [ "$(ls -d "$d"/runs/slurm/*/*/part*.sh | wc -l)" = "$2" ] || fail "want $2 batch script(s): $(ls -R "$d/runs/slurm")"
  logs=$(find "$d/runs/slurm" -path '*/logs/*' -type f -printf '%f\n' | sort | tr '\n' ' ')
  [ "$logs" = "${array}_0.out ${array}_1.out ${array}_2.out " ] || fail "want 3 task logs of $array: $(ls -R "$d/runs/slurm")"
  for id in $ids; do
    [ "$(sqlite3 "$d/s.db" "SELECT status, attempts FROM runs WHERE id = '$id'")" = "done|1" ] ||
      fail "run $id: $(sqlite3 "$d/s.db" "SELECT status, attempts, error FROM runs WHERE id = '$id'")"
    # One task header per task that ran this run: it ran exactly once.
    [ "$(grep -c '^=== .* slurm job ' "$d/runs/$id/worker.log")" = 1 ] || fail "run $id ran more than once:
$(grep '^=== ' "$d/runs/$id/worker.log")"
    grep -q "slurm job ${array}_" "$d/runs/$id/worker.log" || fail "run $id: not run by array $array"
    [ "$("$SCALELAB" curves "$id" --db "$d/s.db" --csv | wc -l)" -gt 5 ] || fail "run $id: no curve"
  done
}

# 1. Killed the instant sbatch returned: the array is queued, no job id recorded.
mkdir a
expect_exit 137 env SCALELAB_TEST_KILL_AFTER_SBATCH=1 "$SCALELAB" sweep dbl.toml --db a/s.db --backend slurm \
  --threads-per-job 1 --max-parallel 2
[ "$(sqlite3 a/s.db "SELECT count(*) FROM cluster_jobs WHERE state = 'SUBMITTING'")" = 3 ] ||
  fail "no submission intent before sbatch: $(sqlite3 a/s.db 'SELECT * FROM cluster_jobs')"
name=$(sqlite3 a/s.db "SELECT DISTINCT job_id FROM cluster_jobs")
queued=$(squeue -h -r -t all --name="$name" -o '%A' | sort -u)
[ "$(echo "$queued" | grep -c .)" = 1 ] || fail "sbatch made no single array named $name: $queued"
expect_exit 0 "$SCALELAB" sweep dbl.toml --db a/s.db --backend slurm --threads-per-job 1 --max-parallel 2
echo "$OUT"
expect_contains "$OUT" "found job array $queued"
expect_contains "$OUT" "3/3 done"
case "$OUT" in *"submitted job array"*) fail "the restart submitted the runs again: $OUT" ;; esac
[ "$(squeue -h -r -t all --name="$name" -o '%i' | wc -l)" = 3 ] || fail "want 3 tasks named $name"
check_once a 1

# 2. Killed inside an sbatch that never reached slurmctld: no job exists.
mkdir b shim-sbatch shim-squeue
printf '#!/bin/bash\nkill -9 $PPID\nexit 1\n' > shim-sbatch/sbatch
printf '#!/bin/bash\necho "slurm_load_jobs error: Unable to contact slurm controller (connect failure)" >&2\nexit 1\n' \
  > shim-squeue/squeue
chmod +x shim-sbatch/sbatch shim-squeue/squeue
expect_exit 137 env PATH="$WORK/shim-sbatch:$PATH" "$SCALELAB" sweep dbl.toml --db b/s.db --backend slurm --threads-per-job 1
[ "$(sqlite3 b/s.db "SELECT count(*) FROM cluster_jobs WHERE state = 'SUBMITTING'")" = 3 ] || fail "no intent left"
# The queue cannot be asked: nothing proves sbatch made no job, so nothing is resubmitted.
expect_exit 0 env PATH="$WORK/shim-squeue:$PATH" "$SCALELAB" sweep dbl.toml --db b/s.db --backend slurm \
  --threads-per-job 1 --no-wait
expect_contains "$OUT" "squeue does not answer"
case "$OUT" in *"submitted job array"*) fail "submitted blindly while squeue was down: $OUT" ;; esac
[ "$(sqlite3 b/s.db "SELECT count(*) FROM cluster_jobs WHERE state = 'SUBMITTING'")" = 3 ] || fail "intent lost"
expect_exit 0 "$SCALELAB" sweep dbl.toml --db b/s.db --backend slurm --threads-per-job 1
echo "$OUT"
expect_contains "$OUT" "its sbatch never submitted"
expect_contains "$OUT" "submitted job array"
expect_contains "$OUT" "3/3 done"
check_once b 2  # the first never reached sbatch
echo "double submit: a kill after sbatch was reconciled to its array $queued; a kill inside sbatch was resubmitted once"
