// Approach 3 as a fit record: the backtest that chooses law and filter, the
// chosen fit with bootstrap intervals, which parameters are identified, the
// prediction-interval calibration, the hold-out check and the residuals.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "fit/analysis_internal.h"

namespace scalelab::fit::detail {

namespace {

// --weights se: 1/se^2 relative to the median known se; points without one weigh as the median.
std::vector<double> point_weights(const std::string& mode, const std::vector<Point>& pts) {
  if (mode == "none") return {};
  if (mode != "se") user_error("--weights must be none or se, got '{}'", mode);
  std::vector<double> se;
  for (auto& p : pts)
    if (p.se > 0) se.push_back(p.se);
  if (se.empty()) user_error("--weights se: no point has a standard error (sweeps record one; CSVs name it with --se-col)");
  std::nth_element(se.begin(), se.begin() + se.size() / 2, se.end());
  const double med = se[se.size() / 2];
  std::vector<double> w;
  for (auto& p : pts) w.push_back(p.se > 0 ? (med / p.se) * (med / p.se) : 1.0);
  return w;
}

json filter_json(const Filter& f, const std::string& rule) {
  return {{"label", f.label()}, {"min_tokens_per_param", f.min_tokens_per_param},
          {"near_optimal", f.near_optimal}, {"max_epochs", f.max_epochs}, {"rule", rule}};
}

json num_or_null(double v) { return std::isfinite(v) ? json(v) : json(); }

json backtest_json(const Selection& s, const std::vector<Point>& pts) {
  json folds = json::array(), rows = json::array();
  for (auto& f : s.folds) {
    double c_train = 0;
    for (auto i : f.train) c_train = std::max(c_train, 6 * pts[i].N * pts[i].D);
    folds.push_back({{"train_points", f.train.size()}, {"test_points", f.test.size()}, {"c_test", f.c_test},
                     {"c_train_max", c_train}});
  }
  for (auto& r : s.rows)
    rows.push_back({{"law", law_name(r.cand.law)}, {"filter", r.cand.filter.label()}, {"params", r.n_params},
                    {"tested", r.tested}, {"mean_abs_rel_error", num_or_null(r.mean_rel)},
                    {"max_abs_rel_error", num_or_null(r.max_rel)}, {"coverage", num_or_null(r.coverage)},
                    {"failed", r.failed}});
  json j = {{"method", "rolling origin: each of the largest budgets predicted from every budget below it"},
            {"folds", folds}, {"candidates", rows}, {"chosen", s.chosen}, {"why", s.why}};
  if (!s.unavailable.empty()) j["unavailable"] = s.unavailable;
  return j;
}

json calibration_json(const Calibration& c) {
  json j = {{"available", c.available}, {"level", c.level}, {"noise", c.noise}};
  if (!c.available) {
    j["why"] = c.why;
    return j;
  }
  j["kappa"] = c.kappa;
  j["q"] = c.q;
  j["n"] = c.n;
  j["method"] = "log L within q * sqrt(sd_boot^2 + noise^2 + (kappa h)^2); h = decades outside the fitted range; "
                "kappa from the backtest residuals by moments, q their split-conformal quantile";
  return j;
}

// A parameter is not identified when its bootstrap interval runs into a bound
// (0 for a scale, 0 or 5 for an exponent) or spans more than two decades.
json identification(const LawInfo& in, const json& params, json& warnings) {
  json out = json::object(), bad = json::array();
  for (std::size_t k = 0; k < in.params.size(); ++k) {
    const json& p = params[in.params[k]];
    if (p["lo"].is_null()) continue;
    const double lo = p["lo"].get<double>(), hi = p["hi"].get<double>();
    std::string why;
    if (in.positive[k] && (!(lo > 0) || lo < 1e-6 * hi)) why = "its interval runs into the bound at 0";
    else if (!in.positive[k] && lo < 0.01) why = "its interval runs into the bound at 0";
    else if (!in.positive[k] && hi > 5) why = "its interval runs past 5";
    else if (lo > 0 && hi / lo > 100) why = fmt::format("its interval spans {:.1f} decades", std::log10(hi / lo));
    out[in.params[k]] = {{"identified", why.empty()}, {"why", why}};
    if (!why.empty()) {
      bad.push_back(in.params[k]);
      warnings.push_back(fmt::format("{} is not identified: {} ({:.3g} .. {:.3g}); loss forecasts beyond the data "
                                     "carry that uncertainty in their prediction interval",
                                     in.params[k], why, lo, hi));
    }
  }
  return {{"params", out}, {"not_identified", bad}};
}

json residuals_json(Law law, const std::vector<double>& p, const std::vector<Point>& pts) {
  std::vector<std::pair<double, std::size_t>> res;
  double ss = 0;
  for (std::size_t i = 0; i < pts.size(); ++i) {
    double r = std::log(predict(law, p, pts[i])) - std::log(pts[i].L);
    ss += r * r;
    res.push_back({r, i});
  }
  std::stable_sort(res.begin(), res.end(), [](auto& a, auto& b) { return std::fabs(a.first) > std::fabs(b.first); });
  json largest = json::array();
  for (std::size_t k = 0; k < std::min<std::size_t>(5, res.size()); ++k) {
    auto& x = pts[res[k].second];
    largest.push_back({{"id", x.id}, {"N", x.N}, {"D", x.D}, {"C", x.C}, {"loss", x.L},
                       {"predicted", predict(law, p, x)}, {"residual_log", res[k].first}});
  }
  return {{"rmse_log", std::sqrt(ss / static_cast<double>(pts.size()))}, {"largest", largest}};
}

// Refit below the threshold (same law and filter), predict every point above it.
json holdout_json(const FitOptions& o, Law law, const Filter& filter, const std::vector<Point>& all,
                  const std::vector<int>& budgets) {
  json hold = json::object();
  std::vector<double> Cs;
  for (auto& p : all) Cs.push_back(p.C);
  auto thr = holdout_threshold(o.holdout, Cs, o.budget_tolerance, hold);
  if (!thr) return hold;
  std::vector<std::size_t> below;
  std::vector<Point> test;
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (all[i].C < *thr) below.push_back(i);
    else test.push_back(all[i]);
  }
  hold["threshold"] = *thr;
  try {
    if (test.empty()) user_error("no points at or above the threshold");
    const auto train = select(all, apply_filter(filter, all, budgets, below));
    hold["train_points"] = train.size();
    hold["test_points"] = test.size();
    auto hf = fit_law(law, train, o.solve);
    std::vector<double> rel;
    json pts_json = json::array();
    for (auto& p : test) {
      double pred = predict(law, hf.p, p);
      rel.push_back(std::fabs(pred - p.L) / p.L);
      if (pts_json.size() < 10) pts_json.push_back({{"id", p.id}, {"C", p.C}, {"loss", p.L}, {"predicted", pred}});
    }
    error_stats(hold, rel);
    hold["points"] = pts_json;
    hold["params"] = hf.p;
  } catch (const UserError& e) {
    hold["skipped"] = e.what();
  }
  return hold;
}

json range_json(const Range& r) {
  return {{"c_lo", r.c_lo}, {"c_hi", r.c_hi}, {"n_lo", r.n_lo}, {"n_hi", r.n_hi}, {"d_lo", r.d_lo},
          {"d_hi", r.d_hi}, {"r_lo", r.r_lo}, {"r_hi", r.r_hi}};
}

}  // namespace

