#!/usr/bin/env bash
# The quickstart on subword tokens (configs/quickstart-bpe.toml): a 4096-piece BPE
# tokenizer trained on the KJV's training split, a cooldown ladder on its tokens, a
# fit of Chinchilla's three approaches in bits per byte, and the report.
# Rerunning resumes, like scripts/quickstart.sh; the tokenizer is not retrained when
# data/kjv-bpe4096 is up to date.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
SCALELAB_BUILD_TARGETS=scalelab bash scripts/build.sh   # the plugins (trainer, tokenizer) come with it
export PATH="$PWD/build/app:$PATH"
export SCALELAB_DB="$PWD/scalelab.db"
[ -s data/kjv.txt ] || scalelab data kjv --out data/kjv.txt
scalelab data tokenize data/kjv.txt --vocab 4096 --out data/kjv-bpe4096
scalelab sweep configs/quickstart-bpe.toml
scalelab fit quickstart-bpe --loss bpb --approach 1,2,3 --law chinchilla --bootstrap 200
scalelab report quickstart-bpe --out report-bpe
echo "report: $PWD/report-bpe/index.html"
