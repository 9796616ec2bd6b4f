# `scalelab report` end to end on a small real sweep the test trains itself:
# the report before any fit (honest: no laws), then after fits, with every
# figure in every format checked (SVG parses as XML, PNG size and not blank,
# PDF header), the page rendered by headless Chromium, the terminal view, a
# figure re-rendered from its own .gp file, and the exports.
source "$(dirname "$0")/lib.sh" "$@"
PNG_CHECK=$(dirname "$SCALELAB")/../reports/report_png_check
[ -x "$PNG_CHECK" ] || fail "no $PNG_CHECK: build the report_png_check target"
command -v xmllint >/dev/null || fail "xmllint not found: install Debian's libxml2-utils"

make_corpus corpus.txt
cat > tiny.toml <<'TOML'
name = "tiny"
mode = "isoflop"
[data]
path = "corpus.txt"
[model]
seq_len = 32
head_dim = 4
aspect_ratio = 4
[train]
batch_tokens = 256
micro_batch = 8
lr = 3e-3
[eval]
every = 20
batches = 2
[axes]
compute = [5e9, 1.5e10, 4.5e10]
[isoflop]
sizes = 4
span = 32
tokens_per_param = 100
TOML
# One thread per run, whatever the machine's cores, so the losses and the fits below do not depend on them.
expect_exit 0 "$SCALELAB" sweep tiny.toml --db s.db --jobs 2 --threads-per-job 1 --quiet
expect_contains "$OUT" "12/12 done"

# --- before any fit: curves and runs, and a plain statement that nothing is fitted
expect_exit 0 "$SCALELAB" report tiny --db s.db --out before --format png
for f in loss_vs_tokens loss_vs_flops isoflop frontier; do [ -s "before/figures/$f.png" ] || fail "before: no $f.png"; done
[ ! -e before/figures/allocation.png ] || fail "an allocation figure without a fit"
[ ! -e before/figures/fit_quality.png ] || fail "a fit-quality figure without a fit"
expect_contains "$(cat before/index.html)" "No fits are stored for sweep"
expect_contains "$(cat before/index.html)" "scalelab fit tiny --approach 1,2,3"

# --- fits. Each budget's lowest loss lies between its sizes, so Approach 2 brackets all three.
expect_exit 0 "$SCALELAB" fit tiny --db s.db --approach 3 --bootstrap 100
expect_exit 0 "$SCALELAB" fit tiny --db s.db --approach 1 --bootstrap 100
expect_exit 0 "$SCALELAB" fit tiny --db s.db --approach 2 --bootstrap 100
expect_contains "$OUT" "fit 3 stored in s.db"
expect_contains "$OUT" "allocation fit, approach 2, 12 points"
expect_contains "$OUT" "3 budgets, 3 bracketed and used"
[ "$(sqlite3 s.db "SELECT count(*) FROM fits WHERE approach = '2'")" = 1 ] || fail "no Approach 2 fit stored"
# Evals as the emergence issue will write them (synthetic values on the real runs):
# exact match rising with size, per-token log-probability beside it.
sqlite3 s.db "INSERT INTO evals (run_id, step, task, metric, value, n)
  SELECT id, steps_done, 'addition', 'exact_match',
         min(1.0, max(0.0, (ln(params_total) - 7.0) / 4.0)), 1000 FROM runs;
  INSERT INTO evals (run_id, step, task, metric, value, n)
  SELECT id, steps_done, 'addition', 'logprob_per_token', -2.0 / (1 + params_total / 5000.0), 1000 FROM runs;"

