# A cooldown ladder end to end (docs/ladders.md): `plan` shows the trunk, its
# branches and what the ladder saves; `sweep` trains the trunk, forks each branch
# once its checkpoint exists, and records parent and fork step; and a branch's
# whole curve is bit-identical to the independent WSD run to its D, trained alone
# on the same thread count. Then the ladder inputs that must exit 2 and write nothing.
source "$(dirname "$0")/lib.sh" "$@"
make_corpus corpus.txt
tiny_ladder_toml 1 "[12800, 25600, 51200]" > lad.toml
expect_exit 0 "$SCALELAB" plan lad.toml --no-calibrate
expect_contains "$OUT" "trunk"
expect_contains "$OUT" "fork at 150 of"
expect_contains "$OUT" "note: ladder: 1 trunk(s) and 3 cooldown branches"
expect_exit 0 "$SCALELAB" plan lad.toml --no-calibrate --json
[ "$(echo "$OUT" | jq '[.runs[] | select(.parent != null)] | length')" = 3 ] || fail "plan --json: want 3 branches"

plan_tokens=$(echo "$OUT" | jq '.totals.tokens')
expect_exit 0 "$SCALELAB" sweep lad.toml --db l.db --jobs 2 --threads-per-job 1 --quiet
expect_contains "$OUT" "4/4 done"
# status counts a branch's own tokens only, as plan does: the trunk's are not counted twice.
expect_exit 0 "$SCALELAB" status lad --db l.db --json
[ "$(echo "$OUT" | jq '.[0].tokens_total')" = "$plan_tokens" ] ||
  fail "status totals $(echo "$OUT" | jq '.[0].tokens_total') tokens, plan $plan_tokens"
trunk=$(sqlite3 l.db "SELECT id FROM runs WHERE name LIKE '%/trunk'")
[ "$(sqlite3 l.db "SELECT count(*) FROM runs WHERE parent_id = '$trunk'")" = 3 ] || fail "3 branches of the trunk"
# The longest branch (200 steps) forks where its 25% cooldown begins, the trunk's last step.
[ "$(sqlite3 l.db "SELECT group_concat(fork_step) FROM (SELECT fork_step FROM runs WHERE parent_id = '$trunk' ORDER BY fork_step)")" = "37,75,150" ] ||
  fail "fork steps: $(sqlite3 l.db "SELECT fork_step FROM runs WHERE parent_id = '$trunk'")"
[ "$(sqlite3 l.db "SELECT steps_done FROM runs WHERE id = '$trunk'")" = 150 ] || fail "the trunk should end at the last fork"
[ -s "runs/$trunk/fork-75.pt" ] || fail "the trunk did not keep its fork checkpoint"

# The independent run of the middle branch: its resolved config, trained alone.
branch=$(sqlite3 l.db "SELECT name FROM runs WHERE parent_id = '$trunk' AND fork_step = 75")
expect_exit 0 "$SCALELAB" plan lad.toml --no-calibrate --show "$branch"
echo "$OUT" > alone.toml
expect_exit 0 "$SCALELAB" train alone.toml --db alone.db --runs-dir alone-runs --threads 1 --quiet
id=$(sqlite3 alone.db "SELECT id FROM runs")
[ "$(sqlite3 l.db "SELECT name FROM runs WHERE id = '$id'")" = "$branch" ] || fail "the independent run has another id"
q="SELECT split, step, tokens, flops, printf('%.17g %.17g %.17g', loss, lr, grad_norm) FROM metrics WHERE run_id = '$id' ORDER BY split, step"
sqlite3 l.db "$q" > ladder.txt
sqlite3 alone.db "$q" > alone.txt
[ "$(grep -c '^train|' alone.txt)" = 100 ] || fail "the independent run should log 100 train rows"
diff alone.txt ladder.txt > /dev/null || { diff alone.txt ladder.txt | head; fail "the branch's curve differs from the independent run's"; }
[ "$(sqlite3 l.db "SELECT printf('%.17g', final_val_loss) FROM runs WHERE id = '$id'")" = \
  "$(sqlite3 alone.db "SELECT printf('%.17g', final_val_loss) FROM runs")" ] || fail "final val losses differ"

# --- bad ladders: one line, exit 2, no database
bad() {  # NAME WANT SED
  sed "$3" lad.toml > "$1.toml"
  expect_exit 2 "$SCALELAB" sweep "$1.toml" --db "$1.db"
  expect_contains "$ERR" "$2"
  [ "$(echo "$ERR" | wc -l)" = 1 ] || fail "$1: want one line, got: $ERR"
  [ ! -e "$1.db" ] || fail "$1: a bad ladder wrote $1.db"
}
bad cosine 'cosine.toml:13: train.schedule: a ladder'"'"'s branches are WSD runs' 's/schedule = "wsd"/schedule = "cosine"/'
bad nocool "train.decay_fraction: a ladder's cooldown fraction must be in (0, 1), got 0" 's/decay_fraction = 0.25/decay_fraction = 0/'
bad short "ladder.trunk_tokens_per_param: branch" 's/^\[axes\]/[ladder]\ntrunk_tokens_per_param = 1\n[axes]/'
echo "ladder_bitexact: ok (3 branches of one trunk; the middle one equals its independent run over $(wc -l < alone.txt) rows)"
