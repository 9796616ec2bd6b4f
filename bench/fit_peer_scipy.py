#!/usr/bin/python3
"""Peer for bench/fit_approach3: Epoch's Approach-3 procedure in scipy.

Same data (240 points after dropping the 5 highest losses), same objective
(scipy.special.huber(1e-3, r) summed over log-space residuals of the
log-sum-exp model), same 4,500-start grid, and scipy.optimize.minimize with
method='L-BFGS-B' and its defaults (finite-difference gradient), as in Epoch's
analyzing-chinchilla notebook. Run with Debian's python3-scipy:
    /usr/bin/python3 bench/fit_peer_scipy.py [CSV]
"""
import csv
import itertools
import os
import sys
import time

import numpy as np
from scipy.optimize import minimize
from scipy.special import huber

here = os.path.dirname(os.path.abspath(__file__))
path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "tests", "data", "svg_extracted_data.csv")
rows = list(csv.DictReader(open(path)))
N = np.array([float(r["Model Size"]) for r in rows])
C = np.array([float(r["Training FLOP"]) for r in rows])
L = np.array([float(r["loss"]) for r in rows])
keep = np.argsort(L, kind="stable")[:-5]
N, C, L = N[keep], C[keep], L[keep]
D = C / (6 * N)
lN, lD, lL = np.log(N), np.log(D), np.log(L)


def objective(p):
    a, b, e, alpha, beta = p
    pred = np.logaddexp(np.logaddexp(a - alpha * lN, b - beta * lD), e)
    return np.sum(huber(1e-3, pred - lL))


grid = list(itertools.product(np.arange(0, 30, 5), np.arange(0, 30, 5), np.arange(-1, 1.5, 0.5),
                              np.arange(0, 2.5, 0.5), np.arange(0, 2.5, 0.5)))
t0 = time.perf_counter()
best = None
converged = 0
for a, b, e, alpha, beta in grid:
    r = minimize(objective, [a, b, e, alpha, beta], method="L-BFGS-B")
    converged += bool(r.success)
    if best is None or r.fun < best.fun:
        best = r
seconds = time.perf_counter() - t0
A, B, E = np.exp(best.x[:3])
print(f"peer_seconds={seconds:.3f} starts={len(grid)} converged={converged}")
print(f"objective={best.fun:.10f} A={A:.2f} B={B:.1f} E={E:.4f} alpha={best.x[3]:.4f} beta={best.x[4]:.4f}")
