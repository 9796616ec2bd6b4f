#pragma once
// Internal: Chinchilla's objective and solvers, shared by laws.cpp, the tests
// and the benchmark.
#include <memory>
#include <vector>

#include "fit/laws.h"
#include "fit/solver.h"

namespace scalelab::fit::detail {

// Points in log space, struct-of-arrays, zero-weight points dropped.
struct ChinchillaData {
  ChinchillaData(const std::vector<Point>&, const std::vector<double>& weights);
  std::vector<double> x, z, y, w;  // log N, log D, log L, weight
  double xmin = 0, xmax = 0, zmin = 0, zmax = 0;
  std::vector<double> scratch;
};

// Summed weighted Huber at solver coordinates q = (a, b, e, alpha, beta), with
// its gradient when g != nullptr. The fast path is vectorised; _exact uses libm.
double chinchilla_cost(ChinchillaData&, const double* q, double delta, double* g);
double chinchilla_cost_exact(const ChinchillaData&, const double* q, double delta, double* g);

std::unique_ptr<Solver> make_chinchilla_lbfgs(const std::vector<Point>&, const std::vector<double>& w,
                                              const SolveSettings&);
std::unique_ptr<Solver> make_chinchilla_lsq(const std::vector<Point>&, const std::vector<double>& w,
                                            const SolveSettings&);

}  // namespace scalelab::fit::detail
