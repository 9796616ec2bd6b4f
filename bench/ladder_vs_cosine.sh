#!/usr/bin/env bash
# Cooldown ladders against independent cosine runs (issue 14; docs/ladders.md):
# for 3 sizes on KJV, a ladder (one WSD trunk per size, branches cooling down over
# their last 20%) and a grid of cosine runs to the same (N, D) points. Prints, per
# point, both final validation losses (the final pass: eval.final_tokens or the
# whole held-out split) and their difference, and the compute each design spent.
# Usage: bench/ladder_vs_cosine.sh [SCALELAB] [WORKDIR]   (JOBS=2 by default)
set -euo pipefail
SCALELAB=$(realpath "${1:-build/app/scalelab}")
WORK=${2:-$(mktemp -d "${TMPDIR:-/tmp}/scalelab-ladder-bench.XXXXXX")}
JOBS=${JOBS:-2}
mkdir -p "$WORK" && cd "$WORK"
[ -s kjv.txt ] || "$SCALELAB" data kjv --out kjv.txt >/dev/null
common() {  # NAME MODE SCHEDULE
  cat <<TOML
name = "$1"
mode = "$2"
[data]
path = "kjv.txt"
val_fraction = 0.01
[model]
seq_len = 64
aspect_ratio = 8
head_dim = 8
[train]
batch_tokens = 2048
micro_batch = 32
lr = 3e-3
schedule = "$3"
decay_fraction = 0.2
warmup_steps = 20
[eval]
every = 200
batches = 4
log_every = 20
[axes]
params = [6.6e3, 2.2e4, 5.1e4]
tokens = { per_param = [20, 50, 125] }
TOML
}
common ladder ladder wsd > ladder.toml
common cosine grid cosine > cosine.toml
"$SCALELAB" plan ladder.toml --no-calibrate | tail -2
start=$(date +%s)
"$SCALELAB" sweep ladder.toml --db bench.db --jobs "$JOBS" --threads-per-job 1 --quiet | tail -1
mid=$(date +%s)
"$SCALELAB" sweep cosine.toml --db bench.db --jobs "$JOBS" --threads-per-job 1 --quiet | tail -1
end=$(date +%s)
echo "wall: ladder $((mid - start)) s, cosine runs $((end - mid)) s on $JOBS job(s) x 1 thread"
sqlite3 -separator ' ' bench.db "
  SELECT printf('%-14s %9s %10s %10s %10s %8s', 'shape', 'D', 'tok/param', 'cosine', 'ladder', 'diff');
  SELECT printf('%-14s %9.3g %10.3g %10.4f %10.4f %7.2f%%', c.shape, c.planned_tokens,
                c.planned_tokens / c.params_total, c.final_val_loss, b.final_val_loss,
                100.0 * (b.final_val_loss - c.final_val_loss) / c.final_val_loss)
  FROM runs c JOIN runs b ON b.shape = c.shape AND b.planned_tokens = c.planned_tokens AND b.parent_id IS NOT NULL
  WHERE c.name LIKE 'cosine/%' ORDER BY c.params_total, c.planned_tokens;
  SELECT printf('mean diff %.2f%% over %d points (ladder - cosine, relative)',
                avg(100.0 * (b.final_val_loss - c.final_val_loss) / c.final_val_loss), count(*))
  FROM runs c JOIN runs b ON b.shape = c.shape AND b.planned_tokens = c.planned_tokens AND b.parent_id IS NOT NULL
  WHERE c.name LIKE 'cosine/%';
  SELECT printf('compute: ladder %.3g FLOPs (trunks + cooldowns), cosine runs %.3g FLOPs',
    (SELECT sum(flops_per_token * CASE WHEN parent_id IS NULL THEN tokens_done
            ELSE tokens_done - fork_step * 2048 END) FROM runs WHERE name LIKE 'ladder/%'),
    (SELECT sum(flops_per_token * tokens_done) FROM runs WHERE name LIKE 'cosine/%'));"
