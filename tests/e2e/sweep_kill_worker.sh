# kill -9 of a worker mid-run: the orchestrator sees it, retries the run from its
# last checkpoint, and the stored curve is complete, gap-free, without duplicate
# (run, split, step) rows, and bit-identical to an uninterrupted run's.
source "$(dirname "$0")/lib.sh" "$@"
make_corpus corpus.txt
{ printf '%s\n' 'name = "kill"'; tiny_model_toml; cat <<'TOML'
[eval]
every = 40
batches = 2
log_every = 1
[checkpoint]
every = 25
[axes]
params = [2.5e4]
tokens = [3.2e5]
TOML
} > kill.toml
setsid "$SCALELAB" sweep kill.toml --db k.db --jobs 1 --threads-per-job 1 > sweep.out 2>&1 &
orch=$!
trap 'kill -9 $orch 2>/dev/null || true; rm -rf "$WORK"' EXIT
# Wait until the run is past two checkpoints, then kill its worker.
for _ in $(seq 600); do
  step=$(sqlite3 k.db "SELECT max(step) FROM metrics WHERE split = 'train'" 2>/dev/null || true)
  [ "${step:-0}" -ge 60 ] 2>/dev/null && break
  sleep 0.1
done
[ "${step:-0}" -ge 60 ] || fail "the run never got going: $(cat sweep.out)"
worker=$(sqlite3 k.db "SELECT worker_pid FROM leases")
[ -n "$worker" ] || fail "no worker pid in the lease"
kill -9 "$worker"
wait $orch || fail "sweep exited $?: $(cat sweep.out)"
expect_contains "$(cat sweep.out)" "killed by SIGKILL"
expect_contains "$(cat sweep.out)" "1/1 done"
id=$(sqlite3 k.db "SELECT id FROM runs")
[ "$(sqlite3 k.db "SELECT status || ' ' || attempts || ' ' || failures FROM runs")" = "done 2 1" ] ||
  fail "want the run done after 2 attempts and 1 failure: $(sqlite3 k.db 'SELECT status, attempts, failures FROM runs')"
steps=$(sqlite3 k.db "SELECT CAST(planned_tokens / 256 AS INTEGER) FROM runs")
[ "$(sqlite3 k.db "SELECT count(*) || ' ' || min(step) || ' ' || max(step) FROM metrics WHERE split = 'train'")" = "$steps 1 $steps" ] ||
  fail "train curve has gaps"
dups=$(sqlite3 k.db "SELECT count(*) FROM (SELECT run_id, split, step FROM metrics GROUP BY 1, 2, 3 HAVING count(*) > 1)")
[ "$dups" = 0 ] || fail "duplicate (run, split, step) rows"
grep -q "killed by SIGKILL\|attempt 2" "$(sqlite3 k.db 'SELECT log_path FROM runs')" || fail "log does not show the second attempt"

# The same resolved config trained without interruption gives the same curve, bit for bit.
sqlite3 k.db "SELECT config_toml FROM runs" > ref.toml
expect_exit 0 "$SCALELAB" train ref.toml --db ref.db --runs-dir ref-runs --threads 1 --quiet
[ "$(sqlite3 ref.db 'SELECT id FROM runs')" = "$id" ] || fail "the stored config does not reproduce the run id"
q="SELECT split, step, tokens, printf('%.17g %.17g %.17g', loss, lr, grad_norm) FROM metrics ORDER BY split, step"
diff <(sqlite3 ref.db "$q") <(sqlite3 k.db "$q") > /dev/null || fail "the resumed curve differs from an uninterrupted run"
echo "worker killed at step $step; resumed curve of $steps steps is complete and bit-identical"
