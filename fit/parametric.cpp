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

std::optional<double> finite_or_none(double v) { return std::isfinite(v) ? std::optional<double>(v) : std::nullopt; }

BacktestRecord backtest_record(const Selection& s, const std::vector<Point>& pts) {
  BacktestRecord b;
  b.method = "rolling origin: each of the largest budgets predicted from every budget below it";
  for (auto& f : s.folds) {
    double c_train = 0;
    for (auto i : f.train) c_train = std::max(c_train, 6 * pts[i].N * pts[i].D);
    b.folds.push_back({static_cast<int>(f.train.size()), static_cast<int>(f.test.size()), f.c_test, c_train});
  }
  for (auto& r : s.rows)
    b.candidates.push_back({law_name(r.cand.law), r.cand.filter.label(), r.n_params, r.tested,
                            finite_or_none(r.mean_rel), finite_or_none(r.max_rel), finite_or_none(r.coverage),
                            r.failed});
  b.chosen = s.chosen;
  b.why = s.why;
  if (!s.unavailable.empty()) b.unavailable = s.unavailable;
  return b;
}

// A parameter is not identified when its bootstrap interval runs into a bound
// (0 for a scale, 0 or 5 for an exponent) or spans more than two decades.
Identification identification(const LawInfo& in, const Estimates& params, std::vector<std::string>& warnings) {
  Identification out;
  for (std::size_t k = 0; k < in.params.size(); ++k) {
    const Estimate* p = find(params, in.params[k]);
    if (!p || !p->lo) continue;
    const double lo = *p->lo, hi = p->hi.value_or(NAN);
    std::string why;
    if (in.positive[k] && (!(lo > 0) || lo < 1e-6 * hi)) why = "its interval runs into the bound at 0";
    else if (!in.positive[k] && lo < 0.01) why = "its interval runs into the bound at 0";
    else if (!in.positive[k] && hi > 5) why = "its interval runs past 5";
    else if (lo > 0 && hi / lo > 100) why = fmt::format("its interval spans {:.1f} decades", std::log10(hi / lo));
    out.params.push_back({in.params[k], why.empty(), why});
    if (!why.empty()) {
      out.not_identified.push_back(in.params[k]);
      warnings.push_back(fmt::format("{} is not identified: {} ({:.3g} .. {:.3g}); loss forecasts beyond the data "
                                     "carry that uncertainty in their prediction interval",
                                     in.params[k], why, lo, hi));
    }
  }
  return out;
}

Residuals residuals_of(Law law, const std::vector<double>& p, const std::vector<Point>& pts) {
  std::vector<std::pair<double, std::size_t>> res;
  double ss = 0;
  for (std::size_t i = 0; i < pts.size(); ++i) {
    double r = std::log(predict(law, p, pts[i])) - std::log(pts[i].L);
    ss += r * r;
    res.push_back({r, i});
  }
  std::stable_sort(res.begin(), res.end(), [](auto& a, auto& b) { return std::fabs(a.first) > std::fabs(b.first); });
  Residuals out{std::sqrt(ss / static_cast<double>(pts.size())), {}};
  for (std::size_t k = 0; k < std::min<std::size_t>(5, res.size()); ++k) {
    auto& x = pts[res[k].second];
    out.largest.push_back({x.id, x.N, x.D, x.C, x.L, predict(law, p, x), res[k].first});
  }
  return out;
}

// Refit below the threshold (same law and filter), predict every point above it.
Holdout holdout_of(const FitOptions& o, Law law, const Filter& filter, const std::vector<Point>& all,
                   const std::vector<int>& budgets) {
  Holdout hold;
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
  hold.threshold = *thr;
  try {
    if (test.empty()) user_error("no points at or above the threshold");
    const auto train = select(all, apply_filter(filter, all, budgets, below));
    hold.train_points = static_cast<int>(train.size());
    hold.test_points = static_cast<int>(test.size());
    auto hf = fit_law(law, train, o.solve);
    std::vector<double> rel;
    for (auto& p : test) {
      double pred = predict(law, hf.p, p);
      rel.push_back(std::fabs(pred - p.L) / p.L);
      if (hold.points.size() < 10) hold.points.push_back({p.id, p.C, p.L, pred});
    }
    hold.error = error_stats(rel);
    hold.params = hf.p;
  } catch (const UserError& e) {
    hold.points.clear();
    hold.skipped = e.what();
  }
  return hold;
}

// The prediction interval's calibration: the chosen candidate's backtest residuals, or why there are none.
Calibration calibration(const Selection& sel, double noise, double level) {
  Calibration cal;
  cal.level = level;
  cal.noise = noise;
  if (!sel.unavailable.empty()) cal.why = sel.unavailable;
  else if (sel.chosen < 0) cal.why = "no candidate could be backtested";
  else cal = calibrate(sel.rows[sel.chosen], cal.noise, level);
  return cal;
}

void solver_warnings(const Convergence& c, std::vector<std::string>& warnings) {
  if (c.converged * 2 < c.polished + (c.solver == "multistart" ? c.starts : 0))
    warnings.push_back(fmt::format("only {} of {} polished starts converged within {} iterations", c.converged,
                                   c.solver == "multistart" ? c.starts : c.polished, c.max_iterations));
  if (c.best_start_on_grid_boundary && c.solver == "varpro")
    warnings.push_back("the best exponents lie on the edge of the variable-projection grid: the grid did not bracket them");
}

}  // namespace

FitRecord parametric_record(const Dataset& ds, const FitOptions& o) {
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

  Estimates params;
  for (std::size_t k = 0; k < in.params.size(); ++k)
    params.push_back(estimate(in.params[k], f.p[k], column(draws.values, k), o.level));
  std::vector<std::string> warnings;
  LawPart part;
  part.convergence = solver_convergence(f.conv, o.solve);
  part.residuals = residuals_of(law, f.p, fit_pts);
  part.backtest = backtest_record(sel, pts);
  part.prediction_interval = PredictionInterval::of(calibration(sel, residual_noise(law, f.p, fit_pts), o.level));
  part.range = Range::of(fit_pts);
  if (o.boot.resamples > 0) part.identification = identification(in, params, warnings);
  if (!sel.unavailable.empty()) warnings.push_back("no backtest: " + sel.unavailable + "; forecasts give the confidence interval only");
  spread_warnings(fit_pts, warnings);
  solver_warnings(f.conv, warnings);

  json selection = ds.selection;
  selection["filter"] = filter_json(chosen.filter, o.filter ? "given" : "chosen by the backtest");
  selection["law_rule"] = o.law ? "given" : "auto: chosen by the backtest";
  selection["weights"] = o.weights;
  selection["kept"] = fit_pts.size();
  auto rec = law_record(in.name, selection, params, f, fit_pts.size(), o, draws, warnings);
  double cmax = 0;
  for (auto& p : fit_pts) cmax = std::max(cmax, p.C);
  rec.derived = derived_estimates(Model{in.name, "", f.p}, draws.values, reference_budgets(cmax), o.level);
  rec.holdout = holdout_of(o, law, chosen.filter, pts, budgets);
  rec.part = std::move(part);
  return rec;
}

}  // namespace scalelab::fit::detail
