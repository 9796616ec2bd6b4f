# `scalelab emergence` on a synthetic database: 8 model sizes x 3 seeds with
# evals rows as the task trainer writes them (the evals contract in
# docs/emergence-analysis.md). "addition" has a planted threshold at N = 10^5;
# "flat" has none. Then the bad inputs: exit 2, one line.
source "$(dirname "$0")/lib.sh" "$@"

expect_exit 0 "$SCALELAB" init --db s.db

# Planted: per-token probability p = 0.3 + 0.69 / (1 + exp(-2.5 (log10 N - 4.8))),
# answer length 4, exact match = p^4 plus seed noise. "modular" is evaluated
# every 50 steps: test accuracy switches on at step 450, train accuracy at 80.
# "induction" has only a segment loss, every 50 steps.
awk 'BEGIN {
  srand(3);
  print "BEGIN;";
  print "INSERT INTO sweeps VALUES (\x27sw0001\x27, \x27addsyn\x27, \x27name = \"addsyn\"\x27, \x272026-01-01T00:00:00Z\x27);";
  print "INSERT INTO sweeps VALUES (\x27sw0002\x27, \x27noevals\x27, \x27name = \"noevals\"\x27, \x272026-01-01T00:00:00Z\x27);";
  pos = 0;
  for (i = 0; i < 8; i++) for (s = 1; s <= 3; s++) {
    u = 4 + 2 * i / 7; N = int(10 ^ u); id = sprintf("r%d%d", i, s); pos++;
    printf "INSERT INTO runs (id, sweep_id, name, config_toml, config_hash, shape, n_layer, d_model, n_head, seq_len, vocab, params_total, params_non_embedding, flops_per_token, flop_convention, planned_tokens, status, created_at, steps_done, tokens_done) VALUES (\x27%s\x27, \x27sw0001\x27, \x27w%d-s%d\x27, \x27[model]\nd_model = %d\n[train]\nseed = %d\n\x27, \x27%s\x27, \x27L2-D%d-H1-T16\x27, 2, %d, 1, 16, 16, %d, %d, %d, \x276N\x27, 5e5, \x27done\x27, \x272026-01-01T00:00:00Z\x27, 1000, 5e5);\n", id, i, s, 8 * (i + 1), s, id, 8 * (i + 1), 8 * (i + 1), N, N, 6 * N;
    printf "INSERT INTO sweep_runs VALUES (\x27sw0001\x27, \x27%s\x27, %d);\n", id, pos;
    p = 0.3 + 0.69 / (1 + exp(-2.5 * (u - 4.8)));
    em = p ^ 4 + 0.02 * (rand() - 0.5); if (em < 0) em = 0; if (em > 1) em = 1;
    printf "INSERT INTO evals VALUES (\x27%s\x27, 1000, \x27addition\x27, \x27exact_match\x27, %.4f, 1000);\n", id, em;
    printf "INSERT INTO evals VALUES (\x27%s\x27, 1000, \x27addition\x27, \x27token_logprob\x27, %.5f, 1000);\n", id, log(p);
    printf "INSERT INTO evals VALUES (\x27%s\x27, 1000, \x27addition\x27, \x27token_acc\x27, %.4f, 1000);\n", id, p;
    printf "INSERT INTO evals VALUES (\x27%s\x27, 1000, \x27addition\x27, \x27edit_distance\x27, %.4f, 1000);\n", id, 4 * (1 - p);
    printf "INSERT INTO evals VALUES (\x27%s\x27, 1000, \x27addition\x27, \x27answer_len\x27, 4, 1000);\n", id;
    printf "INSERT INTO evals VALUES (\x27%s\x27, 1000, \x27flat\x27, \x27exact_match\x27, %.4f, 1000);\n", id, 0.3 + 0.02 * (rand() - 0.5);
    for (st = 50; st <= 1000; st += 50) {
      te = 0.02 + 0.96 / (1 + exp(-6 * (log(st) / log(10) - log(450) / log(10)))) + 0.02 * (rand() - 0.5);
      tr = 0.02 + 0.96 / (1 + exp(-6 * (log(st) / log(10) - log(80) / log(10)))) + 0.02 * (rand() - 0.5);
      if (te < 0) te = 0; if (te > 1) te = 1; if (tr < 0) tr = 0; if (tr > 1) tr = 1;
      printf "INSERT INTO evals VALUES (\x27%s\x27, %d, \x27modular\x27, \x27exact_match\x27, %.4f, 1000);\n", id, st, te;
      printf "INSERT INTO evals VALUES (\x27%s\x27, %d, \x27modular/train\x27, \x27exact_match\x27, %.4f, 1000);\n", id, st, tr;
      # induction: the 4 wider groups drop from ln 64 = 4.16 nats to 1.0 around step 300; the rest stay.
      sl = i >= 4 ? 1.0 + 3.16 / (1 + exp(12 * (log(st) / log(10) - log(300) / log(10)))) : 4.16 - 0.0002 * st;
      printf "INSERT INTO evals VALUES (\x27%s\x27, %d, \x27induction\x27, \x27segment_loss\x27, %.4f, 1000);\n", id, st, sl + 0.02 * (rand() - 0.5);
    }
  }
  print "INSERT INTO runs (id, sweep_id, name, config_toml, config_hash, shape, n_layer, d_model, n_head, seq_len, vocab, params_total, params_non_embedding, flops_per_token, flop_convention, planned_tokens, status, created_at) VALUES (\x27q1\x27, \x27sw0002\x27, \x27q1\x27, \x27\x27, \x27q1\x27, \x27L1-D8-H1-T16\x27, 1, 8, 1, 16, 16, 1000, 900, 6000, \x276N\x27, 1e5, \x27done\x27, \x272026-01-01T00:00:00Z\x27);";
  print "INSERT INTO sweep_runs VALUES (\x27sw0002\x27, \x27q1\x27, 1);";
  print "COMMIT;";
}' > synth.sql
sqlite3 s.db < synth.sql

