// The weighted least-squares parabola of fit/parabola.h.
#include "fit/parabola.h"

#include <ceres/ceres.h>

#include <cmath>

#include "fit/ceres_options.h"
#include "fit/solver.h"

namespace scalelab::fit {

namespace {
struct ParabolaResidual {
  double x, y, sw;
  template <typename T>
  bool operator()(const T* q, T* r) const {
    r[0] = sw * (q[0] + q[1] * x + q[2] * x * x - y);
    return true;
  }
};
}  // namespace

std::array<double, 3> Parabola::in_x() const {
  return {c0 - c1 * xc + c2 * xc * xc, c1 - 2 * c2 * xc, c2};
}

Parabola fit_parabola(const std::vector<double>& x, const std::vector<double>& y, const std::vector<double>& w,
                      double xc) {
  detail::quiet_ceres();
  double q[3] = {0, 0, 0};
  ceres::Problem problem;
  for (std::size_t i = 0; i < x.size(); ++i)
    problem.AddResidualBlock(new ceres::AutoDiffCostFunction<ParabolaResidual, 1, 3>(
                                 new ParabolaResidual{x[i] - xc, y[i], std::sqrt(w[i])}),
                             nullptr, q);
  ceres::Solver::Summary s;
  ceres::Solve(detail::lsq_options({}), &problem, &s);
  return {xc, q[0], q[1], q[2]};
}

}  // namespace scalelab::fit
