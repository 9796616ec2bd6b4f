# Ctrl-C (SIGINT to the whole process group, as a terminal sends it) stops the
# workers at a checkpoint and leaves the sweep resumable; `cancel` stops a
# running sweep from another shell; `retry` requeues; `sweep NAME` resumes.
source "$(dirname "$0")/lib.sh" "$@"
make_corpus corpus.txt
{ printf '%s\n' 'name = "int"'; tiny_model_toml; cat <<'TOML'
[eval]
every = 40
batches = 2
log_every = 1
[checkpoint]
every = 20
[axes]
params = [2.5e4]
tokens = [5e5, 6e5]
TOML
} > int.toml
wait_for() {  # wait_for SQL: until the query prints a non-zero number
  for _ in $(seq 1200); do
    [ "$(sqlite3 i.db "$1" 2>/dev/null || echo 0)" -gt 0 ] 2>/dev/null && return 0
    sleep 0.1
  done
  fail "timed out waiting for: $1"
}
steps="SELECT count(*) FROM runs r WHERE status = 'running' AND (SELECT max(step) FROM metrics m
       WHERE m.run_id = r.id AND m.split = 'train') >= 25"

setsid "$SCALELAB" sweep int.toml --db i.db --jobs 2 --threads-per-job 1 > first.out 2>&1 &
orch=$!
trap 'kill -9 -- -$orch 2>/dev/null || true; rm -rf "$WORK"' EXIT
wait_for "$steps"
kill -INT -- -$orch
set +e; wait $orch; code=$?; set -e
[ "$code" = 130 ] || fail "interrupted sweep exited $code, want 130: $(cat first.out)"
expect_contains "$(cat first.out)" "interrupted: run \`scalelab sweep int.toml\` again"
[ "$(sqlite3 i.db "SELECT count(*) FROM leases")" = 0 ] || fail "leases left after Ctrl-C"
[ "$(sqlite3 i.db "SELECT count(*) FROM runs WHERE status IN ('running', 'done')")" = 0 ] ||
  fail "runs not stopped: $(sqlite3 i.db 'SELECT status, steps_done FROM runs')"
expect_exit 0 "$SCALELAB" status int --db i.db
expect_contains "$OUT" "0/2 done"

# Resume, then cancel from another shell while it runs.
setsid "$SCALELAB" sweep int.toml --db i.db --jobs 2 --threads-per-job 1 > second.out 2>&1 &
orch=$!
wait_for "SELECT count(*) FROM runs WHERE status = 'running' AND attempts >= 2"
expect_exit 0 "$SCALELAB" cancel int --db i.db
expect_contains "$OUT" "asked to stop at a checkpoint"
set +e; wait $orch; code=$?; set -e
[ "$code" = 0 ] || fail "cancelled sweep exited $code: $(cat second.out)"
[ "$(sqlite3 i.db "SELECT count(*) FROM runs WHERE status = 'cancelled'")" = 2 ] ||
  fail "runs not cancelled: $(sqlite3 i.db 'SELECT status FROM runs')"
expect_exit 0 "$SCALELAB" sweep int.toml --db i.db
expect_contains "$OUT" "0/2 done"  # cancelled runs stay cancelled until retried

expect_exit 0 "$SCALELAB" retry int --db i.db --failed
expect_contains "$OUT" "0 failed run(s) requeued"
expect_exit 0 "$SCALELAB" retry int --db i.db
expect_contains "$OUT" "2 failed or cancelled run(s) requeued"
expect_exit 0 "$SCALELAB" sweep int --db i.db --jobs 2 --threads-per-job 1
expect_contains "$OUT" "2/2 done"
sqlite3 i.db "SELECT r.id, CAST(r.planned_tokens / 256 AS INTEGER), count(m.step), max(m.step)
              FROM runs r JOIN metrics m ON m.run_id = r.id AND m.split = 'train' GROUP BY r.id" |
  while IFS='|' read -r id want got last; do
    [ "$got" = "$want" ] && [ "$last" = "$want" ] || fail "run $id: $got train rows up to $last, want $want"
  done
echo "interrupted, cancelled, retried and resumed: both runs complete"
