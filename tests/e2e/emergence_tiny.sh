# A tiny task sweep through the binary: addition as the training data across two
# widths, its evals rows (test set and training sample, every metric of the
# contract, with n), a text run that evaluates the task on the side, and the bad
# task inputs that must exit 2 with FILE:LINE.
source "$(dirname "$0")/lib.sh" "$@"

cat > tiny.toml <<'TOML'
name = "tiny-add"
[data]
kind = "task"
[task]
name = "addition"
digits = 2
test_items = 200
[model]
n_layer = 1
n_head = 2
[train]
steps = 60
batch_items = 32
lr = 3e-3
[eval]
every = 30
task_every = 30
[axes]
d_model = [8, 16]
[execution]
jobs = 2
threads_per_job = 1
TOML
expect_exit 0 "$SCALELAB" sweep tiny.toml --db s.db
[ "$(sqlite3 s.db "SELECT count(*) FROM runs WHERE status = 'done'")" = 2 ] || fail "want 2 finished runs"
# seq_len and vocab come from the task: 2+1+2+1 prompt tokens + 3 answer tokens - 1, 12 symbols.
[ "$(sqlite3 s.db "SELECT group_concat(DISTINCT seq_len || '/' || vocab) FROM runs")" = "8/12" ] ||
  fail "task runs should take seq_len 8 and vocab 12 from the task"
for task in addition addition/train; do
  for metric in exact_match token_logprob seq_logprob token_acc edit_distance answer_len pos_acc_0 pos_acc_1 pos_acc_2; do
    got=$(sqlite3 s.db "SELECT count(*) FROM evals WHERE task = '$task' AND metric = '$metric' AND n = 200 AND step IN (30, 60)")
    [ "$got" = 4 ] || fail "$task/$metric: want rows at steps 30 and 60 for both runs with n = 200, got $got"
  done
done
[ "$(sqlite3 s.db "SELECT count(*) FROM evals WHERE metric = 'pos_acc_3'")" = 0 ] || fail "a 3-token answer has no pos_acc_3"
[ "$(sqlite3 s.db "SELECT count(*) FROM evals WHERE (metric IN ('exact_match', 'token_acc') AND (value < 0 OR value > 1))
                   OR (metric IN ('token_logprob', 'seq_logprob') AND value > 0)
                   OR (metric = 'answer_len' AND value != 3)")" = 0 ] || fail "a metric is outside its range"
# Resubmitting trains nothing and writes no rows twice (the key is run, step, task, metric).
before=$(sqlite3 s.db "SELECT count(*) FROM evals")
expect_exit 0 "$SCALELAB" sweep tiny.toml --db s.db
[ "$(sqlite3 s.db "SELECT count(*) FROM evals")" = "$before" ] || fail "resubmission added eval rows"

# A text run evaluating the task while it trains, and the summary's final metrics.
make_corpus corpus.txt
cat > text.toml <<'TOML'
[data]
path = "corpus.txt"
[model]
n_layer = 1
d_model = 16
n_head = 2
seq_len = 16
[train]
tokens = 2560
batch_tokens = 256
micro_batch = 16
[eval]
every = 5
task_every = 5
[task]
name = "induction"
alphabet = 8
segment = 4
length = 10
test_items = 100
TOML
expect_exit 0 "$SCALELAB" train text.toml --db t.db
expect_contains "$OUT" "induction (100 items) at step 10"
expect_contains "$OUT" "segment_loss"
[ "$(sqlite3 t.db "SELECT count(*) FROM evals WHERE task = 'induction' AND metric = 'chance_loss' AND step IN (5, 10)
                   AND abs(value - 2.0794415416798357) < 1e-9 AND n = 100")" = 2 ] || fail "induction chance_loss rows missing"
expect_exit 0 "$SCALELAB" train text.toml --db t.db --restart --json
[ "$(echo "$OUT" | tail -n 1 | jq '.evals.induction.segment_loss.n')" = 100 ] || fail "train --json lacks the final evals"

# Bad input: exit 2, one line naming the file, line and key; nothing trained.
bad() {  # bad NAME WANT TOML
  printf '%s\n' "$3" > "$1.toml"
  expect_exit 2 "$SCALELAB" train "$1.toml" --db bad.db
  expect_contains "$ERR" "$2"
  [ "$(echo "$ERR" | wc -l)" = 1 ] || fail "$1: want one line, got: $ERR"
}
base='[data]
kind = "task"
[model]
n_layer = 1
d_model = 8
n_head = 2
[train]
steps = 5
batch_items = 4'
bad unknown "unknown.toml:11: task.name: unknown task 'subtraction'" "$base
[task]
name = \"subtraction\""
bad zero_digits "zero_digits.toml:12: task.digits: expected 1 to 18 digits, got 0" "$base
[task]
name = \"addition\"
digits = 0"
bad one_digit "one_digit.toml:12: task.digits: the addition task has only 100 distinct problems" "$base
[task]
name = \"addition\"
digits = 1"
bad wrong_key "wrong_key.toml:12: task.p: not used by the addition task" "$base
[task]
name = \"addition\"
p = 7"
bad no_task "data.kind: \"task\" needs a [task] table" "$base"
bad many_digits "many_digits.toml:12: task.digits: expected 1 to 18 digits, got 25" "$base
[task]
name = \"addition\"
digits = 25"
cat > orphan.toml <<'TOML'
[data]
path = "corpus.txt"
[model]
n_layer = 1
d_model = 16
n_head = 2
seq_len = 16
[train]
tokens = 2560
batch_tokens = 256
[eval]
task_every = 5
TOML
expect_exit 2 "$SCALELAB" train orphan.toml --db bad.db
expect_contains "$ERR" "orphan.toml:12: eval.task_every: needs a [task] table"
[ ! -e bad.db ] || [ "$(sqlite3 bad.db "SELECT count(*) FROM runs")" = 0 ] || fail "a bad config registered a run"

# --- emergence analysis (part B) appends its checks below this line ---
# The analysis on the real tiny sweep: two runs are too few for a sigmoid, so it
# must end in a clear verdict (a threshold or "no transition"), never a crash or NaN.
expect_exit 0 "$SCALELAB" emergence tiny-add --task addition --db s.db --bootstrap 50
case "$OUT" in *threshold*|*"no transition"*) ;; *) fail "emergence printed neither a threshold nor 'no transition': $OUT" ;; esac
case "$OUT" in *nan*|*NaN*) fail "emergence printed NaN: $OUT" ;; esac
expect_exit 0 "$SCALELAB" emergence tiny-add --task addition --db s.db --bootstrap 50 --json
echo "$OUT" | jq -e . >/dev/null || fail "emergence --json is not JSON"
expect_exit 2 "$SCALELAB" emergence tiny-add --task modular --db s.db
expect_contains "$ERR" "addition"
