// Law bookkeeping (names, coordinates, predictions, data checks) and the one
// entry point that fits any parametric law from a multistart.
#include "fit/laws.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>

#include "common/error.h"
#include "fit/chinchilla_internal.h"
#include "fit/kaplan_internal.h"
#include "fit/power_internal.h"
#include "fit/solver.h"

namespace scalelab::fit {

std::string law_name(Law l) {
  switch (l) {
    case Law::chinchilla: return "chinchilla";
    case Law::kaplan: return "kaplan";
    default: return "power";
  }
}

std::string law_variable(Law l) {
  switch (l) {
    case Law::power_n: return "N";
    case Law::power_d: return "D";
    case Law::power_c: return "C";
    default: return "N,D";
  }
}

std::vector<std::string> param_names(Law l) {
  switch (l) {
    case Law::chinchilla: return {"E", "A", "B", "alpha", "beta"};
    case Law::kaplan: return {"Nc", "Dc", "alpha_N", "alpha_D"};
    default: return {"E", "A", "alpha"};
  }
}

std::vector<double> to_solver(Law l, const std::vector<double>& p) {
  switch (l) {
    case Law::chinchilla: return {std::log(p[1]), std::log(p[2]), std::log(p[0]), p[3], p[4]};
    case Law::kaplan: return {std::log(p[0]), std::log(p[1]), p[2] / p[3], p[3]};
    default: return {std::log(p[1]), std::log(p[0]), p[2]};
  }
}

std::vector<double> from_solver(Law l, const std::vector<double>& x) {
  switch (l) {
    case Law::chinchilla: return {std::exp(x[2]), std::exp(x[0]), std::exp(x[1]), x[3], x[4]};
    case Law::kaplan: return {std::exp(x[0]), std::exp(x[1]), x[2] * x[3], x[3]};
    default: return {std::exp(x[1]), std::exp(x[0]), x[2]};
  }
}

double predict(Law l, const std::vector<double>& p, const Point& pt) {
  switch (l) {
    case Law::chinchilla: return Chinchilla::from(p).loss(pt.N, pt.D);
    case Law::kaplan: return std::pow(std::pow(p[0] / pt.N, p[2] / p[3]) + p[1] / pt.D, p[3]);
    default: return p[0] + p[1] * std::pow(detail::power_variable(l, pt), -p[2]);
  }
}

Chinchilla Chinchilla::from(const std::vector<double>& p) { return {p[0], p[1], p[2], p[3], p[4]}; }
double Chinchilla::loss(double N, double D) const {
  return E + A * std::pow(N, -alpha) + B * std::pow(D, -beta);
}
double Chinchilla::G() const { return std::pow(alpha * A / (beta * B), 1.0 / (alpha + beta)); }
double Chinchilla::n_opt(double C) const { return G() * std::pow(C / 6, a()); }
double Chinchilla::d_opt(double C) const { return std::pow(C / 6, b()) / G(); }

std::vector<std::vector<double>> Grid::points() const {
  std::vector<std::vector<double>> out;
  std::vector<std::size_t> idx(axes.size(), 0);
  if (axes.empty()) return out;
  for (;;) {
    std::vector<double> p(axes.size());
    for (std::size_t k = 0; k < axes.size(); ++k) p[k] = axes[k][idx[k]];
    out.push_back(std::move(p));
    std::size_t k = axes.size();
    while (k > 0 && ++idx[k - 1] == axes[k - 1].size()) idx[--k] = 0;
    if (k == 0) break;
  }
  return out;
}

std::size_t Grid::size() const {
  std::size_t n = axes.empty() ? 0 : 1;
  for (auto& a : axes) n *= a.size();
  return n;
}

Grid default_grid(Law l) {
  switch (l) {
    case Law::chinchilla: return chinchilla_grid();
    case Law::kaplan: return detail::kaplan_grid();
    default: return detail::power_grid();
  }
}

namespace {
std::size_t distinct(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  std::size_t n = 0;
  for (std::size_t i = 0; i < v.size(); ++i) n += i == 0 || v[i] > v[i - 1] * (1 + 1e-6);
  return n;
}

void need_positive(const Point& p, double v, const char* what) {
  if (!(v > 0) || !std::isfinite(v))
    user_error("point {}: {} is {}, expected a positive finite number", p.id.empty() ? "?" : p.id, what, v);
}
}  // namespace

void check_points(Law l, const std::vector<Point>& pts) {
  const std::size_t need = param_names(l).size() + 2;
  if (pts.size() < need)
    user_error("too few points for a {} fit: {} given, at least {} needed ({} parameters + 2)", law_name(l),
               pts.size(), need, need - 2);
  for (auto& p : pts) {
    need_positive(p, p.L, "the loss");
    if (l == Law::chinchilla || l == Law::kaplan || l == Law::power_n) need_positive(p, p.N, "N (parameters)");
    if (l == Law::chinchilla || l == Law::kaplan || l == Law::power_d) need_positive(p, p.D, "D (tokens)");
    if (l == Law::power_c) need_positive(p, p.C, "C (FLOPs)");
  }
  auto column = [&](auto get) {
    std::vector<double> v;
    for (auto& p : pts) v.push_back(get(p));
    return v;
  };
  if (l == Law::chinchilla || l == Law::kaplan) {
    auto nN = distinct(column([](const Point& p) { return p.N; }));
    auto nD = distinct(column([](const Point& p) { return p.D; }));
    if (nN < 3)
      user_error("{} distinct model size{} (N = {:.4g}): a {} fit needs at least 3 sizes to separate the N and D terms",
                 nN, nN == 1 ? "" : "s", pts[0].N, law_name(l));
    if (nD < 3)
      user_error("{} distinct token count{} (D = {:.4g}): a {} fit needs at least 3 to separate the N and D terms",
                 nD, nD == 1 ? "" : "s", pts[0].D, law_name(l));
  } else {
    auto n = distinct(column([&](const Point& p) { return detail::power_variable(l, p); }));
    if (n < 3) user_error("{} distinct {} value(s): a power law in {} needs at least 3", n, law_variable(l), law_variable(l));
  }
}

double objective(Law l, const std::vector<double>& p, const std::vector<Point>& pts, double delta,
                 const std::vector<double>& w) {
  const auto q = to_solver(l, p);
  double c = 0;
  for (std::size_t i = 0; i < pts.size(); ++i) {
    double wi = w.empty() ? 1.0 : w[i];
    if (wi <= 0) continue;
    double lhat;
    if (l == Law::chinchilla) {
      const double t1 = q[0] - q[3] * std::log(pts[i].N), t2 = q[1] - q[4] * std::log(pts[i].D), t3 = q[2];
      const double m = std::max(t1, std::max(t2, t3));
      lhat = m + std::log(std::exp(t1 - m) + std::exp(t2 - m) + std::exp(t3 - m));
    } else if (l == Law::kaplan) {
      lhat = detail::kaplan_log_loss(q.data(), std::log(pts[i].N), std::log(pts[i].D));
    } else {
      lhat = detail::power_log_loss(q.data(), std::log(detail::power_variable(l, pts[i])));
    }
    const double r = lhat - std::log(pts[i].L), a = std::fabs(r);
    c += wi * (a <= delta ? 0.5 * r * r : delta * (a - 0.5 * delta));
  }
  return c;
}

ParamFit fit_law(Law l, const std::vector<Point>& pts, const SolveSettings& s, const std::vector<double>& w,
                 const std::vector<std::vector<double>>& given) {
  if (!w.empty()) {
    std::vector<Point> used;
    for (std::size_t i = 0; i < pts.size(); ++i)
      if (w[i] > 0) used.push_back(pts[i]);
    check_points(l, used);
  } else {
    check_points(l, pts);
  }
  const auto t0 = std::chrono::steady_clock::now();
  const Grid grid = default_grid(l);
  const auto starts = given.empty() ? grid.points() : given;
  detail::SolverFactory factory;
  switch (l) {
    case Law::chinchilla: factory = [&] { return detail::make_chinchilla_lbfgs(pts, w, s); }; break;
    case Law::kaplan: factory = [&] { return detail::make_kaplan_lsq(pts, w, s); }; break;
    default: factory = [&] { return detail::make_power_lsq(l, pts, w, s); }; break;
  }
  int threads = 1;
  const auto results = detail::multistart(factory, starts, s.threads, &threads);
  ParamFit f;
  f.law = l;
  f.conv = detail::summarize(results, starts, given.empty() ? &grid : nullptr, s.max_iterations);
  f.conv.threads = threads;
  if (f.conv.best_start < 0)
    user_error("the {} fit failed from all {} starts (no finite objective): check the data", law_name(l),
               starts.size());
  f.x = results[f.conv.best_start].x;
  if (l == Law::chinchilla) {
    // Polish with Levenberg-Marquardt on the per-point HuberLoss form.
    auto lsq = detail::make_chinchilla_lsq(pts, w, s);
    auto polished = lsq->solve(f.x);
    auto pp = from_solver(l, polished.x);
    if (std::isfinite(polished.cost) && objective(l, pp, pts, s.delta, w) < objective(l, from_solver(l, f.x), pts, s.delta, w))
      f.x = polished.x;
  }
  f.p = from_solver(l, f.x);
  f.objective = objective(l, f.p, pts, s.delta, w);
  for (double v : f.p)
    if (!std::isfinite(v))
      user_error("the {} fit diverged (a parameter is not finite): the data do not constrain this law", law_name(l));
  f.conv.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return f;
}

}  // namespace scalelab::fit
