#!/usr/bin/env bash
# README command 1, the main job: install what is missing, build, then run the
# quickstart IsoFLOP sweep on the KJV text (15 small GPTs, about 6 minutes on 2
# cores), fit a Chinchilla law to it, forecast a budget, and write the report.
# Rerunning resumes: finished runs are skipped, a killed one continues from its checkpoint.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh
export PATH="$PWD/build/app:$PATH"
export SCALELAB_DB="$PWD/scalelab.db"
[ -s data/kjv.txt ] || scalelab data kjv --out data/kjv.txt
scalelab sweep configs/quickstart.toml
scalelab fit quickstart --approach 1,2,3 --bootstrap 200
scalelab forecast --compute 1e14
scalelab report quickstart --out report
echo "report: $PWD/report/index.html"
