// One `scalelab fit`, end to end: fit, bootstrap, hold-out, residuals -> JSON.
// Approach 3 lives here; Approaches 1 and 2 in allocation.cpp; the store
// mapping in record.cpp.
#include "fit/analysis.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "common/error.h"
#include "fit/analysis_internal.h"

namespace scalelab::fit {
namespace detail {

json interval(double v, const std::vector<double>& samples, double level) {
  json j = {{"value", v}, {"lo", nullptr}, {"hi", nullptr}};
  if (!samples.empty()) {
    auto iv = percentile_interval(samples, level);
    j["lo"] = iv.lo;
    j["hi"] = iv.hi;
  }
  return j;
}

json convergence_json(const Convergence& c) {
  return {{"starts", c.starts},
          {"converged", c.converged},
          {"reached_best", c.reached_best},
          {"best_start", c.best_start},
          {"best_start_x", c.best_start_x},
          {"best_start_on_grid_boundary", c.best_start_on_grid_boundary},
          {"optimum_outside_grid", c.outside_grid},
          {"best_iterations", c.best_iterations},
          {"total_iterations", c.total_iterations},
          {"max_iterations", c.max_iterations},
          {"threads", c.threads},
          {"seconds", c.seconds}};
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

}  // namespace

json derived_json(const Model& m, const std::vector<std::vector<double>>& draws, const std::vector<double>& refs,
                  double level) {
  auto point = derived_values(m, refs);
  std::vector<std::vector<double>> s(point.size());
  for (auto& d : draws) {
    Model md = m;
    md.p = d;
    auto v = derived_values(md, refs);
    for (std::size_t k = 0; k < v.size() && k < s.size(); ++k)
      if (std::isfinite(v[k].v)) s[k].push_back(v[k].v);
  }
  json out = json::object();
  for (std::size_t k = 0; k < point.size(); ++k) out[point[k].name] = interval(point[k].v, s[k], level);
  return out;
}

std::optional<double> holdout_threshold(const std::string& spec, const std::vector<double>& Cs, double tol,
                                        json& info) {
  if (spec == "none") {
    info["skipped"] = "--holdout none";
    return std::nullopt;
  }
  if (spec == "largest") {
    std::vector<Point> pts;
    for (double c : Cs) pts.push_back({1, 1, c, 1, ""});
    auto g = cluster_budgets(pts, tol);
    int top = g.empty() ? 0 : *std::max_element(g.begin(), g.end());
    if (top == 0) {
      info["skipped"] = "a single compute budget: nothing to hold out";
      return std::nullopt;
    }
    double thr = INFINITY;
    for (std::size_t i = 0; i < g.size(); ++i)
      if (g[i] == top) thr = std::min(thr, Cs[i]);
    info["rule"] = "largest compute budget";
    return thr;
  }
  char* end = nullptr;
  double v = std::strtod(spec.c_str(), &end);
  if (end == spec.c_str() || *end != '\0' || !(v > 0))
    user_error("--holdout must be 'largest', 'none' or a FLOP threshold such as 1e21, got '{}'", spec);
  info["rule"] = "compute threshold";
  return v;
}

void error_stats(json& j, const std::vector<double>& rel) {
  double sum = 0, mx = 0;
  for (double r : rel) sum += r, mx = std::max(mx, r);
  j["mean_abs_rel_error"] = rel.empty() ? 0 : sum / static_cast<double>(rel.size());
  j["max_abs_rel_error"] = mx;
}

std::vector<double> reference_budgets(double cmax) {
  std::vector<double> r{cmax};
  if (std::fabs(std::log10(cmax / 5.88e23)) > 1e-3) r.push_back(5.88e23);  // Chinchilla 70B's budget
  return r;
}

void spread_warnings(const std::vector<Point>& pts, json& warnings) {
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

// ---- Approach 3: parametric laws
json parametric_record(const Dataset& ds, const FitOptions& o) {
  json rec, result, warnings = json::array();
  std::vector<Point> pts = ds.points;
  json selection = ds.selection;
  const bool power = o.law == Law::power_n || o.law == Law::power_d || o.law == Law::power_c;
  if (power) {
    pts = frontier(ds.points, o.law);
    selection["frontier"] = fmt::format("Pareto frontier in ({}, L): {} of {} points", law_variable(o.law),
                                        pts.size(), ds.points.size());
  }
  auto f = fit_law(o.law, pts, o.solve);
  Draws draws;
  if (o.boot.resamples > 0) draws = bootstrap_law(o.law, pts, f, o.solve, o.boot);
  Model model{law_name(o.law), power ? law_variable(o.law) : "", f.p};
  auto names = param_names(o.law);
  json params = json::object();
  for (std::size_t k = 0; k < names.size(); ++k) params[names[k]] = interval(f.p[k], column(draws.values, k), o.level);
  double cmax = 0;
  for (auto& p : pts) cmax = std::max(cmax, p.C);
  result["derived"] = derived_json(model, draws.values, reference_budgets(cmax), o.level);

  // Residuals in log space.
  std::vector<std::pair<double, std::size_t>> res;
  double ss = 0;
  for (std::size_t i = 0; i < pts.size(); ++i) {
    double r = std::log(predict(o.law, f.p, pts[i])) - std::log(pts[i].L);
    ss += r * r;
    res.push_back({r, i});
  }
  std::stable_sort(res.begin(), res.end(), [](auto& a, auto& b) { return std::fabs(a.first) > std::fabs(b.first); });
  json largest = json::array();
  for (std::size_t k = 0; k < std::min<std::size_t>(5, res.size()); ++k) {
    auto& p = pts[res[k].second];
    largest.push_back({{"id", p.id}, {"N", p.N}, {"D", p.D}, {"C", p.C}, {"loss", p.L},
                       {"predicted", predict(o.law, f.p, p)}, {"residual_log", res[k].first}});
  }
  result["residuals"] = {{"rmse_log", std::sqrt(ss / static_cast<double>(pts.size()))}, {"largest", largest}};

  // Hold-out: refit below the threshold, predict the rest.
  json hold = json::object();
  std::vector<double> Cs;
  for (auto& p : pts) Cs.push_back(p.C);
  if (auto thr = holdout_threshold(o.holdout, Cs, o.budget_tolerance, hold)) {
    std::vector<Point> train, test;
    for (auto& p : pts) (p.C < *thr ? train : test).push_back(p);
    hold["threshold"] = *thr;
    hold["train_points"] = train.size();
    hold["test_points"] = test.size();
    try {
      if (test.empty()) user_error("no points at or above the threshold");
      auto hf = fit_law(o.law, train, o.solve);
      std::vector<double> rel;
      json pts_json = json::array();
      for (auto& p : test) {
        double pred = predict(o.law, hf.p, p);
        rel.push_back(std::fabs(pred - p.L) / p.L);
        if (pts_json.size() < 10) pts_json.push_back({{"id", p.id}, {"C", p.C}, {"loss", p.L}, {"predicted", pred}});
      }
      error_stats(hold, rel);
      hold["points"] = pts_json;
      hold["params"] = hf.p;
    } catch (const UserError& e) {
      hold["skipped"] = e.what();
    }
  }
  result["holdout"] = hold;

  if (o.law == Law::chinchilla || o.law == Law::kaplan) spread_warnings(pts, warnings);
  if (f.conv.converged * 2 < f.conv.starts)
    warnings.push_back(fmt::format("only {} of {} starts converged within {} iterations", f.conv.converged,
                                   f.conv.starts, f.conv.max_iterations));
  if (!f.conv.outside_grid.empty()) {
    std::string c;
    for (auto& n : f.conv.outside_grid) c += (c.empty() ? "" : ", ") + n;
    warnings.push_back("the optimum lies outside the start grid in " + c + ": the grid did not bracket it");
  }

  rec["law"] = law_name(o.law);
  rec["approach"] = "3";
  rec["selection"] = selection;
  rec["params"] = params;
  rec["objective"] = f.objective;
  rec["n_points"] = pts.size();
  json conv = convergence_json(f.conv);
  conv["solver"] = o.law == Law::chinchilla
                       ? "ceres GradientProblemSolver (L-BFGS) from every start, best polished by ceres LM with HuberLoss"
                       : "ceres LM with HuberLoss from every start";
  conv["function_tolerance"] = o.solve.function_tolerance;
  conv["gradient_tolerance"] = o.solve.gradient_tolerance;
  conv["parameter_tolerance"] = o.solve.parameter_tolerance;
  conv["delta"] = o.solve.delta;
  rec["convergence"] = conv;
  result["model"] = {{"kind", model.kind}, {"variable", model.variable}, {"p", model.p}};
  result["bootstrap"] = {{"resamples", o.boot.resamples},
                         {"ok", draws.values.size()},
                         {"failed", draws.failed},
                         {"failures", draws.failures},
                         {"seed", o.boot.seed},
                         {"level", o.level},
                         {"method", fmt::format("resample points with replacement; refit from the full-data optimum "
                                                "and {} starts drawn from the grid",
                                                o.law == Law::chinchilla ? o.boot.grid_starts
                                                                         : std::min(o.boot.grid_starts, 8))},
                         {"grid_start_won", draws.grid_start_won},
                         {"seconds", draws.seconds},
                         {"draws", draws.values}};
  result["warnings"] = warnings;
  rec["result"] = result;
  return rec;
}

}  // namespace detail

using json = nlohmann::ordered_json;

json run_fit(const Dataset& ds, const FitOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  json rec;
  switch (o.approach) {
    case 1: rec = detail::envelope_record(ds, o); break;
    case 2: rec = detail::isoflop_record(ds, o); break;
    case 3: rec = detail::parametric_record(ds, o); break;
    default: user_error("--approach must be 1, 2 or 3, got {}", o.approach);
  }
  rec["source"] = ds.source;
  rec["conventions"] = ds.conventions;
  rec["result"]["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return rec;
}

}  // namespace scalelab::fit
