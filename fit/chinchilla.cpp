// Chinchilla Approach 3: L(N, D) = E + A/N^alpha + B/D^beta, fitted as
//   min sum_i w_i Huber_delta(LSE(a - alpha log N_i, b - beta log D_i, e) - log L_i)
// from every start of Chinchilla's grid (4,500 starts).
//
// The multistart runs Ceres' L-BFGS (a GradientProblem, as Epoch used L-BFGS-B)
// on an analytic gradient computed by a vectorised kernel; the best start is then
// polished by Ceres' Levenberg-Marquardt on the textbook least-squares form (one
// AutoDiff residual per point under ceres::HuberLoss(delta)), whose cost
// 1/2 sum rho(r^2) is the summed scipy Huber exactly.
#include <ceres/ceres.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "fit/chinchilla_internal.h"
#include "fit/ceres_options.h"
#include "fit/solver.h"
#include "fit/vmath.h"

namespace scalelab::fit {
namespace detail {

namespace {
// The per-point kernel, cloned for AVX-512, AVX2+FMA and baseline x86-64 and
// picked at load time. No reductions inside, so it vectorises without -ffast-math.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
void chinchilla_pass(const double* __restrict x, const double* __restrict z, const double* __restrict y,
                     const double* __restrict w, int n, double ae, double be, double alpha, double beta,
                     double e, double delta, double* __restrict cost, double* __restrict h,
                     double* __restrict hu, double* __restrict hv) {
  for (int i = 0; i < n; ++i) {
    const double eu = vm::exp(ae - alpha * x[i]), ev = vm::exp(be - beta * z[i]);
    const double s = 1.0 + eu + ev, inv = 1.0 / s;
    const double r = e + vm::log(s) - y[i];
    const double c = r > delta ? delta : (r < -delta ? -delta : r);  // Huber'(r)
    const double hi = c * w[i];
    cost[i] = hi * (r - 0.5 * c);  // w Huber(r): 0.5 r^2 inside, delta (|r| - delta/2) outside
    h[i] = hi;
    hu[i] = hi * eu * inv;
    hv[i] = hi * ev * inv;
  }
}
}  // namespace

ChinchillaData::ChinchillaData(const std::vector<Point>& pts, const std::vector<double>& weights) {
  for (std::size_t i = 0; i < pts.size(); ++i) {
    double wi = weights.empty() ? 1.0 : weights[i];
    if (wi <= 0) continue;
    x.push_back(std::log(pts[i].N));
    z.push_back(std::log(pts[i].D));
    y.push_back(std::log(pts[i].L));
    w.push_back(wi);
  }
  auto [x0, x1] = std::minmax_element(x.begin(), x.end());
  auto [z0, z1] = std::minmax_element(z.begin(), z.end());
  xmin = *x0, xmax = *x1, zmin = *z0, zmax = *z1;
  scratch.resize(4 * x.size());
}

// Exact libm path: the reported objective, and the fallback when an exponent
// would leave the kernel's clamped range.
double chinchilla_cost_exact(const ChinchillaData& d, const double* q, double delta, double* g) {
  double c = 0, g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0;
  for (std::size_t i = 0; i < d.x.size(); ++i) {
    const double t1 = q[0] - q[3] * d.x[i], t2 = q[1] - q[4] * d.z[i], t3 = q[2];
    const double m = std::max(t1, std::max(t2, t3));
    const double e1 = std::exp(t1 - m), e2 = std::exp(t2 - m), e3 = std::exp(t3 - m), s = e1 + e2 + e3;
    const double r = m + std::log(s) - d.y[i], a = std::fabs(r);
    c += d.w[i] * (a <= delta ? 0.5 * r * r : delta * (a - 0.5 * delta));
    const double h = d.w[i] * std::clamp(r, -delta, delta);
    g0 += h * e1 / s, g1 += h * e2 / s, g2 += h * e3 / s;
    g3 -= h * e1 / s * d.x[i], g4 -= h * e2 / s * d.z[i];
  }
  if (g) g[0] = g0, g[1] = g1, g[2] = g2, g[3] = g3, g[4] = g4;
  return c;
}

double chinchilla_cost(ChinchillaData& d, const double* q, double delta, double* g) {
  const double ae = q[0] - q[2], be = q[1] - q[2];
  const double umax = ae - q[3] * (q[3] >= 0 ? d.xmin : d.xmax);
  const double vmax = be - q[4] * (q[4] >= 0 ? d.zmin : d.zmax);
  const double umin = ae - q[3] * (q[3] >= 0 ? d.xmax : d.xmin);
  const double vmin = be - q[4] * (q[4] >= 0 ? d.zmax : d.zmin);
  if (!(umax < 690 && vmax < 690 && umin > -1e6 && vmin > -1e6)) return chinchilla_cost_exact(d, q, delta, g);
  const int n = static_cast<int>(d.x.size());
  double* cost = d.scratch.data();
  double *h = cost + n, *hu = h + n, *hv = hu + n;
  chinchilla_pass(d.x.data(), d.z.data(), d.y.data(), d.w.data(), n, ae, be, q[3], q[4], q[2], delta, cost, h,
                  hu, hv);
  double c = 0, gs = 0, g0 = 0, g1 = 0, g3 = 0, g4 = 0;
  for (int i = 0; i < n; ++i) {
    c += cost[i], gs += h[i], g0 += hu[i], g1 += hv[i];
    g3 -= hu[i] * d.x[i], g4 -= hv[i] * d.z[i];
  }
  if (g) g[0] = g0, g[1] = g1, g[2] = gs - g0 - g1, g[3] = g3, g[4] = g4;
  return c;
}

namespace {

class HuberFunction final : public ceres::FirstOrderFunction {
 public:
  HuberFunction(ChinchillaData data, double delta) : d_(std::move(data)), delta_(delta) {}
  int NumParameters() const override { return 5; }
  bool Evaluate(const double* q, double* cost, double* gradient) const override {
    *cost = chinchilla_cost(d_, q, delta_, gradient);
    if (!std::isfinite(*cost)) return false;
    if (gradient)
      for (int k = 0; k < 5; ++k)
        if (!std::isfinite(gradient[k])) return false;
    return true;
  }

