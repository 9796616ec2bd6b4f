# Bad input: one line on stderr naming the file, line or key and what is
# expected; exit code 2; nothing written to the database.
source "$(dirname "$0")/lib.sh" "$@"
printf 'Some English text for a corpus.\n%.0s' $(seq 400) > corpus.txt
base() {
  cat <<TOML
[data]
path = "corpus.txt"
[model]
n_layer = 2
d_model = 32
n_head = 2
seq_len = 32
[train]
tokens = 8192
batch_tokens = 512
TOML
}
check() {  # check NAME EXPECTED-SUBSTRING CONFIG-TEXT [extra args]
  local name=$1 want=$2 text=$3; shift 3
  printf '%s\n' "$text" > "$name.toml"
  expect_exit 2 "$SCALELAB" train "$name.toml" --db bad.db --quiet "$@"
  expect_contains "$ERR" "$want" "stderr of $name"
  [ "$(printf '%s' "$ERR" | wc -l)" -eq 0 ] || fail "$name: error is not one line: $ERR"
  if [ -f bad.db ]; then
    [ "$(sqlite3 bad.db 'SELECT count(*) FROM runs')" = 0 ] || fail "$name: a run row was written"
  fi
}
check syntax "syntax.toml:3: invalid TOML" "$(base | sed '3s/.*/[model/')"
check unknown_key "unknown_key.toml:4: model.n_layers: unknown key (did you mean 'n_layer'?)" "$(base | sed 's/n_layer/n_layers/')"
check missing_file "missing_file.toml:2: data.path: no such file" "$(base | sed 's/corpus.txt/nope.txt/')"
check heads "heads.toml:6: model.n_head: d_model (32) must be divisible by n_head (3)" "$(base | sed 's/n_head = 2/n_head = 3/')"
check neg_budget "neg_budget.toml:9: train.tokens: expected a positive number, got -8192" "$(base | sed 's/tokens = 8192/tokens = -8192/')"
check zero_budget "train.tokens: expected a positive number, got 0" "$(base | sed 's/tokens = 8192/tokens = 0/')"
check zero_layers "model.n_layer: expected a positive integer, got 0" "$(base | sed 's/n_layer = 2/n_layer = 0/')"
check string_for_int "model.d_model: expected an integer, got the string" "$(base | sed 's/d_model = 32/d_model = "big"/')"
check bad_kind 'data.kind: expected one of "text", "tokens"' "$(base | sed 's/\[data\]/[data]\nkind = "csv"/')"
check no_train "train: missing table" "$(base | sed '/\[train\]/,$d')"
check bad_schedule 'train.schedule: expected one of' "$(base; echo 'schedule = "step"')"
check batch_multiple "train.batch_tokens: must be a multiple of model.seq_len (32)" "$(base | sed 's/batch_tokens = 512/batch_tokens = 500/')"
check tokens_dir "train.bin not found" "$(base | sed 's/\[data\]/[data]\nkind = "tokens"/')"
check bad_device "device" "$(base)" --device tpu
expect_exit 2 "$SCALELAB" train does-not-exist.toml --db bad.db
expect_contains "$ERR" "does-not-exist.toml: cannot read file"
expect_exit 2 "$SCALELAB" train --db bad.db
expect_contains "$ERR" "give exactly one of CONFIG or --run"
expect_exit 2 "$SCALELAB" curves nosuchrun --db bad.db
expect_contains "$ERR" "bad.db: no such database"
[ ! -e bad.db ] || fail "a bad input created bad.db"
expect_exit 0 "$SCALELAB" init --db bad.db
expect_exit 2 "$SCALELAB" curves nosuchrun --db bad.db
expect_contains "$ERR" "no run 'nosuchrun'"
expect_exit 2 "$SCALELAB" train --bogus-flag
echo "all bad-input cases exit 2 with one line and write nothing"
