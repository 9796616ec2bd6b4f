# A fitted learning-rate rule through the binary (docs/hparams.md): a tiny LR sweep (3 sizes x 4 LRs), `fit --law lr`
# (text and JSON, stored with an id), then a second sweep planned with
# lr_rule = { fit = ID } whose LRs are c N^-k rounded to 3 significant digits;
# and the bad inputs of both, each one line and exit 2 with nothing written.
source "$(dirname "$0")/lib.sh" "$@"
make_corpus corpus.txt
{ printf '%s\n' 'name = "lrscan"'; tiny_model_toml; cat <<'TOML'
schedule = "wsd"
[eval]
every = 50
batches = 2
[axes]
params = [3e3, 2.5e4, 8.3e4]
tokens = [51200]
lr = [3e-4, 3e-3, 3e-2, 0.3]
TOML
} > scan.toml
expect_exit 0 "$SCALELAB" sweep scan.toml --db s.db --jobs 2 --threads-per-job 1 --quiet
[ "$(sqlite3 s.db "SELECT count(*) FROM runs WHERE status = 'done'")" -ge 11 ] || fail "the scan did not finish"

expect_exit 0 "$SCALELAB" fit lrscan --law lr --db s.db --bootstrap 200
expect_contains "$OUT" "learning-rate rule lr*(N) = c N^-k through 3 of 3 sizes (N: non_embedding parameters)"
expect_contains "$OUT" "bracketed"
id=$(echo "$OUT" | sed -n 's/^fit \([0-9]*\) stored in.*/\1/p')
[ -n "$id" ] || fail "no fit id in: $OUT"
[ "$(sqlite3 s.db "SELECT law || '/' || approach FROM fits WHERE id = $id")" = "lr/lr" ] || fail "fit $id is not stored as lr"
expect_exit 0 "$SCALELAB" fit lrscan --law lr --db s.db --bootstrap 200 --json
echo "$OUT" > fit.json
for p in c k; do
  jq -e ".params.$p.value > 0 and .params.$p.lo != null and .params.$p.hi != null" fit.json >/dev/null ||
    fail "params.$p has no value and interval: $(jq -c .params fit.json)"
done
[ "$(jq '.result.sizes | length' fit.json)" = 3 ] || fail "want 3 sizes in result.sizes"
[ "$(jq '.result.scans[0].lrs | length' fit.json)" = 4 ] || fail "want 4 LRs per scan"
# The report draws loss against LR, one line per size, and keeps the LR fit out of the loss figures.
expect_exit 0 "$SCALELAB" report lrscan --db s.db --out rep --format svg
[ -s rep/figures/lr.svg ] || fail "no loss-against-LR figure: $(ls rep/figures)"
expect_contains "$(cat rep/index.html)" "Loss against learning rate"
expect_contains "$(cat rep/index.html)" "The stored learning-rate rule (fit"
for shape in $(jq -r '.result.scans[].shape' fit.json); do expect_contains "$(cat rep/figures/lr.gp rep/figures/lr.dat 2>/dev/null)" "$shape"; done
case "$(cat rep/index.html)" in *"Approach lr"*) fail "the report lists the LR rule as a loss law" ;; esac
c=$(jq '.params.c.value' fit.json)
k=$(jq '.params.k.value' fit.json)
jid=$(jq '.id' fit.json)

# A second sweep takes its LRs from the stored rule.
{ printf '%s\n' 'name = "ruled"'; tiny_model_toml; cat <<TOML
[axes]
params = [3e3, 2.5e4, 2e5]
tokens = [51200]
[lr_rule]
fit = $jid
TOML
} > ruled.toml
expect_exit 0 "$SCALELAB" plan ruled.toml --db s.db --json --no-calibrate
echo "$OUT" > plan.json
expect_contains "$(jq -r '.notes[]' plan.json)" "lr_rule: fit $jid: lr ="
[ "$(jq '.runs | length' plan.json)" = 3 ] || fail "want 3 planned runs"
jq -r '.runs[] | "\(.params_non_embedding) \(.lr)"' plan.json | while read -r n lr; do
  want=$(awk -v c="$c" -v k="$k" -v n="$n" 'BEGIN { v = c * n ^ (-k); e = 10 ^ (int(log(v) / log(10) + 100) - 100 - 2); printf "%.6g", int(v / e + 0.5) * e }')
  awk -v a="$lr" -v b="$want" 'BEGIN { exit !(a / b > 0.999999 && a / b < 1.000001) }' ||
    fail "N = $n: planned lr $lr, want c N^-k = $want (c = $c, k = $k)"
  stored=$(jq -r --arg n "$n" '.runs[] | select((.params_non_embedding | tostring) == $n) | .config' plan.json |
    awk '/^\[/ { t = $0 } t == "[train]" && $1 == "lr" { print $3 }')
  awk -v a="$lr" -v b="$stored" 'BEGIN { exit !(b != "" && a / b > 0.999999 && a / b < 1.000001) }' ||
    fail "N = $n: the resolved run config records lr = '$stored', planned $lr"
