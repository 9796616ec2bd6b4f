// The log-log lines y = k x^b used by Approaches 1 and 2, and the Pareto
// frontier the single-variable power laws are fitted to.
#include <ceres/ceres.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/error.h"
#include "fit/ceres_options.h"
#include "fit/laws.h"
#include "fit/solver.h"

namespace scalelab::fit {
namespace detail {

namespace {
struct LineResidual {
  double lx, ly;
  template <typename T>
  bool operator()(const T* q, T* r) const {
    r[0] = q[0] + q[1] * lx - ly;
    return true;
  }
};
}  // namespace

}  // namespace detail

double LogLine::at(double x) const { return k * std::pow(x, exponent); }

LogLine fit_log_line(const std::vector<double>& x, const std::vector<double>& y) {
  if (x.size() != y.size() || x.size() < 2) user_error("a power-law fit needs at least 2 points, got {}", x.size());
  for (std::size_t i = 0; i < x.size(); ++i)
    if (!(x[i] > 0 && y[i] > 0 && std::isfinite(x[i]) && std::isfinite(y[i])))
      user_error("a power-law fit needs positive values, got ({}, {})", x[i], y[i]);
  if (std::all_of(x.begin(), x.end(), [&](double v) { return std::fabs(std::log(v / x[0])) < 1e-12; }))
    user_error("a power-law fit needs at least 2 distinct x values, got one ({})", x[0]);
  detail::quiet_ceres();
  double q[2] = {0, 0};
  // Centre log x so the two coordinates are uncorrelated and the problem well scaled.
  double mx = 0;
  for (double v : x) mx += std::log(v);
  mx /= static_cast<double>(x.size());
  ceres::Problem problem;
  for (std::size_t i = 0; i < x.size(); ++i)
    problem.AddResidualBlock(new ceres::AutoDiffCostFunction<detail::LineResidual, 1, 2>(
                                 new detail::LineResidual{std::log(x[i]) - mx, std::log(y[i])}),
                             nullptr, q);
  SolveSettings s;
  ceres::Solver::Summary summary;
  ceres::Solve(detail::lsq_options(s), &problem, &summary);
  return LogLine{std::exp(q[0] - q[1] * mx), q[1]};
}

std::vector<Point> frontier(const std::vector<Point>& pts, Law law) {
  std::vector<Point> sorted = pts;
  std::stable_sort(sorted.begin(), sorted.end(), [&](const Point& a, const Point& b) {
    double xa = power_variable(law, a), xb = power_variable(law, b);
    return xa != xb ? xa < xb : a.L < b.L;
  });
  std::vector<Point> out;
  double best = INFINITY;
  for (auto& p : sorted)
    if (p.L < best) {
      best = p.L;
      out.push_back(p);
    }
  return out;
}

}  // namespace scalelab::fit
