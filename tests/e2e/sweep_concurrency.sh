# 8 workers writing one database at once (a metric row every step): no worker
# ever reports "database is locked", no run fails, and no metric row is lost.
source "$(dirname "$0")/lib.sh" "$@"
make_corpus corpus.txt
{ printf '%s\n' 'name = "many"'; tiny_model_toml; cat <<'TOML'
[eval]
every = 20
batches = 1
log_every = 1
[checkpoint]
every = 50
[axes]
params = [4e3, 2.5e4]
tokens = [3e4, 4e4, 5e4, 6e4]
seed = [1, 2]
TOML
} > many.toml
expect_exit 0 "$SCALELAB" sweep many.toml --db m.db --jobs 8 --threads-per-job 1
expect_contains "$OUT" "16/16 done"
# 8 workers really overlapped: runs whose [started_at, finished_at) contain another's start.
peak=$(sqlite3 m.db "SELECT max(n) FROM (SELECT (SELECT count(*) FROM runs q WHERE q.started_at <= r.started_at
                                                  AND q.finished_at > r.started_at) AS n FROM runs r)")
[ "$peak" -ge 8 ] || fail "only $peak workers overlapped"
! grep -il "locked\|busy" runs/*/worker.log || fail "a worker saw a locked database"
[ "$(sqlite3 m.db "SELECT count(*) FROM runs WHERE status = 'done' AND failures = 0")" = 16 ] || fail "runs failed"
# Every step of every run is there exactly once.
sqlite3 m.db "SELECT r.id, CAST(r.planned_tokens / 256 AS INTEGER), count(m.step), count(DISTINCT m.step)
              FROM runs r LEFT JOIN metrics m ON m.run_id = r.id AND m.split = 'train' GROUP BY r.id" |
  while IFS='|' read -r id want got distinct; do
    [ "$got" = "$want" ] && [ "$distinct" = "$want" ] || fail "run $id: $got train rows ($distinct distinct), want $want"
  done
total=$(sqlite3 m.db "SELECT count(*) FROM metrics")
want=$(sqlite3 m.db "SELECT sum(CAST(planned_tokens / 256 AS INTEGER)) + sum((CAST(planned_tokens / 256 AS INTEGER) + 19) / 20) FROM runs")
[ "$total" = "$want" ] || fail "$total metric rows, want $want"
echo "16 runs by 8 concurrent workers: $total metric rows, none lost, no lock errors (peak $peak at once)"
