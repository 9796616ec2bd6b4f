#!/usr/bin/env bash
# README command 1, the main job: install what is missing, build the CLI, then run
# the quickstart cooldown ladder on the KJV text (6 trunks and 27 branches, about
# 4 minutes on 2 cores), fit Chinchilla's three approaches to it, forecast a
# budget, and write the report.
# Rerunning resumes: finished runs are skipped, a killed one continues from its checkpoint.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
SCALELAB_BUILD_TARGETS=scalelab bash scripts/build.sh   # the CLI only; scripts/test.sh builds the tests
export PATH="$PWD/build/app:$PATH"
export SCALELAB_DB="$PWD/scalelab.db"
[ -s data/kjv.txt ] || scalelab data kjv --out data/kjv.txt
scalelab sweep configs/quickstart.toml
# --law chinchilla: the backtest would pick the tied law, whose a = 0.5 the
# quickstart's IsoFLOP profiles reject (docs/fits.md, "Do the approaches agree?").
scalelab fit quickstart --approach 1,2,3 --law chinchilla --bootstrap 200
scalelab forecast --compute 1e14
scalelab report quickstart --out report
echo "report: $PWD/report/index.html"
