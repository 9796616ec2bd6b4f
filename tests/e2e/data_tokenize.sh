# `scalelab data tokenize` (issue 18): a SentencePiece tokenizer trained on part
# of the KJV; the tokens folder is whole, lossless (the ids decode to each
# split's text), deterministic, up to date on a rerun, guarded against another
# tokenization, left absent by a kill; and `scalelab train` trains on it.
source "$(dirname "$0")/lib.sh" "$@"
S=$SCALELAB
if ! command -v bible >/dev/null 2>&1; then
  [ "${CI:-}" = true ] && fail "bible-kjv is not installed (scripts/deps.sh installs it)"
  echo "SKIP: bible-kjv is not installed"; exit 0
fi
"$S" data kjv --out kjv.txt >/dev/null
head -n 3000 kjv.txt > small.txt  # about 400 KB: seconds to tokenize
V=2048

expect_exit 0 "$S" data tokenize small.txt --vocab $V --out tok --json
for f in train.bin val.bin tokenizer.model meta.json; do [ -f "tok/$f" ] || fail "tok/$f missing"; done
ls -d tok.tmp-* 2>/dev/null && fail "a temp folder was left"
m=tok/meta.json
[ "$(jq -r .format $m)" = scalelab-tokens-1 ] || fail "format: $(jq -r .format $m)"
[ "$(jq .tokenizer.vocab $m)" = $V ] || fail "vocab $(jq .tokenizer.vocab $m)"
[ "$(jq -r .tokenizer.sha256 $m)" = "$(sha256sum tok/tokenizer.model | cut -d' ' -f1)" ] || fail "tokenizer sha256"
[ "$(jq -r .source.sha256 $m)" = "$(sha256sum small.txt | cut -d' ' -f1)" ] || fail "source sha256"
[ "$(jq -r .tokenizer.sha256 <<<"$OUT")" = "$(jq -r .tokenizer.sha256 $m)" ] || fail "--json differs from meta.json"
bytes=$(wc -c < small.txt)
[ "$(jq '.splits.train.bytes + .splits.val.bytes' $m)" = "$bytes" ] || fail "split bytes do not sum to $bytes"
for s in train val; do
  jq -e ".splits.$s.bytes_per_token > 1" $m >/dev/null || fail "$s: bytes per token $(jq .splits.$s.bytes_per_token $m) <= 1"
  [ "$(( $(jq .splits.$s.tokens $m) * 2 ))" = "$(wc -c < tok/$s.bin)" ] || fail "$s.bin is not 2 bytes per token"
done
echo "bytes per token: train $(jq .splits.train.bytes_per_token $m), val $(jq .splits.val.bytes_per_token $m)"

# Lossless: SentencePiece's own decoder turns each split's ids back into its text.
if command -v spm_decode >/dev/null 2>&1; then
  val_bytes=$(jq .splits.val.bytes $m)
  head -c $((bytes - val_bytes)) small.txt > want.train
  tail -c "$val_bytes" small.txt > want.val
  for s in train val; do
    # spm_decode reads one sequence of ids per line and ends each with a newline.
    { od -An -v -tu2 tok/$s.bin | tr -s ' \n' '  '; echo; } | spm_decode --model tok/tokenizer.model --input_format=id > got.$s
    truncate -s -1 got.$s
    cmp -s got.$s want.$s || fail "$s.bin does not decode to its split's text"
  done
else
  [ "${CI:-}" = true ] && fail "spm_decode is not installed (Debian's sentencepiece, scripts/deps.sh)"
  echo "SKIP (decode check): spm_decode is not installed"
fi

# Deterministic: a second run into a fresh folder writes the same bytes.
expect_exit 0 "$S" data tokenize small.txt --vocab $V --out tok2 --quiet
for f in train.bin val.bin tokenizer.model meta.json; do cmp -s tok/$f tok2/$f || fail "$f differs between two runs"; done

# Up to date: the same source and tokenizer are not rewritten.
before=$(stat -c %Y.%s tok/train.bin tok/meta.json)
sleep 1
expect_exit 0 "$S" data tokenize small.txt --vocab $V --out tok
expect_contains "$OUT" "up to date"
[ "$(stat -c %Y.%s tok/train.bin tok/meta.json)" = "$before" ] || fail "an up-to-date folder was rewritten"

# Another tokenizer into the same folder: refused, one line, nothing touched; --force replaces it.
sums=$(md5sum tok/*)
expect_exit 2 "$S" data tokenize small.txt --vocab 1024 --out tok
expect_contains "$ERR" "--out tok: it holds another tokenization"
[ "$(wc -l <<<"$ERR")" = 1 ] || fail "want one line on stderr: $ERR"
[ "$(md5sum tok/*)" = "$sums" ] || fail "a refused run changed tok/"
expect_exit 0 "$S" data tokenize small.txt --vocab 1024 --out tok --force --quiet
[ "$(jq .tokenizer.vocab tok/meta.json)" = 1024 ] || fail "--force did not replace tok/"
ls -d tok.tmp-* tok.old-* 2>/dev/null && fail "--force left a temp folder"

# --model: the same tokenizer reused gives the same ids; a disagreeing --vocab is refused.
expect_exit 0 "$S" data tokenize small.txt --model tok2/tokenizer.model --out tok3 --quiet
cmp -s tok2/train.bin tok3/train.bin || fail "--model gave other ids"
expect_exit 2 "$S" data tokenize small.txt --model tok2/tokenizer.model --vocab 4000 --out tok4
expect_contains "$ERR" "--vocab 4000: --model tok2/tokenizer.model holds $V pieces"
[ -e tok4 ] && fail "a refused run created tok4"

# A kill leaves no folder a rerun would take as finished; the rerun completes it.
"$S" data tokenize kjv.txt --vocab 4096 --out killed --quiet & pid=$!
sleep 1
kill -9 $pid 2>/dev/null || true  # the run may already have finished on a fast machine
wait $pid 2>/dev/null || true
if [ -e killed ]; then
  [ -f killed/meta.json ] && [ -f killed/train.bin ] || fail "a killed run left a half-written folder"
else
  expect_exit 0 "$S" data tokenize kjv.txt --vocab 4096 --out killed --quiet
  ls -d killed.tmp-* 2>/dev/null && fail "a killed run's temp folder survived the rerun"
fi
[ "$(jq .tokenizer.vocab killed/meta.json)" = 4096 ] || fail "rerun after a kill"

# The trainer reads the folder: a short run on the tokens trains.
cat > run.toml <<TOML
name = "tok-short"
[data]
kind = "tokens"
path = "tok2"
[model]
vocab = $V
n_layer = 1
d_model = 32
n_head = 2
seq_len = 32
[train]
tokens = 8192
batch_tokens = 512
[eval]
every = 8
batches = 2
TOML
expect_exit 0 "$S" train run.toml --db t.db --threads 1 --quiet
[ "$(sqlite3 t.db "SELECT status FROM runs")" = done ] || fail "run status $(sqlite3 t.db "SELECT status FROM runs")"
echo "data_tokenize: ok (vocab $V; lossless, deterministic, guarded; train ran on the tokens)"
