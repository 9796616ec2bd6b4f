// Kaplan et al. (2020) eq. 1.5: L(N, D) = [(Nc/N)^(alpha_N/alpha_D) + Dc/D]^alpha_D.
// Solver coordinates (ln Nc, ln Dc, ratio = alpha_N/alpha_D, alpha_D), so no
// exponent is ever divided by a coordinate that may cross zero:
//   log L = alpha_D * LSE(ratio (ln Nc - ln N), ln Dc - ln D).
#include <ceres/ceres.h>

#include <cmath>

#include "fit/ceres_options.h"
#include "fit/kaplan_internal.h"

namespace scalelab::fit::detail {

namespace {
struct KaplanResidual {
  double lnN, lnD, lnL;
  template <typename T>
  bool operator()(const T* q, T* r) const {
    T u = q[2] * (q[0] - lnN), v = q[1] - lnD;
    T m = u > v ? u : v;
    r[0] = q[3] * (m + log(exp(u - m) + exp(v - m))) - lnL;
    return true;
  }
};
}  // namespace

double kaplan_log_loss(const double* q, double lnN, double lnD) {
  const double u = q[2] * (q[0] - lnN), v = q[1] - lnD, m = std::max(u, v);
  return q[3] * (m + std::log(std::exp(u - m) + std::exp(v - m)));
}

std::unique_ptr<Solver> make_kaplan_lsq(const std::vector<Point>& pts, const std::vector<double>& w,
                                        const SolveSettings& s) {
  std::vector<double> weights = w.empty() ? std::vector<double>(pts.size(), 1.0) : w;
  return make_lsq_solver(4, weights, [&pts](int i) -> ceres::CostFunction* {
    return new ceres::AutoDiffCostFunction<KaplanResidual, 1, 4>(
        new KaplanResidual{std::log(pts[i].N), std::log(pts[i].D), std::log(pts[i].L)});
  }, s);
}

Grid kaplan_grid() {
  Grid g;
  g.names = {"ln_Nc", "ln_Dc", "ratio", "alpha_D"};
  g.axes = {{15, 25, 35}, {15, 25, 35}, {0.5, 1, 2}, {0.05, 0.1, 0.2, 0.4}};
  return g;
}

}  // namespace scalelab::fit::detail
