# Bits per byte (docs/fits.md): runs on byte-level text and on a tokens directory
# with a meta.json record their tokenizer and bytes per token; `runs --json` shows
# bpb = loss / (ln 2 x bytes per token); a fit over both in nats is refused, and
# `fit --loss bpb` fits them together and records its unit.
source "$(dirname "$0")/lib.sh" "$@"
make_corpus corpus.txt

# A tokens directory by hand: two bytes per token, ids (b0 * 256 + b1) mod 512,
# in nanoGPT's format (uint16, no header), with the meta.json `data tokenize` writes.
mkdir tok
python3 - corpus.txt tok <<'PY'
import hashlib, json, os, struct, sys
text = open(sys.argv[1], "rb").read()
text = text[: len(text) // 2 * 2]
ids = [(text[i] * 256 + text[i + 1]) % 512 for i in range(0, len(text), 2)]
n_val = max(len(ids) // 20, 512)
splits = {"train": ids[:-n_val], "val": ids[-n_val:]}
out = sys.argv[2]
for name, toks in splits.items():
    open(os.path.join(out, name + ".bin"), "wb").write(struct.pack("<%dH" % len(toks), *toks))
model = b"not a real sentencepiece model: pairs of bytes mod 512"
open(os.path.join(out, "tokenizer.model"), "wb").write(model)
meta = {"format": "scalelab-tokens-1",
        "tokenizer": {"kind": "sentencepiece", "model_type": "bpe", "vocab": 512,
                      "sha256": hashlib.sha256(model).hexdigest(), "file": "tokenizer.model"},
        "dtype": "uint16", "seed": 1, "val_fraction": 0.05,
        "source": {"path": os.path.abspath(sys.argv[1]), "bytes": len(text), "sha256": hashlib.sha256(text).hexdigest()},
        "splits": {k: {"tokens": len(v), "bytes": 2 * len(v), "bytes_per_token": 2.0} for k, v in splits.items()}}
json.dump(meta, open(os.path.join(out, "meta.json"), "w"))
PY
sha=$(sha256sum tok/tokenizer.model | cut -c1-16)

# One sweep config file, run twice: on the text, then (edited) on the tokens; the
# sweep keeps its id (its name and path), so both rounds' runs are its runs.
sweep_toml() {  # DATA_TABLE VOCAB
  cat <<TOML
name = "bpb"
mode = "isoflop"
[data]
$1
[model]
seq_len = 32
head_dim = 16
aspect_ratio = 16
vocab = $2
[train]
batch_tokens = 256
micro_batch = 8
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
}
sweep_toml 'path = "corpus.txt"' 256 > sweep.toml
expect_exit 0 "$SCALELAB" sweep sweep.toml --db s.db --jobs 2
sweep_toml "$(printf 'kind = "tokens"\npath = "tok"')" 512 > sweep.toml
expect_exit 0 "$SCALELAB" sweep sweep.toml --db s.db --jobs 2
[ "$(sqlite3 s.db "SELECT count(*) FROM runs WHERE status = 'done'")" = 12 ] || fail "want 12 finished runs"
[ "$(sqlite3 s.db "SELECT group_concat(DISTINCT tokenizer || '=' || bytes_per_token) FROM runs ORDER BY 1")" \
  = "bytes=1.0,sentencepiece:$sha=2.0" ] || fail "tokenizers: $(sqlite3 s.db 'SELECT tokenizer, bytes_per_token FROM runs')"

expect_exit 0 "$SCALELAB" runs --db s.db --json
echo "$OUT" > runs.json
python3 - runs.json <<'PY' || fail "runs --json: bits per byte is not loss / (ln 2 x bytes per token)"
import json, math, sys
runs = json.load(open(sys.argv[1]))
assert len(runs) == 12
for r in runs:
    bpt = 1.0 if r["tokenizer"] == "bytes" else 2.0
    assert r["bytes_per_token"] == bpt, r
    assert abs(r["final_val_bpb"] - r["final_val_loss"] / (math.log(2) * bpt)) < 1e-12, r
    assert abs(r["final_train_bpb"] - r["final_train_loss"] / (math.log(2) * r["train_bytes_per_token"])) < 1e-12, r
    assert abs(r["final_val_bpb_se"] - r["final_val_loss_se"] / (math.log(2) * bpt)) < 1e-12, r
PY
expect_exit 0 "$SCALELAB" runs --db s.db
expect_contains "$OUT" "val bpb"
expect_exit 0 "$SCALELAB" status bpb --db s.db --json
[ "$(echo "$OUT" | jq '[.[0].runs[] | select(.final_val_bpb == null)] | length')" = 0 ] || fail "status --json lacks bpb"

FIT=(--law chinchilla --no-filter --holdout none --bootstrap 0)
expect_exit 2 "$SCALELAB" fit bpb --db s.db "${FIT[@]}"
[ "$(echo "$ERR" | wc -l)" = 1 ] || fail "want one line: $ERR"
expect_contains "$ERR" "runs use 2 tokenizers (bytes, sentencepiece:$sha): losses in nats per token are not comparable across them; fit in bits per byte with --loss bpb"
[ "$(sqlite3 s.db 'SELECT count(*) FROM fits')" = 0 ] || fail "a refused fit was stored"

expect_exit 0 "$SCALELAB" fit bpb --db s.db "${FIT[@]}" --loss bpb
expect_contains "$OUT" "losses in bits per byte"
[ "$(sqlite3 s.db "SELECT json_extract(conventions, '$.loss_unit') FROM fits")" = "bits/byte" ] ||
  fail "the fit does not record its loss unit"
expect_exit 0 "$SCALELAB" forecast --db s.db --compute 1e12
expect_contains "$OUT" "bits/byte"
expect_exit 0 "$SCALELAB" forecast --db s.db --compute 1e12 --json
[ "$(echo "$OUT" | jq -r '.loss_unit')" = "bits/byte" ] || fail "forecast --json: $OUT"
[ "$(echo "$OUT" | jq -r '.quantities.loss.unit')" = "bits/byte" ] || fail "forecast --json loss unit: $OUT"

[ "$(sqlite3 s.db "SELECT json_extract(selection, '$.used') FROM fits")" = 12 ] || fail "the fit did not use all 12 runs"
echo "fit_bpb: ok"
