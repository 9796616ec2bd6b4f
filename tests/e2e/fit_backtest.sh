# `scalelab fit --law auto` (the default): the backtest table, the chosen law
# and filter, identification, and `forecast` with its confidence and prediction
# intervals and regime verdict; the data-constrained law on a CSV with epochs;
# and the bad inputs of the backtest flags (exit 2, one line, database
# unchanged, no file written). Usage: fit_backtest.sh SCALELAB SRC
source "$(dirname "$0")/lib.sh" "$@"
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
EPOCH="$SRC/tests/data/svg_extracted_data.csv"
DATAB="$SRC/tests/data/datablations_contour_losses.csv"
COLS=(--n-col "Model Size" --c-col "Training FLOP" --loss-col loss --drop-highest 5)
json() { "$PY" -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"; }
check() { [ "$("$PY" -c "print(bool($1))")" = True ] || fail "$2"; }

# --- auto on Epoch's points: every candidate backtested, one chosen, with reasons
expect_exit 0 "$SCALELAB" fit --csv "$EPOCH" "${COLS[@]}" --db f.db --bootstrap 200
expect_contains "$OUT" "backtest: 2 rolling-origin folds"
for row in "chinchilla " "chinchilla-tied" "kaplan" "near-optimal 3x" "D/N >= 1"; do expect_contains "$OUT" "$row"; done
expect_contains "$OUT" "chosen: "
expect_contains "$OUT" "prediction interval: 95%"
expect_contains "$OUT" "identified"
expect_exit 0 "$SCALELAB" fit --csv "$EPOCH" "${COLS[@]}" --db f.db --bootstrap 200 --json
echo "$OUT" > auto.json
check "$(json auto.json 'len(j["result"]["backtest"]["candidates"])') >= 6" "fewer than 6 candidates"
check "$(json auto.json 'j["result"]["backtest"]["chosen"]') >= 0" "nothing chosen"
check "$(json auto.json 'j["result"]["prediction_interval"]["available"]')" "no prediction interval"
check "$(json auto.json 'j["result"]["prediction_interval"]["q"]') > 0" "q not positive"
[ "$(json auto.json 'j["selection"]["law_rule"]')" = "auto: chosen by the backtest" ] || fail "law rule"

# --- forecast: two named intervals, the prediction interval the wider, and a regime verdict
expect_exit 0 "$SCALELAB" forecast --db f.db --params 1.4e9 --tokens 2.9e10 --json
echo "$OUT" > in.json
L='j["quantities"]["loss"]'
check "$(json in.json "$L[\"prediction\"][\"lo\"]") < $(json in.json "$L[\"confidence\"][\"lo\"]")" "PI not wider (lo)"
check "$(json in.json "$L[\"prediction\"][\"hi\"]") > $(json in.json "$L[\"confidence\"][\"hi\"]")" "PI not wider (hi)"
[ "$(json in.json 'j["regime"]["verdict"]')" = "inside the data" ] || fail "regime inside"
expect_exit 0 "$SCALELAB" forecast --db f.db --compute 1e24 --json
echo "$OUT" > out.json
check "'extrapolating x' in $(json out.json 'repr(j["regime"]["verdict"])')" "no extrapolation verdict"
w_in=$(json in.json "$L[\"prediction\"][\"hi\"] / $L[\"prediction\"][\"lo\"]")
w_out=$(json out.json "$L[\"prediction\"][\"hi\"] / $L[\"prediction\"][\"lo\"]")
check "$w_out > $w_in" "the prediction interval does not widen with extrapolation ($w_in vs $w_out)"
expect_exit 0 "$SCALELAB" forecast --db f.db --compute 1e24
expect_contains "$OUT" "95% prediction"
expect_contains "$OUT" "regime: extrapolating x"
expect_contains "$OUT" "warning: this query lies outside the fitted data"

# --- datablations: with epochs, auto weighs the data-constrained law
expect_exit 0 "$SCALELAB" fit --csv "$DATAB" --n-col num_params --d-col token_num --loss-col openLM_loss \
  --epochs-col epochs --db d.db --bootstrap 100 --json
echo "$OUT" > dc.json
check "'data-constrained' in [r['law'] for r in $(json dc.json 'j["result"]["backtest"]["candidates"]')]" "no data-constrained candidate"
expect_exit 0 "$SCALELAB" fit --csv "$DATAB" --n-col num_params --d-col token_num --loss-col openLM_loss \
  --epochs-col epochs --db d.db --bootstrap 100 --law data-constrained
expect_contains "$OUT" "R_D*"
expect_exit 0 "$SCALELAB" forecast --db d.db --params 2.8e9 --tokens 5.6e10 --unique-tokens 1.4e10
expect_contains "$OUT" "95% prediction"
expect_exit 2 "$SCALELAB" forecast --db d.db --params 2.8e9 --tokens 5.6e10 --unique-tokens 1e11
expect_contains "$ERR" "exceeds --tokens"

# --- weights from each point's standard error
"$PY" - "$EPOCH" > se.csv <<'PYEOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
print("N,C,loss,se")
for k, r in enumerate(rows):
    print(f"{r['Model Size']},{r['Training FLOP']},{r['loss']},{0.002 * (1 + k % 3)}")
PYEOF
expect_exit 0 "$SCALELAB" fit --csv se.csv --n-col N --c-col C --loss-col loss --se-col se --weights se \
  --db w.db --bootstrap 50 --json
echo "$OUT" > w.json
[ "$(json w.json 'j["selection"]["weights"]')" = se ] || fail "weights not recorded"
check "$(json w.json 'j["result"]["prediction_interval"]["available"]')" "no prediction interval with weights"

# --- fewer than 3 budgets: no backtest, and the forecast says there is no prediction interval
{ echo 'N,D,loss'; for nd in 1e16 1e17; do for n in 1e7 2e7 5e7 1e8; do  # two budgets, C = 6ND
  "$PY" -c "n=$n; d=$nd/n; print(f'{n},{d},{1.8 + 400/n**0.34 + 2000/d**0.37}')"; done; done; } > two.csv
expect_exit 0 "$SCALELAB" fit --csv two.csv --n-col N --d-col D --loss-col loss --law chinchilla --db t.db --bootstrap 50
expect_contains "$OUT" "backtest: none"
expect_exit 0 "$SCALELAB" forecast --db t.db --params 1e8 --tokens 2e9
expect_contains "$OUT" "prediction interval: none"

# --- bad input: one line, exit 2, the database byte-identical and no file written
before=$(sha256sum f.db)
files_before=$(ls | sort)
bad() {  # bad NEEDLE ARGS...: scalelab ARGS exits 2 with NEEDLE on one stderr line
  local needle=$1; shift
  expect_exit 2 "$SCALELAB" "$@"
  expect_contains "$ERR" "$needle"
  [ "$(printf '%s\n' "$ERR" | wc -l)" = 1 ] || fail "more than one stderr line: $ERR"
  [ "$(sha256sum f.db)" = "$before" ] || fail "f.db changed after: $*"
  [ "$(ls | sort)" = "$files_before" ] || fail "a file appeared after: $*"
}
bad "--law must be auto, chinchilla, chinchilla-tied" fit --csv "$EPOCH" "${COLS[@]}" --db f.db --law hoffmann
bad "too few points for a chinchilla fit: the filter 'D/N >= 1e+06'" \
  fit --csv "$EPOCH" "${COLS[@]}" --db f.db --law chinchilla --min-tokens-per-param 1e6
bad 'no column "uniq"' fit --csv "$EPOCH" "${COLS[@]}" --db f.db --unique-col uniq
printf 'N,D,U,loss\n1e8,1e9,2e9,3.1\n' > ud.csv
files_before=$(ls | sort)
bad "exceed the tokens trained" fit --csv ud.csv --n-col N --d-col D --unique-col U --loss-col loss --db f.db
bad "--near-optimal must be a number > 1" fit --csv "$EPOCH" "${COLS[@]}" --db f.db --near-optimal 0.5
bad "--no-filter fits every point" fit --csv "$EPOCH" "${COLS[@]}" --db f.db --no-filter --near-optimal 3
bad "--weights must be none or se" fit --csv "$EPOCH" "${COLS[@]}" --db f.db --weights inverse
bad "--weights se: no point has a standard error" fit --csv "$EPOCH" "${COLS[@]}" --db f.db --weights se
bad 'no column "stderr"' fit --csv "$EPOCH" "${COLS[@]}" --db f.db --se-col stderr --weights se
bad "--solver must be auto, multistart or varpro" fit --csv "$EPOCH" "${COLS[@]}" --db f.db --solver newton
bad "data-constrained" fit --csv "$EPOCH" "${COLS[@]}" --db f.db --law data-constrained
echo "fit_backtest: ok"
