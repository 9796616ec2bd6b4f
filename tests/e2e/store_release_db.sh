# A database written by the 0.1.0 release (tests/data/release-0.1.0, made by
# its make.sh) still opens, lists, reports and forecasts with the current
# binary, and every stored fit reads back to the same numbers: the forecasts,
# the exported fits, the report's figure data and its terminal view equal what
# that release printed. A typed fit record that dropped or renamed a field
# would change one of them. An intended change to these outputs updates the
# golden files in the same commit and says why.
source "$(dirname "$0")/lib.sh" "$@"
FX="$SRC/tests/data/release-0.1.0"
cp "$FX/release.db" release.db  # the name the golden outputs print
same() { diff -u "$1" "$2" > diff.txt || fail "$3 differs from the 0.1.0 release's: $(head -40 diff.txt)"; }

expect_exit 0 "$SCALELAB" runs --db release.db
expect_contains "$OUT" "L3-D12-H3-T32"
expect_exit 0 "$SCALELAB" status tiny --db release.db
expect_contains "$OUT" "12/12 done"

for f in 1 2 3 4 5 7 9; do
  expect_exit 0 "$SCALELAB" forecast --db release.db --fit $f --compute 1e14 --json
  echo "$OUT" | jq -S . > got.json; jq -S . "$FX/golden/forecast_$f.json" > want.json
  same want.json got.json "forecast of fit $f"
done
expect_exit 0 "$SCALELAB" forecast --db release.db --fit 8 --params 2.8e9 --tokens 5.6e10 --unique-tokens 1.4e10 --json
echo "$OUT" | jq -S . > got.json; jq -S . "$FX/golden/forecast_8.json" > want.json
same want.json got.json "forecast of fit 8 (data-constrained)"
expect_exit 0 "$SCALELAB" forecast --db release.db --fit 7 --gpu-hours 1000 --json
echo "$OUT" | jq -S . > got.json; jq -S . "$FX/golden/forecast_7_gpuh.json" > want.json
same want.json got.json "forecast of fit 7 from GPU-hours"
expect_exit 2 "$SCALELAB" forecast --db release.db --fit 6 --compute 1e14
expect_contains "$ERR" "fit 6 is an emergence fit"

expect_exit 0 "$SCALELAB" export tiny --db release.db --json --out ex
jq -S . ex/fits.json > got.json; jq -S . "$FX/golden/export_fits.json" > want.json
same want.json got.json "exported fits.json"

expect_exit 0 "$SCALELAB" report tiny --db release.db --out rep --format svg
for f in "$FX"/golden/figures/*.dat; do same "$f" "rep/figures/$(basename "$f")" "report figure data $(basename "$f")"; done
html=$(cat rep/index.html)
expect_contains "$html" "Approach 3: Kaplan law L(N, D) (fit 4)"
expect_contains "$html" "Approach 2: IsoFLOP parabolas"
expect_exit 0 env COLUMNS=100 "$SCALELAB" report tiny --db release.db --term
echo "$OUT" > term.txt
same "$FX/golden/report_term.txt" term.txt "report --term"

# The old database takes new fits beside its old ones.
expect_exit 0 "$SCALELAB" fit tiny --db release.db --approach 3 --law chinchilla --bootstrap 20
expect_contains "$OUT" "fit 11 stored in release.db"
expect_exit 0 "$SCALELAB" forecast --db release.db --compute 1e14
expect_contains "$OUT" "fit 11: chinchilla"
echo "store_release_db: ok (10 fits of the 0.1.0 release read back unchanged)"
