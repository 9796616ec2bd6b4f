# kill -9 of the orchestrator: its workers stop at a checkpoint (they die with
# it), and a restarted `scalelab sweep` finishes the sweep without training any
# finished run again and without losing a metric row.
source "$(dirname "$0")/lib.sh" "$@"
make_corpus corpus.txt
{ printf '%s\n' 'name = "orch"'; tiny_model_toml; cat <<'TOML'
[eval]
every = 40
batches = 2
log_every = 1
[checkpoint]
every = 25
[axes]
params = [4e3, 2.5e4]
tokens = [3e4, 6e5]
TOML
} > orch.toml
setsid "$SCALELAB" sweep orch.toml --db o.db --jobs 2 --threads-per-job 1 > first.out 2>&1 &
orch=$!
trap 'kill -9 $orch 2>/dev/null || true; rm -rf "$WORK"' EXIT
# Kill it once one run is done and another is well under way.
for _ in $(seq 1200); do
  done_n=$(sqlite3 o.db "SELECT count(*) FROM runs WHERE status = 'done'" 2>/dev/null || echo 0)
  busy=$(sqlite3 o.db "SELECT count(*) FROM runs r WHERE status = 'running' AND (SELECT max(step) FROM metrics m
                        WHERE m.run_id = r.id AND m.split = 'train') >= 30" 2>/dev/null || echo 0)
  [ "${done_n:-0}" -ge 1 ] && [ "${busy:-0}" -ge 1 ] && break
  sleep 0.1
done
[ "${done_n:-0}" -ge 1 ] && [ "${busy:-0}" -ge 1 ] || fail "never reached a done and a running run: $(cat first.out)"
kill -9 $orch
set +e; wait $orch 2>/dev/null; rc=$?; set -e
[ "$rc" = 137 ] || fail "the orchestrator exited $rc before the kill -9 reached it: $(cat first.out)"
sqlite3 o.db "SELECT id, finished_at, attempts FROM runs WHERE status = 'done' ORDER BY id" > done_before.txt
# Its workers follow it within seconds (parent-death signal, then a checkpoint).
for _ in $(seq 300); do
  pgrep -f "train --run .* --db $WORK/o.db" > /dev/null || break
  sleep 0.1
done
! pgrep -f "train --run .* --db $WORK/o.db" > /dev/null || fail "workers outlived their orchestrator"

expect_exit 0 "$SCALELAB" sweep orch.toml --db o.db --jobs 2 --threads-per-job 1
expect_contains "$OUT" "4/4 done"
# The runs finished before the kill were not touched again.
sqlite3 o.db "SELECT id, finished_at, attempts FROM runs WHERE id IN ($(cut -d'|' -f1 done_before.txt |
  sed "s/.*/'&'/" | paste -sd,)) ORDER BY id" > done_after.txt
diff done_before.txt done_after.txt > /dev/null || fail "a finished run was rerun: $(diff done_before.txt done_after.txt)"
[ "$(sqlite3 o.db "SELECT count(*) FROM runs WHERE status = 'done'")" = 4 ] || fail "not all runs done"
[ "$(sqlite3 o.db "SELECT count(*) FROM leases")" = 0 ] || fail "leases left behind"
# No row lost: every run has every train step.
sqlite3 o.db "SELECT r.id, CAST(r.planned_tokens / 256 AS INTEGER), count(m.step), max(m.step)
              FROM runs r JOIN metrics m ON m.run_id = r.id AND m.split = 'train' GROUP BY r.id" |
  while IFS='|' read -r id want got last; do
    [ "$got" = "$want" ] && [ "$last" = "$want" ] || fail "run $id: $got train rows up to step $last, want $want"
  done
echo "orchestrator killed with $(wc -l < done_before.txt) run(s) done; restart finished the rest, rerunning none"
