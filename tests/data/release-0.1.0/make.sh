# How release.db and golden/ were made, on 2026-12-01, by the scalelab 0.1.0
# release (commit 73d7e98, store schema v4), on one thread per run so the
# losses do not depend on the machine. Kept for the record: rerunning it with a
# later scalelab would make a database of that version, not of this release.
# tests/e2e/store_release_db.sh checks that the current binary still opens the
# database, reads every stored fit, and prints the same forecasts and exports.
set -euo pipefail
S=${1:?usage: make.sh PATH/TO/scalelab-0.1.0}
DATA=$(dirname "$0")/..
"$S" data kjv --out kjv.txt >/dev/null
head -c 400000 kjv.txt > corpus.txt
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
"$S" sweep tiny.toml --db release.db --jobs 2 --threads-per-job 1 --quiet
"$S" fit tiny --db release.db --approach 3 --bootstrap 100                      # fit 1: auto (chinchilla-tied)
"$S" fit tiny --db release.db --approach 1 --bootstrap 100                      # fit 2
"$S" fit tiny --db release.db --approach 2 --bootstrap 100                      # fit 3
"$S" fit tiny --db release.db --approach 3 --law kaplan --bootstrap 50          # fit 4
"$S" fit tiny --db release.db --approach 3 --law power --x c --bootstrap 50     # fit 5
sqlite3 release.db "INSERT INTO evals (run_id, step, task, metric, value, n)
  SELECT id, steps_done, 'addition', 'exact_match', min(1.0, max(0.0, (ln(params_total) - 7.0) / 4.0)), 1000 FROM runs;
  INSERT INTO evals (run_id, step, task, metric, value, n)
  SELECT id, steps_done, 'addition', 'logprob_per_token', -2.0 / (1 + params_total / 5000.0), 1000 FROM runs;"
"$S" emergence tiny --db release.db --task addition --bootstrap 100              # fit 6
EPOCH=$DATA/svg_extracted_data.csv DATAB=$DATA/datablations_contour_losses.csv
"$S" fit --csv "$EPOCH" --db release.db --n-col "Model Size" --c-col "Training FLOP" --loss-col loss \
  --drop-highest 5 --bootstrap 100                                               # fit 7
"$S" fit --csv "$DATAB" --n-col num_params --d-col token_num --loss-col openLM_loss --epochs-col epochs \
  --db release.db --bootstrap 100 --law data-constrained                         # fit 8
"$S" fit --csv "$EPOCH" --db release.db --n-col "Model Size" --c-col "Training FLOP" --loss-col loss \
  --drop-highest 5 --bootstrap 100 --law chinchilla --no-filter                  # fit 9
"$S" emergence tiny --db release.db --task addition --metric exact_match --x compute --bootstrap 50  # fit 10
sqlite3 release.db "PRAGMA wal_checkpoint(TRUNCATE); VACUUM;"

mkdir -p golden/figures
for f in 1 2 3 4 5 7 9; do "$S" forecast --db release.db --fit $f --compute 1e14 --json > golden/forecast_$f.json; done
"$S" forecast --db release.db --fit 8 --params 2.8e9 --tokens 5.6e10 --unique-tokens 1.4e10 --json > golden/forecast_8.json
"$S" forecast --db release.db --fit 7 --gpu-hours 1000 --json > golden/forecast_7_gpuh.json
"$S" export tiny --db release.db --json --out ex && cp ex/fits.json golden/export_fits.json
"$S" report tiny --db release.db --out rep --format svg && cp rep/figures/*.dat golden/figures/
COLUMNS=100 "$S" report tiny --db release.db --term > golden/report_term.txt
