# What the data-constrained law needs per run: unique_tokens (the training split's
# size), epochs (tokens_done / unique_tokens, also across a resume) and the standard
# error of the final validation loss; shown by `runs`, warned about by `plan`.
source "$(dirname "$0")/lib.sh" "$@"
cat "$SRC"/README.md "$SRC"/docs/*.md > docs.txt
head -c 60000 docs.txt > corpus.txt  # a fixed size, so the epochs below are known
cat > run.toml <<TOML
[data]
path = "corpus.txt"
val_fraction = 0.05
[model]
n_layer = 1
d_model = 32
n_head = 2
seq_len = 32
[train]
tokens = 40960
batch_tokens = 512
[eval]
every = 20
batches = 4
[checkpoint]
every = 25
TOML
size=$(stat -c %s corpus.txt)
want_unique=$(python3 -c "print($size - round(0.05 * $size))")

check_run() {  # DB
  local row
  row=$(sqlite3 -separator ' ' "$1" "SELECT status, unique_tokens, tokens_done, epochs, final_val_loss_se,
                                     final_val_loss FROM runs")
  read -r status unique tokens epochs se loss <<<"$row"
  [ "$status" = done ] || fail "$1: status $status"
  python3 - "$unique" "$want_unique" "$tokens" "$epochs" "$se" "$loss" <<'PY' || fail "$1: $row"
import sys
unique, want, tokens, epochs, se, loss = map(float, sys.argv[1:])
assert unique == want, f"unique_tokens {unique}, want the training split's {want} bytes"
assert abs(epochs - tokens / unique) < 1e-12 * epochs, f"epochs {epochs} != {tokens} / {unique}"
assert 0 < se < loss, f"final_val_loss_se {se} (loss {loss})"
PY
}

expect_exit 0 "$SCALELAB" train run.toml --db full.db --threads 1 --quiet
check_run full.db
# Stopped and resumed: epochs count every token since step 0, not the last attempt's.
expect_exit 0 "$SCALELAB" train run.toml --db part.db --threads 1 --quiet --stop-after 30
expect_exit 0 "$SCALELAB" train run.toml --db part.db --threads 1 --quiet --resume
check_run part.db
[ "$(sqlite3 full.db 'SELECT epochs, final_val_loss_se FROM runs')" = \
  "$(sqlite3 part.db 'SELECT epochs, final_val_loss_se FROM runs')" ] || fail "resumed run records other numbers"

expect_exit 0 "$SCALELAB" runs --db full.db
expect_contains "$OUT" "epochs"
expect_exit 0 "$SCALELAB" runs --db full.db --json
[ "$(echo "$OUT" | jq '.[0] | [.unique_tokens, .epochs, .final_val_loss_se] | map(type == "number") | all')" = true ] ||
  fail "runs --json lacks the new fields: $OUT"

# plan: one warning line on stderr for runs that repeat their data more than 4 times.
{ printf '%s\n' 'name = "epochs"'; tiny_model_toml; cat <<'TOML'
[axes]
params = [2e4]
tokens = [1e5, 1e6]
TOML
} > sweep.toml
expect_exit 0 "$SCALELAB" plan sweep.toml --no-calibrate
expect_contains "$OUT" "total: 2 runs"
[ "$(echo "$ERR" | grep -c 'warning: 1 of 2 planned runs would train for more than 4 epochs')" = 1 ] ||
  fail "plan: want one epochs warning, stderr: $ERR"
echo "unique_tokens $want_unique, epochs and the val loss SE recorded; plan warns"
