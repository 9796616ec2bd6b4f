// Law bookkeeping (data checks, objective) and the one entry point that fits
// any parametric law: the multistart, or variable projection (fit/varpro.cpp).
#include "fit/laws.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "common/error.h"
#include "fit/chinchilla_internal.h"
#include "fit/law_defs.h"
#include "fit/solver.h"

namespace scalelab::fit {

std::string solver_name(Solver s) {
  return s == Solver::multistart ? "multistart" : s == Solver::varpro ? "varpro" : "auto";
}

Solver solver_from_name(const std::string& s) {
  if (s == "auto") return Solver::automatic;
  if (s == "multistart") return Solver::multistart;
  if (s == "varpro") return Solver::varpro;
  user_error("--solver must be auto, multistart or varpro, got '{}'", s);
}

Chinchilla Chinchilla::from(const std::vector<double>& p) {
  return {p[0], p[1], p[2], p[3], p.size() > 4 ? p[4] : p[3]};
}
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

std::vector<double> column(const std::vector<Point>& pts, double (*get)(const Point&)) {
  std::vector<double> v;
  for (auto& p : pts) v.push_back(get(p));
  return v;
}
}  // namespace

void check_points(Law l, const std::vector<Point>& pts) {
  const auto& in = info(l);
  const std::size_t need = in.params.size() + 2;
  if (pts.size() < need)
    user_error("too few points for a {} fit: {} given, at least {} needed ({} parameters + 2)", in.name,
               pts.size(), need, need - 2);
  const bool nd = in.loss_nd;
  for (auto& p : pts) {
    need_positive(p, p.L, "the loss");
    if (nd || l == Law::power_n) need_positive(p, p.N, "N (parameters)");
    if (nd || l == Law::power_d) need_positive(p, p.D, "D (tokens)");
    if (l == Law::power_c) need_positive(p, p.C, "C (FLOPs)");
    if (in.needs_unique) {
      need_positive(p, p.U, "U (unique tokens; the data-constrained law needs them)");
      if (p.U > p.D * (1 + 1e-9))
        user_error("point {}: unique tokens U = {:.6g} exceed the tokens trained D = {:.6g}; expected U <= D",
                   p.id.empty() ? "?" : p.id, p.U, p.D);
    }
  }
  if (nd) {
    auto nN = distinct(column(pts, [](const Point& p) { return p.N; }));
    auto nD = distinct(column(pts, [](const Point& p) { return p.D; }));
    if (nN < 3)
      user_error("{} distinct model size{} (N = {:.4g}): a {} fit needs at least 3 sizes to separate the N and D terms",
                 nN, nN == 1 ? "" : "s", pts[0].N, in.name);
    if (nD < 3)
      user_error("{} distinct token count{} (D = {:.4g}): a {} fit needs at least 3 to separate the N and D terms",
                 nD, nD == 1 ? "" : "s", pts[0].D, in.name);
  } else {
    std::vector<double> x;
    for (auto& p : pts) x.push_back(power_variable(l, p));
    auto n = distinct(x);
    if (n < 3) user_error("{} distinct {} value(s): a power law in {} needs at least 3", n, in.variable, in.variable);
  }
}

double objective(Law l, const std::vector<double>& p, const std::vector<Point>& pts, double delta,
                 const std::vector<double>& w) {
  const auto& d = detail::def(l);
  const auto q = d.to_coords(p);
  double c = 0;
  for (std::size_t i = 0; i < pts.size(); ++i) {
    double wi = w.empty() ? 1.0 : w[i];
    if (wi <= 0) continue;
    const double r = d.log_loss(q.data(), detail::Features::of(pts[i])) - std::log(pts[i].L), a = std::fabs(r);
    c += wi * (a <= delta ? 0.5 * r * r : delta * (a - 0.5 * delta));
  }
  return c;
}

namespace detail {
std::unique_ptr<Solver> make_law_lsq(Law l, const std::vector<Point>& pts, const std::vector<double>& w,
                                     const SolveSettings& s) {
  std::vector<double> weights = w.empty() ? std::vector<double>(pts.size(), 1.0) : w;
  const auto& d = def(l);
  return make_lsq_solver(static_cast<int>(d.coords.size()), weights,
                         [&](int i) { return d.residual(Features::of(pts[i])); }, s);
}
}  // namespace detail

namespace {
ParamFit multistart_fit(Law l, const std::vector<Point>& pts, const SolveSettings& s, const std::vector<double>& w,
                        const std::vector<std::vector<double>>& given) {
  const Grid grid = default_grid(l);
  const auto starts = given.empty() ? grid.points() : given;
  detail::SolverFactory factory;
  if (l == Law::chinchilla) factory = [&] { return detail::make_chinchilla_lbfgs(pts, w, s); };
  else factory = [&] { return detail::make_law_lsq(l, pts, w, s); };
  int threads = 1;
  const auto results = detail::multistart(factory, starts, s.threads, &threads);
  ParamFit f;
  f.law = l;
  f.conv = detail::summarize(results, starts, given.empty() ? &grid : nullptr, s.max_iterations);
  f.conv.solver = "multistart";
  f.conv.threads = threads;
  if (f.conv.best_start < 0)
    user_error("the {} fit failed from all {} starts (no finite objective): check the data", law_name(l),
               starts.size());
  f.x = results[f.conv.best_start].x;
  if (l == Law::chinchilla) {
    // Polish with Levenberg-Marquardt on the per-point HuberLoss form.
    auto polished = detail::make_law_lsq(l, pts, w, s)->solve(f.x);
    if (std::isfinite(polished.cost) &&
        objective(l, from_solver(l, polished.x), pts, s.delta, w) < objective(l, from_solver(l, f.x), pts, s.delta, w))
      f.x = polished.x;
  }
  return f;
}
}  // namespace

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
  const bool varpro = given.empty() && detail::def(l).linear &&
                      (s.solver == Solver::varpro || s.solver == Solver::automatic);
  if (s.solver == Solver::varpro && !detail::def(l).linear)
    user_error("--solver varpro needs a law that is linear in E, A, B once its exponents are fixed; {} is not",
               law_name(l));
  ParamFit f = varpro ? detail::varpro_fit(l, pts, s, w) : multistart_fit(l, pts, s, w, given);
  f.p = from_solver(l, f.x);
  f.objective = objective(l, f.p, pts, s.delta, w);
  for (double v : f.p)
    if (!std::isfinite(v))
      user_error("the {} fit diverged (a parameter is not finite): the data do not constrain this law", law_name(l));
  f.conv.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return f;
}

}  // namespace scalelab::fit
