#!/bin/bash
# Runs the C++ Approach-3 benchmark and the scipy peer in one invocation and
# prints the speed ratio. Usage: bench/fit_compare.sh BUILD_DIR [THREADS]
#   BUILD_DIR: a configured build with the fit_approach3 target built
#   THREADS:   threads for the C++ fit (default: all cores)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: fit_compare.sh BUILD_DIR [THREADS]}
threads=${2:-0}
bin="$build/bench/fit_approach3"
[ -x "$bin" ] || bin=$(find "$build" -name fit_approach3 -type f -perm -u+x | head -1)
[ -x "$bin" ] || { echo "fit_approach3 not built in $build" >&2; exit 1; }
echo "== scalelab (Ceres), threads=${threads:-all}"
ours=$("$bin" --threads "$threads" --resamples 1000)
echo "$ours"
echo "== peer: scipy L-BFGS-B ($(/usr/bin/python3 -c 'import scipy; print(scipy.__version__)'))"
peer=$(/usr/bin/python3 "$here/fit_peer_scipy.py")
echo "$peer"
t_ours=$(echo "$ours" | sed -n 's/.*full_grid_seconds=\([0-9.]*\).*/\1/p')
t_peer=$(echo "$peer" | sed -n 's/.*peer_seconds=\([0-9.]*\).*/\1/p')
t_boot=$(echo "$ours" | sed -n 's/.*bootstrap_seconds=\([0-9.]*\).*/\1/p')
/usr/bin/python3 -c "
o, p, b = $t_ours, $t_peer, $t_boot
print(f'full grid: scalelab {o:.3f} s, scipy {p:.1f} s, ratio {p / o:.1f}x (target >= 30x)')
print(f'bootstrap, 1000 resamples: {b:.2f} s (target <= 30 s)')"