json parametric_record(const Dataset& ds, const FitOptions& o) {
  const bool power = o.law && !info(*o.law).loss_nd;
  if (power) return power_record(ds, o);
  const auto& pts = ds.points;
  const auto budgets = backtest_budgets(pts, ds.sweep, o.budget_tolerance);
  const auto cands = candidates(o.law, pts, budgets, o.filter);
  if (cands.empty()) user_error("no law applies to these points");
  BacktestOptions bo;
  bo.folds = o.folds, bo.level = o.level, bo.solve = o.solve;
  bo.weights = point_weights(o.weights, pts);
  const Selection sel = backtest(pts, budgets, cands, bo);
  const Candidate chosen = sel.chosen >= 0 ? sel.rows[sel.chosen].cand : cands.front();
  const Law law = chosen.law;
  const auto& in = info(law);

  const auto keep = apply_filter(chosen.filter, pts, budgets);
  const auto fit_pts = select(pts, keep);
  if (fit_pts.size() < in.params.size() + 2 && chosen.filter.any())
    user_error("too few points for a {} fit: the filter '{}' leaves {} of {}, at least {} needed ({} parameters + 2)",
               in.name, chosen.filter.label(), fit_pts.size(), pts.size(), in.params.size() + 2, in.params.size());
  const auto w = select(bo.weights, keep);
  auto f = fit_law(law, fit_pts, o.solve, w);
  Draws draws;
  if (o.boot.resamples > 0) draws = bootstrap_law(law, fit_pts, f, o.solve, o.boot, w);

  json result, warnings = json::array();
  json params = json::object();
  for (std::size_t k = 0; k < in.params.size(); ++k)
    params[in.params[k]] = interval(f.p[k], column(draws.values, k), o.level);
  Model model{in.name, "", f.p};
  double cmax = 0;
  for (auto& p : fit_pts) cmax = std::max(cmax, p.C);
  result["derived"] = derived_json(model, draws.values, reference_budgets(cmax), o.level);
  result["residuals"] = residuals_json(law, f.p, fit_pts);
  result["holdout"] = holdout_json(o, law, chosen.filter, pts, budgets);
  result["backtest"] = backtest_json(sel, pts);

  Calibration cal;
  cal.level = o.level;
  cal.noise = residual_noise(law, f.p, fit_pts);
  if (!sel.unavailable.empty()) cal.why = sel.unavailable;
  else if (sel.chosen < 0) cal.why = "no candidate could be backtested";
  else cal = calibrate(sel.rows[sel.chosen], cal.noise, o.level);
  result["prediction_interval"] = calibration_json(cal);
  result["range"] = range_json(Range::of(fit_pts));
  if (o.boot.resamples > 0) result["identification"] = identification(in, params, warnings);
  if (!sel.unavailable.empty()) warnings.push_back("no backtest: " + sel.unavailable + "; forecasts give the confidence interval only");

  spread_warnings(fit_pts, warnings);
  if (f.conv.converged * 2 < f.conv.polished + (f.conv.solver == "multistart" ? f.conv.starts : 0))
    warnings.push_back(fmt::format("only {} of {} polished starts converged within {} iterations", f.conv.converged,
                                   f.conv.solver == "multistart" ? f.conv.starts : f.conv.polished,
                                   f.conv.max_iterations));
  if (f.conv.best_start_on_grid_boundary && f.conv.solver == "varpro")
    warnings.push_back("the best exponents lie on the edge of the variable-projection grid: the grid did not bracket them");

  json selection = ds.selection;
  selection["filter"] = filter_json(chosen.filter, o.filter ? "given" : "chosen by the backtest");
  selection["law_rule"] = o.law ? "given" : "auto: chosen by the backtest";
  selection["weights"] = o.weights;
  selection["kept"] = fit_pts.size();
  return law_record(in.name, selection, params, f, fit_pts.size(), o, draws, result, warnings);
}

}  // namespace scalelab::fit::detail
