# `scalelab report` at the edges: markup planted in every user string is
# escaped, too few runs are reported honestly, a missing gnuplot names its
# Debian package, bad flags exit 2, and a database of CSV fits (Epoch's
# Chinchilla data) gets its figures from the CSV.
source "$(dirname "$0")/lib.sh" "$@"
PNG_CHECK=$(dirname "$SCALELAB")/../reports/report_png_check
[ -x "$PNG_CHECK" ] || fail "no $PNG_CHECK: build the report_png_check target"

# A database made by hand: scalelab creates the schema, sqlite3 plants a sweep
# of 3 finished runs whose every name and config carries markup.
expect_exit 0 "$SCALELAB" init --db x.db
sqlite3 x.db <<'SQL'
INSERT INTO sweeps (id, name, config_toml, created_at)
  VALUES ('5c1a000000000001', '<script>alert("sweep")</script>',
          'name = "x"' || char(10) || '# </pre><script>alert(1)</script>', '2026-01-01T00:00:00Z');
WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < 3)
INSERT INTO runs (id, sweep_id, name, config_toml, config_hash, shape, n_layer, d_model, n_head, seq_len, vocab,
                  params_total, params_non_embedding, flops_per_token, flop_convention, planned_tokens, status,
                  created_at, steps_done, tokens_done, final_train_loss, final_val_loss)
  SELECT printf('7e57%012d', i), '5c1a000000000001', '<img src=x onerror=alert(' || i || ')>',
         '[model]' || char(10) || 'note = "<script>"', printf('7e57%012d', i), 'L' || i || '-D<b>-H1-T32',
         i, 8 * i, 1, 32, 256, 1000 * i * i, 900 * i * i, 6000.0 * i * i, '6N', 1e6, 'done',
         '2026-01-01T00:00:00Z', 100, 1e6, 2.5 - 0.1 * i, 2.6 - 0.1 * i FROM k;
INSERT INTO sweep_runs (sweep_id, run_id, position) SELECT sweep_id, id, rowid FROM runs;
WITH RECURSIVE s(j) AS (SELECT 1 UNION ALL SELECT j + 1 FROM s WHERE j < 50)
INSERT INTO metrics (run_id, split, step, tokens, flops, loss)
  SELECT r.id, 'val', 2 * s.j, 2e4 * s.j, 2e4 * s.j * r.flops_per_token, r.final_val_loss + 3.0 / s.j
  FROM runs r, s;
INSERT INTO evals (run_id, step, task, metric, value, n)
  SELECT id, 100, '<svg onload=alert(1)>', '<i>exact_match</i>', 0.3 * n_layer, 500 FROM runs;
INSERT INTO evals (run_id, step, task, metric, value, n)
  SELECT id, 100, '<svg onload=alert(1)>', 'logprob_per_token', -1.0 / n_layer, 500 FROM runs;
SQL

# --- escaping: the page shows the markup as text, never as markup
expect_exit 0 "$SCALELAB" report --db x.db --out r --format svg,png
html=$(cat r/index.html)
! grep -qi '<script' r/index.html || fail "a planted <script> reached index.html unescaped"
! grep -q '<img src=x' r/index.html || fail "a planted <img> reached index.html unescaped"
! grep -q '<svg onload' r/index.html || fail "a planted <svg> reached index.html unescaped"
expect_contains "$html" '&lt;script&gt;alert(&quot;sweep&quot;)&lt;/script&gt;' "index.html"
expect_contains "$html" '&lt;img src=x onerror=alert(1)&gt;' "index.html"
expect_contains "$html" '# &lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt;' "index.html"
# The planted task and metric names reach the emergence figure as text.
emergence=$(ls r/figures/emergence_*.svg) || fail "no emergence figure for the planted task"
for svg in r/figures/*.svg; do xmllint --noout "$svg" || fail "$svg is not well-formed XML"; done
! grep -qi '<script' $emergence || fail "the planted name became markup in $emergence"
grep -q '&lt;i>exact_match&lt;/i>' $emergence || fail "the planted metric name is not in $emergence as text"

# --- too few runs: said plainly, and no law is drawn
expect_contains "$html" "There are 3 finished run(s): too few to fit"
[ ! -e r/figures/allocation.svg ] || fail "an allocation figure from 3 unfitted runs"
[ ! -e r/figures/fit_quality.svg ] || fail "a fit-quality figure from 3 unfitted runs"
"$PNG_CHECK" r/figures/loss_vs_tokens.png 1200 800 >/dev/null || fail "loss curves missing or blank"

# --- no gnuplot: one line naming the package, exit 2
expect_exit 2 env PATH=/nonexistent SCALELAB_GNUPLOT= "$SCALELAB" report --db x.db --out r2
expect_contains "$ERR" "gnuplot not found"
expect_contains "$ERR" "gnuplot-nox"
[ "$(echo "$ERR" | wc -l)" = 1 ] || fail "the missing-gnuplot error is not one line: $ERR"
expect_exit 2 env PATH=/nonexistent SCALELAB_GNUPLOT= "$SCALELAB" report --db x.db --term
expect_contains "$ERR" "gnuplot-nox"
# export needs no gnuplot
expect_exit 0 env PATH=/nonexistent SCALELAB_GNUPLOT= "$SCALELAB" export --db x.db --csv --out ex
[ -s ex/runs.csv ] || fail "export without gnuplot wrote no runs.csv"

# --- bad input: one line, exit 2
expect_exit 2 "$SCALELAB" report --db x.db --format svg,jpeg
expect_contains "$ERR" "--format"
expect_exit 2 "$SCALELAB" report nope --db x.db
expect_contains "$ERR" "no sweep 'nope'"
expect_exit 2 "$SCALELAB" report --db missing.db
expect_contains "$ERR" "missing.db: no such database (give --db PATH, or set SCALELAB_DB)"
[ ! -e missing.db ] || fail "report created a database"
expect_exit 2 "$SCALELAB" report --db x.db --extrapolate-to -1e24
expect_exit 2 "$SCALELAB" export --db x.db
expect_contains "$ERR" "--csv or --json"
expect_exit 2 "$SCALELAB" runs --db empty.db
expect_contains "$ERR" "empty.db: no such database"
[ ! -e empty.db ] || fail "runs created a database"
expect_exit 0 "$SCALELAB" init --db empty.db
expect_exit 0 "$SCALELAB" runs --db empty.db
expect_contains "$OUT" "no runs in empty.db"
expect_exit 2 "$SCALELAB" report --db empty.db --out r3
expect_contains "$ERR" "nothing to report"

# --- a database of CSV fits only: Epoch's extraction of Chinchilla's data
expect_exit 0 "$SCALELAB" fit --csv "$SRC/tests/data/svg_extracted_data.csv" --n-col "Model Size" \
  --c-col "Training FLOP" --loss-col loss --drop-highest 5 --bootstrap 50 --db f.db
expect_exit 0 "$SCALELAB" report --db f.db --out rf --format png --extrapolate-to 1e25
for f in allocation frontier fit_quality; do
  case $f in allocation|fit_quality) w=2000 h=750 ;; *) w=1200 h=800 ;; esac
  "$PNG_CHECK" "rf/figures/$f.png" $w $h >/dev/null || fail "CSV report: $f.png missing, wrong size or blank"
done
grep -q 'line ' rf/figures/fit_quality.dat || fail "CSV outliers are not labelled by line"
expect_contains "$(cat rf/index.html)" "Approach 3: Chinchilla law L(N, D)"
expect_contains "$(cat rf/index.html)" "No sweep and no runs"
echo "report_edges: ok"
