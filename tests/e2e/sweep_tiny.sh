# A tiny IsoFLOP sweep through the binary: plan (table, JSON, calibration cache),
# sweep, idempotent resubmission, an edit that adds only new runs, status.
source "$(dirname "$0")/lib.sh" "$@"
make_corpus corpus.txt
{ printf '%s\n' 'name = "tiny"' 'mode = "isoflop"'; tiny_model_toml; cat <<'TOML'
lr = 3e-3
[eval]
every = 25
batches = 2
[axes]
compute = [1e10, 3e10]
[isoflop]
sizes = 3
span = 64
TOML
} > tiny.toml

# plan: one row per run, FLOPs within 1% of the budget, distinct sizes per budget.
expect_exit 0 "$SCALELAB" plan tiny.toml --no-calibrate
expect_contains "$OUT" "total: 6 runs"
expect_exit 0 "$SCALELAB" plan tiny.toml --json --no-calibrate
echo "$OUT" > plan.json
[ "$(jq '.runs | length' plan.json)" = 6 ] || fail "plan --json: want 6 runs"
[ "$(jq '[.runs[] | (.flops - .budget) / .budget | fabs | select(. > 0.01)] | length' plan.json)" = 0 ] ||
  fail "a run misses its budget by more than 1%"
[ "$(jq '[.runs[] | {budget, n: .params_non_embedding}] | unique | length' plan.json)" = 6 ] ||
  fail "sizes are not distinct within a budget"
[ "$(jq '[.runs[] | select(.tokens_per_param != .tokens / .params_non_embedding)] | length' plan.json)" = 0 ] ||
  fail "tokens per parameter is not D / N"
# Each run's resolved config is in the JSON; --show prints it, by id prefix or name.
jq -r '.runs[0].config' plan.json > want.toml
expect_exit 0 "$SCALELAB" plan tiny.toml --show "$(jq -r '.runs[0].id[0:8]' plan.json)"
[ "$OUT" = "$(cat want.toml)" ] || fail "plan --show ID differs from the config in plan --json"
expect_exit 0 "$SCALELAB" plan tiny.toml --show "$(jq -r '.runs[0].name' plan.json)"
[ "$OUT" = "$(cat want.toml)" ] || fail "plan --show NAME differs from the config in plan --json"
expect_contains "$OUT" "[train]"
expect_exit 2 "$SCALELAB" plan tiny.toml --show nosuchrun
expect_contains "$ERR" "nosuchrun: no planned run"

# Calibration measures each shape once, then answers from the store.
expect_exit 0 "$SCALELAB" plan tiny.toml --db s.db
expect_contains "$ERR" "calibrated L"
[ "$(echo "$OUT" | grep -c ' [0-9.]*s$')" -ge 6 ] || fail "plan rows have no time estimates: $OUT"
expect_exit 0 "$SCALELAB" plan tiny.toml --db s.db
[ -z "$ERR" ] || fail "second plan calibrated again: $ERR"
[ "$(sqlite3 s.db 'SELECT count(*) FROM throughput')" -ge 3 ] || fail "no cached throughput"

start=$(date +%s)
expect_exit 0 "$SCALELAB" sweep tiny.toml --db s.db --jobs 2
expect_contains "$OUT" "6 runs, 6 new, 0 finished already"
expect_contains "$OUT" "6/6 done"
[ "$(sqlite3 s.db "SELECT count(*) FROM runs WHERE status = 'done' AND attempts = 1")" = 6 ] || fail "runs not done once"
for log in $(sqlite3 s.db "SELECT log_path FROM runs"); do [ -s "$log" ] || fail "missing worker log $log"; done
# Every run wrote its whole curve: a train row every 10 steps and at the end, no gaps.
sqlite3 s.db "SELECT r.id, (SELECT count(*) FROM metrics m WHERE m.run_id = r.id AND m.split = 'train'),
                     (r.planned_tokens / 256 + 9) / 10 FROM runs r" |
  while IFS='|' read -r id got want; do [ "$got" = "${want%.*}" ] || fail "run $id: $got train rows, want $want"; done

# Submitting again adds nothing and trains nothing.
expect_exit 0 "$SCALELAB" sweep tiny.toml --db s.db
expect_contains "$OUT" "6 runs, 0 new, 6 finished already"
[ "$(sqlite3 s.db "SELECT sum(attempts) FROM runs")" = 6 ] || fail "a finished run was trained again"

# An edit adds only its new runs; the finished ones are never rerun.
sed -i 's/compute = \[1e10, 3e10\]/compute = [1e10, 3e10, 6e10]/' tiny.toml
expect_exit 0 "$SCALELAB" sweep tiny.toml --db s.db --quiet
expect_contains "$OUT" "9 runs, 3 new, 6 finished already"
[ "$(sqlite3 s.db "SELECT count(*) FROM runs WHERE status = 'done'")" = 9 ] || fail "not all 9 runs done"
[ "$(sqlite3 s.db "SELECT sum(attempts) FROM runs")" = 9 ] || fail "a finished run was trained again"
[ "$(sqlite3 s.db "SELECT count(*) FROM sweeps")" = 1 ] || fail "the edit made a second sweep"

expect_exit 0 "$SCALELAB" status tiny --db s.db
expect_contains "$OUT" "9/9 done"
expect_contains "$OUT" "lowest val loss"
expect_exit 0 "$SCALELAB" status --db s.db --json
[ "$(echo "$OUT" | jq '.[0].done')" = 9 ] || fail "status --json: want 9 done"
[ "$(echo "$OUT" | jq '.[0].flops_done == .[0].flops_total')" = true ] || fail "status --json: FLOPs not all done"
expect_exit 0 "$SCALELAB" status tiny --db s.db --watch
expect_contains "$OUT" "tiny 9/9 done"
expect_exit 2 "$SCALELAB" status nope --db s.db
expect_contains "$ERR" "no sweep 'nope'"
echo "tiny sweep: 9 runs in $(( $(date +%s) - start ))s"
