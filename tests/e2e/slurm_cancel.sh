# `scalelab cancel` scancels a sweep's jobs (queued and running) and marks its runs cancelled.
source "$(dirname "$0")/lib.sh" "$@"
source "$SRC/tests/e2e/slurm_common.bash"
need_slurm
make_corpus corpus.txt
# Runs long enough (tens of seconds) to be caught running; one at a time, the rest queued.
write_tiny_config c.toml cancelme "[3e11]"
expect_exit 0 "$SCALELAB" sweep c.toml --db s.db --backend slurm --threads-per-job 1 --max-parallel 1 --no-wait
expect_contains "$OUT" "submitted job array"
jobs=$(sqlite3 s.db "SELECT job_id FROM cluster_jobs ORDER BY job_id")
array=${jobs%%_*}
for _ in $(seq 1 120); do
  squeue -h -r -t R -j "$array" -o %i | grep -q . && break
  sleep 0.5
done
squeue -h -r -t R -j "$array" -o %i | grep -q . || fail "no task of array $array started"
expect_exit 0 "$SCALELAB" status cancelme --db s.db
expect_contains "$OUT" "slurm job"
expect_contains "$OUT" "RUNNING"
expect_exit 0 "$SCALELAB" cancel cancelme --db s.db
expect_contains "$OUT" "3 slurm job(s) cancelled"
for _ in $(seq 1 60); do
  [ -z "$(squeue -h -r -t PD,R,CG -j "$array" -o %i)" ] && break
  sleep 0.5
done
states=$(squeue -h -r -t all -j "$array" -o %T | sort | uniq -c)
[ -z "$(squeue -h -r -t all -j "$array" -o %T | grep -v CANCELLED)" ] || fail "jobs not cancelled: $states"
[ "$(sqlite3 s.db "SELECT count(*) FROM runs WHERE status = 'cancelled'")" = 3 ] ||
  fail "runs not cancelled: $(sqlite3 s.db 'SELECT status FROM runs')"
# A later submission leaves cancelled runs alone; retry requeues them.
expect_exit 0 "$SCALELAB" sweep c.toml --db s.db --backend slurm --no-wait
case "$OUT" in *"submitted job array"*) fail "cancelled runs were submitted again: $OUT" ;; esac
expect_exit 0 "$SCALELAB" retry cancelme --db s.db
expect_contains "$OUT" "3 failed or cancelled run(s) requeued"
echo "cancel: array $array cancelled ($states)"
