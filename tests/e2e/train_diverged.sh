# A NaN loss ends the run as `diverged` with its step; the process does not crash.
source "$(dirname "$0")/lib.sh" "$@"
printf 'Some English text for a corpus.\n%.0s' $(seq 400) > corpus.txt
cat > run.toml <<TOML
[data]
path = "corpus.txt"
[model]
n_layer = 2
d_model = 32
n_head = 2
seq_len = 32
[train]
tokens = 16384
batch_tokens = 512
lr = 1e6
grad_clip = 0
warmup_steps = 0
[eval]
log_every = 1
TOML
expect_exit 3 "$SCALELAB" train run.toml --db d.db --json
expect_contains "$OUT" '"status":"diverged"'
[ "$(sqlite3 d.db 'SELECT status FROM runs')" = diverged ] || fail "status not diverged"
err=$(sqlite3 d.db 'SELECT error FROM runs')
expect_contains "$err" "at step" "stored error"
echo "diverged: $err"
