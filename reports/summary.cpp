// The report's tables and paragraphs.
#include "reports/summary.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "common/table.h"
#include "fit/dataset.h"
#include "fit/forecast.h"

namespace scalelab::reports {

std::string sci(double v) {
  if (std::isnan(v)) return "–";
  if (std::isinf(v)) return v > 0 ? "∞" : "−∞";
  const double a = std::fabs(v);
  if (a == 0) return "0";
  if (a >= 1e5 || a < 1e-3) {
    int e = static_cast<int>(std::floor(std::log10(a)));
    double m = v / std::pow(10.0, e);
    if (std::fabs(m) >= 9.9995) m /= 10, ++e;
    return fmt::format("{:.3f}e{}", m, e);
  }
  if (a >= 1e3) return fmt::format("{:.0f}", v);
  return fmt::format("{:.4g}", v);
}

std::string with_interval(double v, double lo, double hi) {
  if (std::isnan(lo) || std::isnan(hi)) return sci(v);
  return fmt::format("{} ({} – {})", sci(v), sci(lo), sci(hi));
}

namespace {
std::string loss_str(const std::optional<double>& v) { return v ? fmt::format("{:.4f}", *v) : "–"; }
}  // namespace

Rows run_rows(const ReportData& d) {
  // A column of what only some runs record shows where any run in scope has it,
  // so a table without ladders, epochs or standard errors is what it was before.
  const auto any = [&](auto has) { return std::any_of(d.runs.begin(), d.runs.end(), has); };
  const bool ladder = any([](auto& x) { return !x.parent_id.empty(); });
  const bool se = any([](auto& x) { return x.final_val_loss_se.has_value(); });
  const bool epochs = any([](auto& x) { return x.epochs.has_value(); });
  const bool bpb = any([](auto& x) { return x.bytes_per_token.has_value(); });
  Rows r;
  r.headers = {"run", "name", "status", "shape", ">N", ">N non-emb", ">D (tokens)", ">C (FLOPs)", ">val loss"};
  if (se) r.headers.push_back(">val loss SE");
  if (bpb) r.headers.push_back(">val bits/byte");
  r.headers.push_back(">train loss");
  if (epochs) r.headers.push_back(">epochs");
  if (ladder) r.headers.insert(r.headers.end(), {"parent", ">fork step"});
  for (auto& x : d.runs) {
    std::string tokens = si(x.tokens_done);
    if (x.planned_tokens > 0 && x.tokens_done < x.planned_tokens * 0.9999) tokens += " / " + si(x.planned_tokens);
    std::vector<std::string> row{x.id.substr(0, 12), x.name, x.status, x.shape, si(static_cast<double>(x.params_total)),
                                 si(static_cast<double>(x.params_non_embedding)), tokens, sci(run_compute(x)),
                                 loss_str(x.final_val_loss)};
    if (se) row.push_back(loss_str(x.final_val_loss_se));
    if (bpb) row.push_back(loss_str(store::loss_bpb(x.final_val_loss, x.bytes_per_token)));
    row.push_back(loss_str(x.final_train_loss));
    if (epochs) row.push_back(x.epochs ? fmt::format("{:.3g}", *x.epochs) : "–");
    if (ladder) {
      row.push_back(x.parent_id.empty() ? "–" : x.parent_id.substr(0, 12));  // as the trunk's own row shows it
      row.push_back(x.fork_step ? std::to_string(*x.fork_step) : "–");
    }
    r.rows.push_back(std::move(row));
  }
  return r;
}

namespace {
// ident: the fit's identification verdicts, for an "identified" column (none: no column).
Rows interval_rows(const fit::Estimates& es, const std::string& head, const fit::Identification* ident = nullptr) {
  Rows r;
  const bool judged = ident && !ident->params.empty();
  r.headers = {head, ">value", ">95% interval"};
  if (judged) r.headers.push_back("identified");
  for (auto& e : es) {
    r.rows.push_back({e.name, sci(e.value), e.lo ? fmt::format("{} – {}", sci(*e.lo), sci(e.hi.value_or(NAN))) : "–"});
    if (!judged) continue;
    const fit::ParamVerdict* v = ident->find(e.name);
    r.rows.back().push_back(!v ? "–" : v->identified ? "yes" : "NO: " + v->why);
  }
  return r;
}

std::string pct(const std::optional<double>& v) {
  return v && std::isfinite(*v) ? fmt::format("{:.2f}%", 100 * *v) : "–";
}
double level_of(const FitView& f) {
  auto* pi = f.rec.prediction_interval();
  return pi ? pi->level : 0.95;
}
}  // namespace

Rows param_rows(const FitView& f) { return interval_rows(f.rec.params, "parameter", f.rec.identification()); }

Rows backtest_rows(const FitView& f) {
  Rows r;
  const fit::BacktestRecord* bt = f.rec.backtest();
  if (!bt || bt->unavailable) return r;
  r.headers = {"",     "law", "filter", ">params", ">held-out points", ">mean |rel. error|", ">max |rel. error|",
               fmt::format(">{:.0f}% PI coverage", 100 * level_of(f)), "note"};
  r.marked = bt->chosen;
  for (auto& c : bt->candidates) {
    const bool chosen = static_cast<int>(r.rows.size()) == r.marked;
    r.rows.push_back({chosen ? "chosen" : "", c.law, c.filter, std::to_string(c.params), std::to_string(c.tested),
                      pct(c.mean_abs_rel_error), pct(c.max_abs_rel_error), pct(c.coverage), c.failed});
  }
  return r;
}

Rows derived_rows(const FitView& f) { return interval_rows(f.rec.derived, "derived"); }

Rows forecast_rows(const FitView& f) {
  Rows r;
  if (!f.allocates()) return r;
  r.headers = {">compute C (FLOPs)", ">N_opt (params)", ">D_opt (tokens)", ">tokens / param"};
  const bool loss = f.has_frontier();
  // Where a new run's loss will land is wider than where the law lies: both are shown.
  const bool pi = loss && f.model.pi.available && f.model.range;
  if (loss) r.headers.push_back(fmt::format(">loss ({})", fit::loss_unit(f.rec.conventions)));
  if (pi) r.headers.push_back(">loss 95% prediction interval");
  for (double C : {1e21, 1e22, 1e23, 1e24, 1e25}) {
    fit::Query q;
    q.compute = C;
    std::vector<fit::Quantity> qs;
    try {
      qs = fit::forecast(f.model, f.draws, q);
    } catch (const UserError&) {
      continue;
    }
    auto cell = [&](const std::string& name) {
      for (auto& x : qs)
        if (x.name == name) return x.interval ? with_interval(x.value, x.lo, x.hi) : sci(x.value);
      return std::string("–");
    };
    std::vector<std::string> row{sci(C), cell("N"), cell("D"), cell("tokens per param")};
    if (loss) row.push_back(cell("loss"));
    if (pi) {
      std::string cellpi = "–";
      for (auto& x : qs)
        if (x.name == "loss" && x.prediction) cellpi = fmt::format("{} – {}", sci(x.pred_lo), sci(x.pred_hi));
      row.push_back(cellpi);
    }
    r.rows.push_back(row);
  }
  return r;
}

namespace {
std::string convergence_text(const fit::FitRecord& r) {
  if (auto* c = r.solver())
    return fmt::format(" Summed Huber objective {:.6g} (δ = {}); {} of {} starts converged and {} reached the best; "
                       "the best start is {} the grid.",
                       r.objective, c->delta, c->converged, c->starts, c->reached_best,
                       c->best_start_on_grid_boundary ? "on the boundary of" : "inside");
  if (auto* a = r.isoflop())
    return fmt::format(" {} compute budgets, {} bracketed by the sizes sampled and used in the power laws.",
                       a->budget_count, a->used);
  if (auto* e = r.envelope())
    return fmt::format(" {} envelope points from {} runs ({} won by an extreme size, not fitted).", e->envelope_points,
                       e->winners, e->edge_points);
  return "";
}
}  // namespace

std::string fit_overview(const FitView& f) {
  const fit::FitRecord& r = f.rec;
  const auto words = fit::convention_words(r.conventions);
  std::string s = fmt::format("Fit {}, stored {}: {} points; N = {} parameters, {}.", f.id, r.created_at, r.n_points,
                              words.params.empty() ? "?" : words.params, words.flops.empty() ? "?" : words.flops);
  s += convergence_text(r);
  if (auto* l = r.law_fit()) s += fmt::format(" Residual RMSE {:.4f} in log loss.", l->residuals.rmse_log);
  const auto& b = r.bootstrap;
  if (b.resamples > 0)
    s += fmt::format(" Intervals: 95% percentiles over {} bootstrap resamples ({} failed, seed {}).", b.ok, b.failed,
                     b.seed);
  else
    s += " No bootstrap: no intervals.";
  if (!f.older.empty()) {
    std::string ids;
    for (auto id : f.older) ids += (ids.empty() ? "" : ", ") + std::to_string(id);
    s += fmt::format(" Supersedes earlier fit(s) {} of the same kind.", ids);
  }
  return s;
}

std::string holdout_text(const FitView& f) {
  const fit::Holdout& h = f.rec.holdout;
  const double thr = h.threshold.value_or(NAN);
  if (h.skipped) return "Hold-out check skipped: " + *h.skipped + ".";
  if (h.error) {
    const std::string what = f.approach == "3" ? "loss" : f.approach == "2" ? "optimal loss L*" : "N_opt";
    std::string s = fmt::format(
        "Hold-out ({}, C ≥ {}): refitted without those runs, the {} is predicted with mean absolute error {:.2f}% "
        "(max {:.2f}%)",
        h.rule.value_or("threshold"), sci(thr), what, 100 * h.error->mean, 100 * h.error->max);
    if (h.test_points)
      s += fmt::format(" on {} held-out points, fitted on {}", *h.test_points, h.train_points.value_or(0));
    if (f.approach == "2" && h.n_opt) s += fmt::format("; N_opt within {:.1f}% on average", 100 * h.n_opt->mean);
    return s + ".";
  }
  if (h.n_opt)
    return fmt::format("Hold-out (C ≥ {}): N_opt predicted with mean absolute error {:.1f}% (max {:.1f}%).", sci(thr),
                       100 * h.n_opt->mean, 100 * h.n_opt->max);
  return "";
}

std::vector<std::string> fit_warnings(const FitView& f) {
  std::vector<std::string> out = f.rec.warnings;
  if (auto* a = f.rec.isoflop())
    for (auto& b : a->budgets)
      if (!b.bracketed && !b.note.empty() && std::find(out.begin(), out.end(), b.note) == out.end())
        out.push_back(b.note);
  return out;
}

std::string backtest_text(const FitView& f) {
  const fit::BacktestRecord* bt = f.rec.backtest();
  if (!bt) return "";
  if (bt->unavailable)
    return "No backtest: " + *bt->unavailable + ". Forecasts carry the confidence interval only.";
  int test = 0;
  std::string folds;
  for (auto& x : bt->folds) {
    test += x.test_points;
    folds += fmt::format("{}{} points from C = {} predicted from {} below C = {}", folds.empty() ? "" : "; ",
                         x.test_points, sci(x.c_test), x.train_points, sci(x.c_train_max));
  }
  const int n = static_cast<int>(bt->folds.size());
  std::string s = fmt::format("Backtest ({}): {} fold{}, {} held-out points in all ({}). Each candidate law and point "
                              "filter is refitted on every fold and scored on the points it did not see.",
                              bt->method.value_or("rolling origin"), n, n == 1 ? "" : "s", test, folds);
  const std::string why = bt->why.value_or("");
  if (auto* c = bt->chosen_candidate())
    s += fmt::format(" Chosen: {} with filter {}: {}.", c->law, c->filter, why);
  else
    s += " No candidate could be scored" + (why.empty() ? std::string(".") : ": " + why + ".");
  return s;
}

std::string interval_text(const FitView& f) {
  const fit::PredictionInterval* pi = f.rec.prediction_interval();
  if (!pi) return "";
  if (!pi->available) return "No prediction interval: " + pi->why + ".";
  return fmt::format(
      "{:.0f}% prediction interval (where a new run's loss will land, not only where the law lies): log L within "
      "± q·√(sd_boot² + noise² + (κ·h)²), with q = {:.3g}, noise = {:.3g}, κ = {:.3g} per decade and h the decades "
      "outside the fitted data; calibrated on {} held-out backtest residuals.",
      100 * pi->level, pi->q, pi->noise.value_or(NAN), pi->kappa, pi->n);
}

std::string identification_text(const FitView& f) {
  const fit::Identification* id = f.rec.identification();
  if (!id || id->not_identified.empty()) return "";
  std::string names;
  for (auto& k : id->not_identified) {
    const fit::ParamVerdict* v = id->find(k);
    const std::string why = v ? v->why : "";
    names += (names.empty() ? "" : "; ") + k + (why.empty() ? "" : " (" + why + ")");
  }
  return "Not identified by these data: " + names +
         ". Their values and intervals are not measurements; loss forecasts widen their prediction intervals to "
         "span every bootstrap draw.";
}

std::string missing_fits_text(const ReportData& d) {
  if (!d.fits.empty()) return "";
  std::string target = d.sweep ? shell_word(d.sweep->name) : "SWEEP";
  std::string s = fmt::format("No fits are stored for {}, so no law, band or forecast is drawn. ", d.scope);
  if (d.finished < 7)
    s += fmt::format(
        "There are {} finished run(s): too few to fit. Approach 3 (L(N, D) = E + A/N^α + B/D^β) needs at least 7 "
        "runs with 3 or more distinct N and D; Approach 2 needs 2 or more compute budgets with 3 or more sizes each. ",
        d.finished);
  s += fmt::format("When there are enough, run: scalelab fit {} --approach 1,2,3", target);
  return s;
}

}  // namespace scalelab::reports
