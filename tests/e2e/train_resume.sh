# A run stopped at a checkpoint and resumed writes exactly the curve of an
# uninterrupted run: same rows, bit-identical losses, no duplicates, no gaps.
source "$(dirname "$0")/lib.sh" "$@"
make_corpus corpus.txt
cat > run.toml <<TOML
[data]
path = "corpus.txt"
[model]
n_layer = 2
d_model = 32
n_head = 2
seq_len = 32
[train]
tokens = 40960
batch_tokens = 512
[eval]
every = 10
log_every = 1
[checkpoint]
every = 25
TOML
expect_exit 0 "$SCALELAB" train run.toml --db full.db --threads 1 --quiet
# Interrupted run: stops after 37 steps (checkpointed there), resumed to the end.
expect_exit 0 "$SCALELAB" train run.toml --db part.db --threads 1 --quiet --stop-after 37
[ "$(sqlite3 part.db 'SELECT status FROM runs')" = stopped ] || fail "run not marked stopped"
expect_exit 2 "$SCALELAB" train run.toml --db part.db --threads 1 --quiet
expect_contains "$ERR" "pass --resume"
expect_exit 0 "$SCALELAB" train run.toml --db part.db --threads 1 --quiet --resume
[ "$(sqlite3 part.db 'SELECT status FROM runs')" = done ] || fail "resumed run not done"
q="SELECT split, step, tokens, flops, printf('%.17g %.17g %.17g', loss, lr, grad_norm) FROM metrics ORDER BY split, step"
sqlite3 full.db "$q" > full.txt
sqlite3 part.db "$q" > part.txt
diff full.txt part.txt > /dev/null || { diff full.txt part.txt | head; fail "resumed curve differs"; }
[ "$(grep -c '^train|' full.txt)" = 80 ] || fail "want 80 train rows, got $(grep -c '^train|' full.txt)"
dups=$(sqlite3 part.db "SELECT count(*) FROM (SELECT run_id, split, step FROM metrics GROUP BY 1,2,3 HAVING count(*) > 1)")
[ "$dups" = 0 ] || fail "duplicate (run, split, step) rows"
[ "$(sqlite3 part.db 'SELECT attempts FROM runs')" = 2 ] || fail "attempts should be 2"

# A run registered by an older release, whose config this parser hashes to another
# id (its warmup_steps = -1, which configs now resolve to steps), keeps its id and
# checkpoint: `train --run` resumes it from where it stopped.
expect_exit 0 "$SCALELAB" train run.toml --db old.db --runs-dir old --threads 1 --quiet --stop-after 37
id=$(sqlite3 old.db 'SELECT id FROM runs')
# As the older release stored it: the config with -1, under the id that text hashed to.
aged=00000000000000a9
sqlite3 old.db "PRAGMA foreign_keys = OFF; BEGIN;
  UPDATE runs SET config_toml = replace(config_toml, 'warmup_steps = 2', 'warmup_steps = -1'), id = '$aged';
  UPDATE metrics SET run_id = '$aged'; COMMIT;"
sqlite3 old.db 'SELECT config_toml FROM runs' | grep -q '^warmup_steps = -1$' || fail "could not age the stored config"
mv "old/$id" "old/$aged"
id=$aged
expect_exit 0 "$SCALELAB" train --run "$id" --db old.db --runs-dir old --threads 1 --quiet --resume
[ "$(sqlite3 old.db 'SELECT count(*) || status FROM runs')" = 1done ] || fail "the aged run did not finish as itself"
[ "$(ls old)" = "$id" ] || fail "the aged run trained outside old/$id: $(ls old)"
sqlite3 old.db "$q" > old.txt
diff full.txt old.txt > /dev/null || { diff full.txt old.txt | head; fail "the aged run's resumed curve differs"; }
echo "resume is bit-exact over $(wc -l < full.txt) metric rows"