start=$(date +%s%N)
expect_exit 0 "$SCALELAB" report tiny --db s.db --out report --format svg,png,pdf --extrapolate-to 1e14
ms=$(( ($(date +%s%N) - start) / 1000000 ))
expect_contains "$OUT" "report/index.html"
figures=(loss_vs_tokens loss_vs_flops isoflop allocation frontier fit_quality emergence_addition)
for f in "${figures[@]}"; do
  for ext in svg png pdf gp; do [ -s "report/figures/$f.$ext" ] || fail "no report/figures/$f.$ext"; done
  xmllint --noout "report/figures/$f.svg" || fail "$f.svg is not well-formed XML"
  case $f in allocation|fit_quality|emergence_*) w=2000 h=750 ;; *) w=1200 h=800 ;; esac
  "$PNG_CHECK" "report/figures/$f.png" $w $h >/dev/null || fail "$f.png: wrong size or blank"
  [ "$(head -c 4 "report/figures/$f.pdf")" = "%PDF" ] || fail "$f.pdf is not a PDF"
done
[ -s report/figures/loss_curves.dat ] || fail "no data file next to the loss curves"

html=$(cat report/index.html)
for f in "${figures[@]}"; do expect_contains "$html" "src=\"figures/$f.svg\"" "index.html"; done
expect_contains "$html" "Approach 3: Chinchilla law L(N, D)"
expect_contains "$html" "Approach 2: IsoFLOP parabolas"
expect_contains "$html" "Hold-out"
expect_contains "$html" "1.000e25"            # the forecast table's last budget
expect_contains "$html" "L5-D20-H5-T32"       # the run table
expect_contains "$html" "compute = [ 5000000000.0, 15000000000.0, 45000000000.0 ]"  # the sweep config
# Self-contained: nothing outside the folder, no script.
! grep -Eq '(src|href)="(https?:)?//' report/index.html || fail "index.html references the network"
! grep -qi '<script' report/index.html || fail "index.html has a script"
! grep -l 'https\?://[^"]*\.js' report/figures/*.svg >/dev/null || fail "an SVG pulls in a script"

# The page renders: a headless Chromium screenshot, offline, is not blank.
command -v chromium >/dev/null || fail "chromium not found: install Debian's chromium package"
expect_exit 0 timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync --user-data-dir="$WORK/chrome" \
  --screenshot="$WORK/shot.png" --window-size=1200,900 "file://$WORK/report/index.html"
[ -s shot.png ] || fail "chromium wrote no screenshot"
"$PNG_CHECK" shot.png 1200 900 || fail "the screenshot of index.html is blank"

# A figure re-renders from its own script, without scalelab.
rm report/figures/isoflop.png
(cd report/figures && gnuplot -e "formats='png'" isoflop.gp) || fail "isoflop.gp does not re-render"
"$PNG_CHECK" report/figures/isoflop.png 1200 800 >/dev/null || fail "re-rendered isoflop.png is wrong"

# --- the terminal: the fit tables in the CLI's style and plots at the asked width
expect_exit 0 env COLUMNS=100 "$SCALELAB" report tiny --db s.db --term
expect_contains "$OUT" "parameter"
expect_contains "$OUT" "95% interval"
expect_contains "$OUT" "forecast, compute-optimal"
expect_contains "$OUT" "IsoFLOP profiles"
widest=$(echo "$OUT" | grep -F '|' | awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }')
[ "$widest" -gt 80 ] && [ "$widest" -le 100 ] || fail "plots are $widest columns wide, want at most COLUMNS=100"

# --- exports for pandas/R: every row
expect_exit 0 "$SCALELAB" export tiny --db s.db --csv --json --out ex
rows=$(sqlite3 s.db "SELECT count(*) FROM metrics")
[ "$(($(wc -l < ex/metrics.csv) - 1))" = "$rows" ] || fail "metrics.csv does not have all $rows rows"
[ "$(jq length ex/metrics.json)" = "$rows" ] || fail "metrics.json does not have all $rows rows"
[ "$(jq length ex/runs.json)" = 12 ] || fail "runs.json: want 12 runs"
[ "$(jq '[.[] | select(.approach == "3")] | length' ex/fits.json)" -ge 1 ] || fail "fits.json has no Approach 3 fit"
head -1 ex/fit_params.csv | grep -q '^fit_id,source,law,approach,kind,name,value,lo,hi$' || fail "fit_params.csv header"

echo "report_sweep: ok (report of 12 runs with 3 formats in ${ms} ms)"