 private:
  mutable ChinchillaData d_;  // scratch buffers; one function per thread
  double delta_;
};

class LbfgsSolver final : public Solver {
 public:
  LbfgsSolver(const std::vector<Point>& pts, const std::vector<double>& w, const SolveSettings& s)
      : problem_(new HuberFunction(ChinchillaData(pts, w), s.delta)) {
    options_.max_num_iterations = s.max_iterations;
    options_.function_tolerance = s.function_tolerance;
    options_.gradient_tolerance = s.gradient_tolerance;
    options_.parameter_tolerance = s.parameter_tolerance;
    options_.logging_type = ceres::SILENT;
  }
  StartResult solve(std::vector<double> x) override {
    ceres::GradientProblemSolver::Summary summary;
    ceres::Solve(options_, problem_, x.data(), &summary);
    StartResult r;
    r.cost = summary.IsSolutionUsable() ? summary.final_cost : INFINITY;
    r.converged = summary.termination_type == ceres::CONVERGENCE;
    r.iterations = static_cast<int>(summary.iterations.size());
    r.x = std::move(x);
    return r;
  }

 private:
  ceres::GradientProblem problem_;
  ceres::GradientProblemSolver::Options options_;
};

}  // namespace

std::unique_ptr<Solver> make_chinchilla_lbfgs(const std::vector<Point>& pts, const std::vector<double>& w,
                                              const SolveSettings& s) {
  return std::make_unique<LbfgsSolver>(pts, w, s);
}

std::unique_ptr<Solver> make_chinchilla_lsq(const std::vector<Point>& pts, const std::vector<double>& w,
                                            const SolveSettings& s) {
  return make_law_lsq(Law::chinchilla, pts, w, s);
}

}  // namespace detail

Grid chinchilla_grid() {
  Grid g;
  g.names = {"a", "b", "e", "alpha", "beta"};
  auto range = [](double lo, double hi, double step) {
    std::vector<double> v;
    for (int i = 0; lo + i * step <= hi + 1e-12; ++i) v.push_back(lo + i * step);
    return v;
  };
  g.axes = {range(0, 25, 5), range(0, 25, 5), range(-1, 1, 0.5), range(0, 2, 0.5), range(0, 2, 0.5)};
  return g;
}

}  // namespace scalelab::fit
