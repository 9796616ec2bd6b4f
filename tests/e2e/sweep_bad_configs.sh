# Malformed sweep configs: one line on stderr naming the file, line and key;
# exit code 2; no sweep and no run registered, by `plan` or by `sweep`.
source "$(dirname "$0")/lib.sh" "$@"
printf 'Some English text for a corpus.\n%.0s' $(seq 400) > corpus.txt
base() {
  cat <<TOML
name = "bad"
mode = "isoflop"
[data]
path = "corpus.txt"
[model]
seq_len = 32
head_dim = 16
aspect_ratio = 16
[train]
batch_tokens = 512
[axes]
compute = [1e10, 3e10]
[isoflop]
sizes = 3
span = 64
TOML
}
check() {  # check NAME EXPECTED-SUBSTRING CONFIG-TEXT [COMMAND]: `sweep` unless told
  local name=$1 want=$2 text=$3 cmd=${4:-sweep}
  printf '%s\n' "$text" > "$name.toml"
  expect_exit 2 "$SCALELAB" "$cmd" "$name.toml" --db bad.db
  expect_contains "$ERR" "$want" "stderr of $cmd $name"
  [ "$(printf '%s' "$ERR" | wc -l)" -eq 0 ] || fail "$name: error is not one line: $ERR"
  if [ -f bad.db ]; then
    [ "$(sqlite3 bad.db 'SELECT count(*) FROM sweeps')" = 0 ] || fail "$name: a sweep was registered"
    [ "$(sqlite3 bad.db 'SELECT count(*) FROM runs')" = 0 ] || fail "$name: a run was registered"
  fi
}
# The valid base plans fine, so each case fails for its own reason.
base > good.toml
expect_exit 0 "$SCALELAB" plan good.toml --no-calibrate
check syntax "syntax.toml:11: invalid TOML" "$(base | sed 's/^\[axes\]/[axes/')" plan
check unknown_key "unknown_key.toml:15: isoflop.spam: unknown key (did you mean 'span'?)" "$(base | sed 's/^span/spam/')"
check bad_mode 'bad_mode.toml:2: mode: expected one of "grid", "isoflop"' "$(base | sed 's/"isoflop"/"lattice"/')"
check neg_budget "neg_budget.toml:12: axes.compute[1]: expected a positive number" "$(base | sed 's/3e10\]/-3e10]/')"
check empty_axis "empty_axis.toml:12: axes.compute: expected at least one value" "$(base | sed 's/^compute = .*/compute = []/')"
check bad_range "bad_range.toml:12: axes.compute.max: must be at least min" \
  "$(base | sed 's/^compute = .*/compute = {min = 1e11, max = 1e10, points = 3}/')"
check params_in_isoflop "params_in_isoflop.toml:13: axes.params: not used in isoflop mode" \
  "$(base | sed '/^compute/a params = [1e4]')"
check batch "batch.toml:10: train.batch_tokens: must be a multiple of model.seq_len (32)" \
  "$(base | sed 's/batch_tokens = 512/batch_tokens = 500/')"
check missing_data "missing_data.toml:4: data.path: no such file" "$(base | sed 's/corpus.txt/nope.txt/')"
check too_many_sizes "too_many_sizes.toml:14: isoflop.sizes: the shape rule gives only" \
  "$(base | sed 's/^sizes = 3/sizes = 40/')" plan
check devices 'devices.toml:17: execution.devices: expected cpu, cuda or cuda:N' \
  "$(base; printf '[execution]\ndevices = "tpu:0"\n')"
check retries 'retries.toml:17: execution.retries: expected an integer in [0, 100]' \
  "$(base; printf '[execution]\nretries = -1\n')"
check duration 'duration.toml:17: filters.max_est_runtime: expected a positive duration' \
  "$(base; printf '[filters]\nmax_est_runtime = "a while"\n')"
check no_budget "no_budget.toml:2: axes.compute: missing" "$(base | sed '/^compute/d')"
check shape_in_isoflop "shape_in_isoflop.toml:9: model.n_layer: not used in isoflop mode" \
  "$(base | sed 's/^aspect_ratio = 16/aspect_ratio = 16\nn_layer = 2/')"
# A fuzzer's aspect ratio: the width overflowed int before it was refused.
check huge_aspect "huge_aspect.toml:12: axes.compute: no model of" \
  "$(base | sed 's/^aspect_ratio = 16/aspect_ratio = 5e11/')" plan
printf 'extends = "missing-base.toml"\n' > child.toml
check extends_missing "extends_missing.toml:1: extends: no such file" "$(cat child.toml)"
printf 'extends = "loop_b.toml"\n' > loop_a.toml
printf 'extends = "loop_a.toml"\n' > loop_b.toml
check extends_loop "loop_b.toml:1: extends:" 'extends = "loop_a.toml"'
# A bad base file is named as such.
base | sed 's/^span = 64/span = 0.5/' > base_bad.toml
check bad_base "base_bad.toml:15: isoflop.span: expected a number in [1, 1000000], got 0.5" 'extends = "base_bad.toml"' plan
# Flags are input too.
expect_exit 2 "$SCALELAB" sweep good.toml --db bad.db --devices cuda:x
expect_contains "$ERR" "--devices: expected cpu, cuda or cuda:N, got 'cuda:x'"
expect_exit 2 "$SCALELAB" sweep no-such-sweep.toml --db bad.db
expect_contains "$ERR" "no-such-sweep.toml: no such file"
if [ -f bad.db ]; then
  [ "$(sqlite3 bad.db 'SELECT count(*) FROM sweeps')" = 0 ] || fail "a sweep was registered"
fi
echo "sweep configs: every malformed case rejected with file:line and key"
