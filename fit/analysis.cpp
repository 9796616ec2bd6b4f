// One `scalelab fit`, end to end: the pieces every record shares, and the
// dispatch. Approach 3 lives in parametric.cpp; Approaches 1 and 2 in
// allocation.cpp; the record's JSON in record_json.cpp, the store mapping in
// record.cpp.
#include "fit/analysis.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "common/error.h"
#include "fit/analysis_internal.h"

namespace scalelab::fit {
namespace detail {

Estimate estimate(const std::string& name, double v, const std::vector<double>& samples, double level) {
  Estimate e{name, v, std::nullopt, std::nullopt};
  if (!samples.empty()) {
    auto iv = percentile_interval(samples, level);
    e.lo = iv.lo;
    e.hi = iv.hi;
  }
  return e;
}

// Derived quantities of a model at reference budgets.
namespace {
std::vector<Value> derived_values(const Model& m, const std::vector<double>& refs) {
  std::vector<Value> out;
  if (m.kind == "chinchilla") {
    auto c = Chinchilla::from(m.p);
    out.push_back({"a", "", c.a()});
    out.push_back({"b", "", c.b()});
    out.push_back({"G", "", c.G()});
  } else if (m.kind == "allocation") {
    out.push_back({"a", "", m.p[1]});
    out.push_back({"b", "", m.p[3]});
  }
  if (m.kind == "power") return out;
  for (double C : refs) {
    auto [N, D] = m.optimal(C);
    out.push_back({fmt::format("N_opt@{:.3g}", C), "params", N});
    out.push_back({fmt::format("D_opt@{:.3g}", C), "tokens", D});
    out.push_back({fmt::format("tokens_per_param@{:.3g}", C), "", D / N});
  }
  return out;
}

// A name given twice keeps its first place and its last value, as a JSON object would.
void put(Estimates& es, Estimate e) {
  for (auto& x : es)
    if (x.name == e.name) {
      x = std::move(e);
      return;
    }
  es.push_back(std::move(e));
}

}  // namespace

Estimates derived_estimates(const Model& m, const std::vector<std::vector<double>>& draws,
                            const std::vector<double>& refs, double level) {
  auto point = derived_values(m, refs);
  std::vector<std::vector<double>> s(point.size());
  for (auto& d : draws) {
    Model md = m;
    md.p = d;
    auto v = derived_values(md, refs);
    for (std::size_t k = 0; k < v.size() && k < s.size(); ++k)
      if (std::isfinite(v[k].v)) s[k].push_back(v[k].v);
  }
  Estimates out;
  for (std::size_t k = 0; k < point.size(); ++k) put(out, estimate(point[k].name, point[k].v, s[k], level));
  return out;
}

std::optional<double> holdout_threshold(const std::string& spec, const std::vector<double>& Cs, double tol,
                                        Holdout& info) {
  if (spec == "none") {
    info.skipped = "--holdout none";
    return std::nullopt;
  }
  if (spec == "largest") {
    std::vector<Point> pts;
    for (double c : Cs) pts.push_back({1, 1, c, 1, ""});
    auto g = cluster_budgets(pts, tol);
    int top = g.empty() ? 0 : *std::max_element(g.begin(), g.end());
    if (top == 0) {
      info.skipped = "a single compute budget: nothing to hold out";
      return std::nullopt;
    }
    double thr = INFINITY;
    for (std::size_t i = 0; i < g.size(); ++i)
      if (g[i] == top) thr = std::min(thr, Cs[i]);
    info.rule = "largest compute budget";
    return thr;
  }
  char* end = nullptr;
  double v = std::strtod(spec.c_str(), &end);
  if (end == spec.c_str() || *end != '\0' || !(v > 0))
    user_error("--holdout must be 'largest', 'none' or a FLOP threshold such as 1e21, got '{}'", spec);
  info.rule = "compute threshold";
  return v;
}

ErrorStats error_stats(const std::vector<double>& rel) {
  double sum = 0, mx = 0;
  for (double r : rel) sum += r, mx = std::max(mx, r);
  return {rel.empty() ? 0 : sum / static_cast<double>(rel.size()), mx};
}

std::vector<double> reference_budgets(double cmax) {
  std::vector<double> r{cmax};
  if (std::fabs(std::log10(cmax / 5.88e23)) > 1e-3) r.push_back(5.88e23);  // Chinchilla 70B's budget
  return r;
}

void spread_warnings(const std::vector<Point>& pts, std::vector<std::string>& warnings) {
  auto spread = [&](auto get) {
    double lo = INFINITY, hi = 0;
    for (auto& p : pts) lo = std::min(lo, get(p)), hi = std::max(hi, get(p));
    return hi / lo;
  };
  double sn = spread([](const Point& p) { return p.N; }), sd = spread([](const Point& p) { return p.D; });
  if (sn < 4 || sd < 4)
    warnings.push_back(fmt::format("N spans {:.3g}x and D {:.3g}x: with less than 4x in either, alpha and beta "
                                   "(and a, b) are poorly separated; widen the sweep",
                                   sn, sd));
}

SolverConvergence solver_convergence(const Convergence& c, const SolveSettings& s) {
  SolverConvergence out;
  out.starts = c.starts, out.converged = c.converged, out.reached_best = c.reached_best;
  out.best_start = c.best_start, out.best_start_x = c.best_start_x;
  out.best_start_on_grid_boundary = c.best_start_on_grid_boundary, out.optimum_outside_grid = c.outside_grid;
  out.best_iterations = c.best_iterations, out.total_iterations = c.total_iterations;
  out.max_iterations = c.max_iterations, out.threads = c.threads, out.seconds = c.seconds;
  out.solver = c.solver == "varpro"
                   ? fmt::format("variable projection: exact non-negative E, A, B on {} exponent grid points, the "
                                 "best {} polished by ceres LM with HuberLoss", c.starts, c.polished)
                   : "multistart: ceres from every grid start (L-BFGS for chinchilla, LM with HuberLoss otherwise), "
                     "best polished by LM";
  out.polished = c.polished;
  out.function_tolerance = s.function_tolerance;
  out.gradient_tolerance = s.gradient_tolerance;
  out.parameter_tolerance = s.parameter_tolerance;
  out.delta = s.delta;
  return out;
}

namespace {
BootstrapRecord law_bootstrap(const FitOptions& o, Law law, const Draws& d) {
  BootstrapRecord b;
  b.resamples = o.boot.resamples;
  b.ok = static_cast<int>(d.values.size());
  b.failed = d.failed;
  b.failures = d.failures;
  b.seed = o.boot.seed;
  b.level = o.level;
  b.method = fmt::format("resample points with replacement; refit from the full-data optimum and {} starts drawn "
                         "from the grid", bootstrap_grid_starts(law, o.boot));
  b.grid_start_won = d.grid_start_won;
  b.seconds = d.seconds;
  b.draws = d.values;
  return b;
}
}  // namespace

// A single-variable power law, fitted to the Pareto frontier: it predicts the
// frontier, not every run, so it is not backtested against runs.
FitRecord power_record(const Dataset& ds, const FitOptions& o) {
  const Law law = *o.law;
  auto pts = frontier(ds.points, law);
  json selection = ds.selection;
  selection["frontier"] = fmt::format("Pareto frontier in ({}, L): {} of {} points", law_variable(law), pts.size(),
                                      ds.points.size());
  auto f = fit_law(law, pts, o.solve);
  Draws draws;
  if (o.boot.resamples > 0) draws = bootstrap_law(law, pts, f, o.solve, o.boot);
  Estimates params;
  const auto names = param_names(law);
  for (std::size_t k = 0; k < names.size(); ++k) params.push_back(estimate(names[k], f.p[k], column(draws.values, k), o.level));
  auto rec = law_record("power", selection, params, f, pts.size(), o, draws, {});
  double cmax = 0;
  for (auto& p : pts) cmax = std::max(cmax, p.C);
  rec.derived = derived_estimates(Model{"power", law_variable(law), f.p}, draws.values, reference_budgets(cmax), o.level);
  rec.holdout.skipped = "a power law fits the frontier; see the backtest of --law auto";
  FrontierPart part{solver_convergence(f.conv, o.solve), BacktestRecord{}, PredictionInterval{}};
  part.backtest->unavailable = "a power law fits the frontier, not every run: it is not backtested";
  part.prediction_interval->level = o.level;
  part.prediction_interval->why = "a power-law frontier fit is not backtested";
  rec.part = std::move(part);
  return rec;
}

FitRecord law_record(const std::string& law, json selection, Estimates params, const ParamFit& f, std::size_t n_points,
                     const FitOptions& o, const Draws& draws, std::vector<std::string> warnings) {
  FitRecord rec;
  rec.law = law;
  rec.approach = "3";
  rec.selection = std::move(selection);
  rec.params = std::move(params);
  rec.objective = f.objective;
  rec.n_points = static_cast<std::int64_t>(n_points);
  const auto& in = info(f.law);
  rec.model = {in.loss_nd ? in.name : "power", in.loss_nd ? "" : in.variable, f.p};
  rec.bootstrap = law_bootstrap(o, f.law, draws);
  rec.warnings = std::move(warnings);
  return rec;
}

}  // namespace detail

FitRecord fit_record(const Dataset& ds, const FitOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  FitRecord rec;
  if (o.lr_rule) rec = detail::lr_rule_record(ds, o);
  else if (o.approach == 1) rec = detail::envelope_record(ds, o);
  else if (o.approach == 2) rec = detail::isoflop_record(ds, o);
  else if (o.approach == 3) rec = detail::parametric_record(ds, o);
  else user_error("--approach must be 1, 2 or 3, got {}", o.approach);
  rec.source = ds.source;
  rec.conventions = ds.conventions;
  // What the input itself warns of (mixed schedules) comes before what the fit found.
  rec.warnings.insert(rec.warnings.begin(), ds.warnings.begin(), ds.warnings.end());
  rec.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return rec;
}

nlohmann::ordered_json run_fit(const Dataset& ds, const FitOptions& o) { return fit_record(ds, o).to_json(); }

}  // namespace scalelab::fit
