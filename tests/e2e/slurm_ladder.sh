# A cooldown ladder through the SLURM backend (docs/ladders.md): the trunk goes out
# first; each branch is submitted once the trunk has passed its fork step, starts
# from the trunk's fork checkpoint on the shared runs directory, and inherits the
# trunk's rows in the main store. Every curve equals the local backend's ladder
# row for row (CPU, one thread each), and a resubmission submits nothing.
source "$(dirname "$0")/lib.sh" "$@"
source "$SRC/tests/e2e/slurm_common.bash"
need_slurm
make_corpus corpus.txt
tiny_ladder_toml 1 "[12800, 25600, 51200, 3276800]" > lad.toml

expect_exit 0 "$SCALELAB" sweep lad.toml --db local.db --runs-dir local-runs --jobs 2 --threads-per-job 1 --quiet
expect_exit 0 "$SCALELAB" sweep lad.toml --db slurm.db --backend slurm --threads-per-job 1 --max-parallel 2
echo "$OUT"
expect_contains "$OUT" "5/5 done"
# The trunk alone in the first array: no branch can go before its fork exists.
arrays=$(echo "$OUT" | grep -c "submitted job array" || true)
[ "$arrays" -ge 2 ] || fail "want the trunk and its branches in separate submissions, got $arrays array(s)"
first=$(ls runs/slurm/*/*/part0.runs | sort | head -1)
trunk=$(sqlite3 slurm.db "SELECT id FROM runs WHERE name LIKE '%/trunk'")
[ "$(cat "$first")" = "$trunk" ] || fail "the first array should hold only the trunk: $(cat "$first")"
[ -s "runs/$trunk/fork-75.pt" ] || fail "the trunk did not keep its fork checkpoint"
[ "$(sqlite3 slurm.db "SELECT group_concat(fork_step) FROM (SELECT fork_step FROM runs WHERE parent_id = '$trunk' ORDER BY fork_step)")" = "37,75,150,9600" ] ||
  fail "fork steps: $(sqlite3 slurm.db "SELECT fork_step FROM runs WHERE parent_id = '$trunk'")"

curve() {  # DB RUN
  sqlite3 "$1" "SELECT split, step, tokens, flops, printf('%.17g %.17g %.17g', loss, lr, grad_norm) FROM metrics WHERE run_id = '$2' ORDER BY split, step"
}
for id in $(sqlite3 local.db "SELECT id FROM runs ORDER BY id"); do
  [ "$(sqlite3 slurm.db "SELECT status FROM runs WHERE id = '$id'")" = done ] ||
    fail "run $id: $(sqlite3 slurm.db "SELECT status, error FROM runs WHERE id = '$id'")"
  curve local.db "$id" > "local_$id.txt"
  curve slurm.db "$id" > "slurm_$id.txt"
  [ "$(wc -l < "slurm_$id.txt")" -gt 30 ] || fail "run $id: no curve in the main store"
  cmp -s "local_$id.txt" "slurm_$id.txt" || { diff "local_$id.txt" "slurm_$id.txt" | head -5; fail "run $id: curves differ"; }
  [ "$(sqlite3 local.db "SELECT printf('%.17g', final_val_loss) FROM runs WHERE id = '$id'")" = \
    "$(sqlite3 slurm.db "SELECT printf('%.17g', final_val_loss) FROM runs WHERE id = '$id'")" ] || fail "run $id: final losses differ"
done
# Branches went out while their trunk still trained (9,600 steps; trunk progress
# arrives with its heartbeats, every 5 s): the second submission precedes the trunk's finish.
second=$(echo "$OUT" | grep -n "submitted job array" | sed -n 2p | cut -d: -f1)
trunk_done=$(echo "$OUT" | grep -n "done   lad/.*/trunk" | cut -d: -f1)
[ -n "$second" ] && [ -n "$trunk_done" ] && [ "$second" -lt "$trunk_done" ] ||
  fail "no branch was submitted before the trunk finished (lines $second, $trunk_done)"
# A branch's shard holds only its own rows from the fork on: the trunk's came through the main store.
b=$(sqlite3 slurm.db "SELECT id FROM runs WHERE parent_id = '$trunk' AND fork_step = 75")
[ "$(sqlite3 "runs/$b/result.db" "SELECT min(step) FROM metrics WHERE run_id = '$b'")" -ge 75 ] ||
  fail "the branch's shard holds pre-fork rows"

expect_exit 0 "$SCALELAB" sweep lad.toml --db slurm.db --backend slurm
case "$OUT" in *"submitted job array"*) fail "a finished ladder was submitted again: $OUT" ;; esac
echo "slurm_ladder: ok (trunk then branches, $arrays submissions; 5 curves equal the local ladder's)"
