# A short run on real English (KJV) learns more than byte frequencies:
# its validation loss ends below the corpus's byte-unigram entropy.
source "$(dirname "$0")/lib.sh" "$@"
make_corpus data/kjv.txt
H=$("$SCALELAB" data stats data/kjv.txt --json | jq .unigram_entropy_nats)
cat > run.toml <<TOML
name = "kjv-short"
[data]
path = "data/kjv.txt"
[model]
n_layer = 2
d_model = 64
n_head = 2
seq_len = 64
[train]
tokens = 131072
batch_tokens = 2048
lr = 3e-3
[eval]
every = 16
log_every = 4
TOML
start=$(date +%s)
expect_exit 0 "$SCALELAB" train run.toml --db t.db --threads 1
elapsed=$(( $(date +%s) - start ))
[ "$elapsed" -lt 60 ] || fail "short run took ${elapsed}s, want < 60s"
expect_contains "$OUT" "done after 64 steps"
loss=$(sqlite3 t.db "SELECT final_val_loss FROM runs")
awk -v l="$loss" -v h="$H" 'BEGIN{exit !(l < h)}' || fail "val loss $loss not below unigram entropy $H"
echo "val loss $loss < unigram entropy $H nats, ${elapsed}s"

# `runs` lists it; `curves --csv` gives the curve with its header.
expect_exit 0 "$SCALELAB" runs --db t.db
expect_contains "$OUT" "kjv-short"
expect_contains "$OUT" "done"
id=$(sqlite3 t.db "SELECT id FROM runs")
expect_exit 0 "$SCALELAB" curves "${id:0:8}" --db t.db --csv
expect_contains "$OUT" "step,tokens,flops,split,loss,lr,grad_norm,wall_s"
[ "$(grep -c ',val,' <<<"$OUT")" -ge 4 ] || fail "expected >= 4 validation rows"
[ "$(grep -c ',train,' <<<"$OUT")" -eq 16 ] || fail "expected 16 train rows (every 4 of 64 steps)"

# Training the same config again adds nothing: same id, one row.
expect_exit 0 "$SCALELAB" train run.toml --db t.db
expect_contains "$OUT" "already done"
[ "$(sqlite3 t.db 'SELECT count(*) FROM runs')" = 1 ] || fail "duplicate run row"
