# Two databases in one directory share runs/ (run ids are content hashes). A run
# finished for the first must be trained in full for the second, not "resumed"
# from the first's final checkpoint into a finished run with no curve.
source "$(dirname "$0")/lib.sh" "$@"
make_corpus corpus.txt
cat > run.toml <<TOML
[data]
path = "corpus.txt"
[model]
n_layer = 1
d_model = 16
n_head = 2
seq_len = 32
[train]
tokens = 20480
batch_tokens = 512
[eval]
every = 10
log_every = 1
[checkpoint]
every = 20
TOML
expect_exit 0 "$SCALELAB" train run.toml --db one.db --threads 1 --quiet
[ -f runs/*/checkpoint.pt ] || fail "the first database left no checkpoint in runs/"
# A sweep worker always passes --resume; so does this.
expect_exit 0 "$SCALELAB" train run.toml --db two.db --threads 1 --resume
expect_contains "$ERR" "belongs to another database"
q="SELECT split, step, printf('%.17g', loss) FROM metrics ORDER BY split, step"
[ "$(sqlite3 two.db "SELECT status FROM runs")" = done ] || fail "second database's run is not done"
[ "$(sqlite3 two.db "$q")" = "$(sqlite3 one.db "$q")" ] || fail "second database's curve differs from the first's"
[ "$(sqlite3 two.db "SELECT count(*) FROM metrics WHERE split = 'train'")" = 40 ] || fail "want 40 train rows"