# --- a planted threshold: found, near 10^5 for exact match = p^4, and stored
expect_exit 0 "$SCALELAB" emergence addsyn --db s.db --task addition --bootstrap 200 --threads 2
expect_contains "$OUT" "threshold: parameters N ="
expect_contains "$OUT" "mirage: the jump is explained by the smooth token_logprob trend"
expect_contains "$OUT" "prediction from the 12 runs"
expect_contains "$OUT" "breakthroughness"
row=$(sqlite3 s.db "SELECT json_extract(params, '\$.threshold.value'), json_extract(params, '\$.threshold.lo'),
                           json_extract(params, '\$.threshold.hi') FROM fits WHERE law = 'emergence' ORDER BY id DESC LIMIT 1")
# exact = p^4 reaches half its rise where p^4 ~ 0.5 (p ~ 0.84): log10 N ~ 5.1.
awk -F'|' '{ exit !($1 > 10^4.7 && $1 < 10^5.5 && $2 < $1 && $3 > $1) }' <<<"$row" \
  || fail "stored threshold (value|lo|hi) $row is not an interval around ~10^5.1"

# --- JSON carries the same record
expect_exit 0 "$SCALELAB" emergence addsyn --db s.db --task addition --bootstrap 0 --json
expect_contains "$OUT" '"law": "emergence"'
expect_contains "$OUT" '"transition": true'

# --- no transition in flat data: said so, not fitted anyway
expect_exit 0 "$SCALELAB" emergence addsyn --db s.db --task flat --bootstrap 50
expect_contains "$OUT" "no transition:"

# --- over training: test switches on after train, with intervals
expect_exit 0 "$SCALELAB" emergence addsyn --db s.db --task modular --x step --bootstrap 100 --threads 2
expect_contains "$OUT" "test:  threshold: step ="
expect_contains "$OUT" "train: threshold: step ="
expect_contains "$OUT" "the test exact_match switches"
expect_contains "$OUT" "later than the train exact_match"

# --- induction: segment loss over steps collapses for the wide groups only
expect_exit 0 "$SCALELAB" emergence addsyn --db s.db --task induction --x step --metric segment_loss --bootstrap 50
expect_contains "$OUT" "w0-s1 (+2 seeds) [L2-D8-H1-T16, N 10.0k]
  test:  no transition"
expect_contains "$OUT" "w7-s1 (+2 seeds) [L2-D64-H1-T16, N 1.00M]
  test:  threshold: step = 3"

# --- the report draws the stored fits: threshold over N, and train/test over steps
expect_exit 0 "$SCALELAB" report addsyn --db s.db --out r --format svg
for f in emergence_addition emergence_flat emergence_modular_steps emergence_induction_steps; do
  [ -s "r/figures/$f.svg" ] || fail "no r/figures/$f.svg"
done
grep -q "# \[sigmoid scale\]" r/figures/emergence_addition.dat || fail "no fitted sigmoid in the addition figure"
grep -q "# \[threshold train\]" r/figures/emergence_modular_steps.dat || fail "no train transition over steps"
expect_contains "$(cat r/index.html)" "The fitted sigmoid puts the threshold at N ="
expect_contains "$(cat r/index.html)" "the analysis finds no transition"

# --- emergence records are not loss laws: forecast's "latest" passes them by
expect_exit 2 "$SCALELAB" forecast --db s.db --compute 1e20
expect_contains "$ERR" "no fits yet"

# --- bad input: exit 2 and one line naming what exists
one_line() { [ "$(printf '%s\n' "$ERR" | wc -l)" = 1 ] || fail "want one line on stderr, got: $ERR"; }
expect_exit 2 "$SCALELAB" emergence addsyn --db s.db --task multiplication
expect_contains "$ERR" "no evals for task 'multiplication'; tasks with evals: addition, flat, induction, modular, modular/train"
one_line
expect_exit 2 "$SCALELAB" emergence noevals --db s.db --task addition
expect_contains "$ERR" "has no task evaluations"
one_line
expect_exit 2 "$SCALELAB" emergence addsyn --db s.db --task addition --metric bleu
expect_contains "$ERR" "no metric 'bleu'"
one_line
expect_exit 2 "$SCALELAB" emergence addsyn --db s.db --task addition --x width
one_line
expect_exit 2 "$SCALELAB" emergence nosuch --db s.db --task addition
one_line
expect_exit 2 "$SCALELAB" emergence addsyn --db s.db --task addition --chance 1.5
one_line
expect_exit 2 "$SCALELAB" emergence addsyn --db s.db
one_line
echo "ok"
