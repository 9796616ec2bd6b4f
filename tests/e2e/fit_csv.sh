# `scalelab fit --csv` on Epoch's Chinchilla data, then `scalelab forecast` from the stored fit,
# and the bad-input exits. Usage: fit_csv.sh SCALELAB SRC
source "$(dirname "$0")/lib.sh" "$@"
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
DATA="$SRC/tests/data/svg_extracted_data.csv"
COLS=(--n-col "Model Size" --c-col "Training FLOP" --loss-col loss)

# json FILE EXPR: evaluates a Python expression on the parsed JSON in FILE (as j).
json() { "$PY" -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"; }
check() { [ "$("$PY" -c "print(bool($1))")" = True ] || fail "$2"; }

# --- Epoch's fit reproduced: the plain law on every point, by the multistart, stored, human-readable
EPOCH=(--law chinchilla --no-filter)
expect_exit 0 "$SCALELAB" fit --csv "$DATA" "${COLS[@]}" --drop-highest 5 --db f.db "${EPOCH[@]}" --solver multistart
expect_contains "$OUT" "fit 1 stored in f.db"
expect_contains "$OUT" "240 points"
expect_contains "$OUT" "objective 0.00101827"
expect_contains "$OUT" "4500/4500 starts converged"
expect_contains "$OUT" "chosen: chinchilla with filter none"
expect_contains "$OUT" "hold-out (largest compute budget"
expect_contains "$OUT" "residuals: RMSE"
expect_contains "$OUT" "bootstrap: 1000 resamples"

# --- forecast from the latest fit: one loss, with its interval
expect_exit 0 "$SCALELAB" forecast --db f.db --params 1.4e9 --tokens 2.9e10 --json
echo "$OUT" > fc.json
loss=$(json fc.json 'j["quantities"]["loss"]["value"]')
lo=$(json fc.json 'j["quantities"]["loss"]["lo"]')
hi=$(json fc.json 'j["quantities"]["loss"]["hi"]')
check "2.43 < $loss < 2.46" "forecast loss $loss not near 2.444"
check "$lo < $loss < $hi" "interval [$lo, $hi] does not contain $loss"
[ "$(json fc.json 'j["fit"]')" = 1 ] || fail "forecast did not use fit 1"

# --- the same fit as JSON (stored again as fit 2): Epoch's optimum and interval
expect_exit 0 "$SCALELAB" fit --csv "$DATA" "${COLS[@]}" --drop-highest 5 --db f.db --json --bootstrap 200 "${EPOCH[@]}" --solver varpro
echo "$OUT" > fit.json
check "abs($(json fit.json 'j["params"]["alpha"]["value"]') - 0.3473) < 0.0004" "alpha off"
check "abs($(json fit.json 'j["params"]["E"]["value"]') - 1.8172) < 0.002" "E off"
check "$(json fit.json 'j["objective"]') <= 0.00101828" "objective above the optimum"
check "$(json fit.json 'j["params"]["alpha"]["lo"]') < 0.373 and $(json fit.json 'j["params"]["alpha"]["hi"]') > 0.317" "alpha interval"
[ "$(json fit.json 'j["id"]')" = 2 ] || fail "second fit is not id 2"
[ "$(json fit.json 'j["convergence"]["solver"][:19]')" = "variable projection" ] || fail "solver not varpro"
expect_exit 0 "$SCALELAB" forecast --db f.db --fit 1 --compute 5.88e23
expect_contains "$OUT" "tokens per param"
expect_exit 0 "$SCALELAB" forecast --db f.db --target-loss 2.1 --gpu a100 --gpus 64
expect_contains "$OUT" "wall time"
expect_exit 0 "$SCALELAB" forecast --db f.db --compute 1e24 --inference-tokens 2e12
expect_contains "$OUT" "saving vs compute-optimal"

# --- bad input: one line, exit 2
expect_exit 2 "$SCALELAB" fit --csv "$DATA" --n-col "Model Sise" --c-col "Training FLOP" --loss-col loss --db f.db
expect_contains "$ERR" 'no column "Model Sise"'
expect_contains "$ERR" '"Model Size"'
printf 'Model Size,Training FLOP,loss\n1e8,6e18,3.1\n2e8,6e18\n' > short.csv
expect_exit 2 "$SCALELAB" fit --csv short.csv "${COLS[@]}" --db f.db
expect_contains "$ERR" "short.csv:3:"
printf 'Model Size,Training FLOP,loss\n1e8,6e18,3.1\n2e8,6e18,0\n' > zero.csv
expect_exit 2 "$SCALELAB" fit --csv zero.csv "${COLS[@]}" --db f.db
expect_contains "$ERR" "losses must be positive"
printf 'Model Size,Training FLOP,loss\n1e8,6e18,3.1\n2e8,6e18,3.0\n4e8,6e18,2.9\n' > few.csv
expect_exit 2 "$SCALELAB" fit --csv few.csv "${COLS[@]}" --db f.db
expect_contains "$ERR" "too few points"
{ echo 'Model Size,Training FLOP,loss'; for i in 1 2 3 4 5 6 7 8; do echo "1e8,${i}e18,3.$i"; done; } > oneN.csv
expect_exit 2 "$SCALELAB" fit --csv oneN.csv "${COLS[@]}" --db f.db
expect_contains "$ERR" "1 distinct model size"
expect_exit 2 "$SCALELAB" fit --csv "$DATA" "${COLS[@]}" --approach 1 --db f.db
expect_exit 2 "$SCALELAB" fit --db f.db
expect_exit 2 "$SCALELAB" forecast --db empty.db --compute 1e24
expect_contains "$ERR" "empty.db: no such database; run \`scalelab fit\` first"
[ ! -e empty.db ] || fail "forecast created a database"
expect_exit 0 "$SCALELAB" init --db empty.db
expect_exit 2 "$SCALELAB" forecast --db empty.db --compute 1e24
expect_contains "$ERR" "no fits yet"
expect_exit 2 "$SCALELAB" forecast --db f.db --target-loss 1.5
expect_contains "$ERR" "irreducible loss"
expect_exit 2 "$SCALELAB" forecast --db f.db --compute 1e24 --gpu h9000
expect_contains "$ERR" "unknown --gpu"
expect_exit 2 "$SCALELAB" forecast --db f.db --fit 99 --compute 1e24
echo "fit_csv: ok"
