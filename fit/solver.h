#pragma once
// Internal: the multistart engine shared by the parametric laws. Free of Ceres
// headers on purpose: glog's CHECK macros would shadow doctest's in the tests.
#include <functional>
#include <memory>
#include <vector>

#include "fit/laws.h"

namespace ceres {
class CostFunction;
}

namespace scalelab::fit::detail {

struct StartResult {
  std::vector<double> x;
  double cost = 0;  // summed Huber (scipy units)
  bool converged = false;
  int iterations = 0;
};

// Runs fn(i, thread) for i in [0, n) on `threads` threads (0 = hardware). Each
// index runs exactly once; results written by index make the outcome independent
// of scheduling. Exceptions from fn are rethrown on the calling thread.
void parallel_for(int n, int threads, const std::function<void(int i, int thread)>& fn);
int resolve_threads(int threads, int n);

// Silences glog's INFO/WARNING chatter from Ceres' line search, once.
void quiet_ceres();

// One Ceres problem per thread, re-solved from each start it is handed.
class Solver {
 public:
  virtual ~Solver() = default;
  // Solves in place from x (solver coordinates); returns the result.
  virtual StartResult solve(std::vector<double> x) = 0;
};
using SolverFactory = std::function<std::unique_ptr<Solver>()>;

// Runs every start; picks the best by objective, then by start index.
std::vector<StartResult> multistart(const SolverFactory&, const std::vector<std::vector<double>>& starts,
                                    int threads, int* threads_used);
Convergence summarize(const std::vector<StartResult>&, const std::vector<std::vector<double>>& starts,
                      const Grid* grid, int max_iterations);

// Least-squares Solver over per-point residual blocks with HuberLoss(delta)
// scaled by the point weight: Ceres' cost 1/2 sum w rho(r^2) equals the summed
// scipy Huber exactly (ceres' rho(s) = s for s <= d^2, 2 d sqrt(s) - d^2 beyond).
// make_residual(i) returns point i's CostFunction (1 residual, x.size() params).
std::unique_ptr<Solver> make_lsq_solver(int dims, const std::vector<double>& weights,
                                        const std::function<ceres::CostFunction*(int)>& make_residual,
                                        const SolveSettings&);

// That solver for a registry law (its functor under AutoDiff, one residual per point).
std::unique_ptr<Solver> make_law_lsq(Law, const std::vector<Point>&, const std::vector<double>& w,
                                     const SolveSettings&);

// Variable projection (fit/varpro.cpp): for laws linear in E, A, B once the
// exponents are fixed. Fills x, conv; the caller sets p and the objective.
ParamFit varpro_fit(Law, const std::vector<Point>&, const SolveSettings&, const std::vector<double>& w);

}  // namespace scalelab::fit::detail
