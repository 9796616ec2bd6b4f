// Single-variable laws L(x) = E + A x^-alpha (x = N, D or C), fitted in log space
// like Approach 3: LSE(a - alpha ln x, e) - ln L under Huber(delta); and the
// log-log lines y = k x^b used by Approaches 1 and 2.
#include <ceres/ceres.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/error.h"
#include "fit/ceres_options.h"
#include "fit/power_internal.h"

namespace scalelab::fit {
namespace detail {

namespace {
struct PowerResidual {
  double lnx, lnL;
  template <typename T>
  bool operator()(const T* q, T* r) const {  // q = (a, e, alpha)
    T t1 = q[0] - q[2] * lnx, t2 = q[1];
    T m = t1 > t2 ? t1 : t2;
    r[0] = m + log(exp(t1 - m) + exp(t2 - m)) - lnL;
    return true;
  }
};

struct LineResidual {
  double lx, ly;
  template <typename T>
  bool operator()(const T* q, T* r) const {
    r[0] = q[0] + q[1] * lx - ly;
    return true;
  }
};
}  // namespace

double power_variable(Law law, const Point& p) {
  return law == Law::power_n ? p.N : law == Law::power_d ? p.D : p.C;
}

double power_log_loss(const double* q, double lnx) {
  const double t1 = q[0] - q[2] * lnx, m = std::max(t1, q[1]);
  return m + std::log(std::exp(t1 - m) + std::exp(q[1] - m));
}

std::unique_ptr<Solver> make_power_lsq(Law law, const std::vector<Point>& pts, const std::vector<double>& w,
                                       const SolveSettings& s) {
  std::vector<double> weights = w.empty() ? std::vector<double>(pts.size(), 1.0) : w;
  return make_lsq_solver(3, weights, [&pts, law](int i) -> ceres::CostFunction* {
    return new ceres::AutoDiffCostFunction<PowerResidual, 1, 3>(
        new PowerResidual{std::log(power_variable(law, pts[i])), std::log(pts[i].L)});
  }, s);
}

Grid power_grid() {
  Grid g;
  g.names = {"a", "e", "alpha"};
  std::vector<double> a;
  for (int i = 0; i <= 12; ++i) a.push_back(2.5 * i);
  g.axes = {a, {-1, -0.5, 0, 0.5, 1}, {0.05, 0.1, 0.2, 0.35, 0.5, 1.0}};
  return g;
}

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
    double xa = detail::power_variable(law, a), xb = detail::power_variable(law, b);
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