done

# Bad input: one line naming the key, exit 2, nothing written.
bad() {  # NEEDLE CMD...
  local needle=$1; shift
  expect_exit 2 "$@"
  expect_contains "$ERR" "$needle" "stderr"
  [ "$(printf '%s\n' "$ERR" | wc -l)" = 1 ] || fail "'$*': want one line on stderr, got: $ERR"
}
sed "s/^fit = .*/fit = 999/" ruled.toml > missing.toml
bad "lr_rule.fit: no fit 999 in s.db" "$SCALELAB" plan missing.toml --db s.db --no-calibrate
# Any fit of another kind (its columns are not read past the law).
sqlite3 s.db "INSERT INTO fits (created_at, source, law, approach, selection, conventions, params, objective, n_points, convergence, result) VALUES ('2026-12-01T00:00:00Z', 'x', 'chinchilla', '3', '{}', '{}', '{}', 0, 0, '{}', '{}')"
other=$(sqlite3 s.db "SELECT max(id) FROM fits WHERE law != 'lr'")
sed "s/^fit = .*/fit = $other/" ruled.toml > other.toml
bad "lr_rule.fit: fit $other is a chinchilla (approach 3) fit, not a learning-rate rule" \
  "$SCALELAB" plan other.toml --db s.db --no-calibrate
sed "s/^fit = .*/fit = $jid\nc = 0.3/" ruled.toml > both.toml
bad "lr_rule.fit: give lr_rule = { fit = ID } or lr_rule = { c = 0.1, k = 0.25 }, not both" \
  "$SCALELAB" plan both.toml --db s.db --no-calibrate
bad "lr_rule.fit: no fit 999 in s.db" "$SCALELAB" sweep missing.toml --db s.db
bad "lr_rule.fit: fit $jid is read from the database: " "$SCALELAB" plan ruled.toml --db nosuch.db --no-calibrate
[ ! -e nosuch.db ] || fail "a missing database was created"
# Two LRs per size cannot bracket a minimum.
sed 's/^name = .*/name = "two"/; s/^lr = .*/lr = [3e-3, 3e-2]/; s/^params = .*/params = [3e3, 2.5e4]/; s/^tokens = .*/tokens = [25600]/' scan.toml > two.toml
expect_exit 0 "$SCALELAB" sweep two.toml --db s.db --jobs 2 --threads-per-job 1 --quiet
fits_before=$(sqlite3 s.db "SELECT count(*) FROM fits")
bad "--law lr needs at least 3 learning rates per size (axes.lr) to bracket the best one; sweep 'two' has 2 at N =" \
  "$SCALELAB" fit two --law lr --db s.db
bad "--law lr fits a learning-rate rule, not a loss law: it takes no --approach" \
  "$SCALELAB" fit lrscan --law lr --approach 1,2 --db s.db
bad "--law lr needs a sweep with an LR axis (axes.lr); a CSV of final losses has no learning rates" \
  "$SCALELAB" fit --csv fit.json --law lr --db s.db
[ "$(sqlite3 s.db "SELECT count(*) FROM fits")" = "$fits_before" ] || fail "a refused fit was stored"
[ "$(sqlite3 s.db "SELECT count(*) FROM sweeps WHERE name = 'ruled'")" = 0 ] || fail "a refused sweep was registered"

# forecast refuses an LR rule, naming what it is.
bad "fit $jid is a learning-rate rule" "$SCALELAB" forecast --fit "$jid" --db s.db --compute 1e18
echo "OK"
