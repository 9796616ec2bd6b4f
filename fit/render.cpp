// Text report of a fit record (the same content as --json, for people).
#include <fmt/format.h>

#include <cmath>

#include "common/table.h"
#include "fit/dataset.h"
#include "fit/record.h"

namespace scalelab::fit {

namespace {
std::string num(double x) {
  if (std::isnan(x)) return "-";
  if (!std::isfinite(x)) return x > 0 ? "inf" : "-";
  double a = std::fabs(x);
  if (a != 0 && (a >= 1e5 || a < 1e-3)) return fmt::format("{:.4g}", x);
  return fmt::format("{:.4f}", x);
}
std::string num(const std::optional<double>& v) { return v ? num(*v) : "-"; }

std::string range(const Estimate& e) { return e.lo ? num(e.lo) + " .. " + num(e.hi) : "-"; }

void table_of(std::string& out, const Estimates& es, const std::string& head, const Identification* ident = nullptr) {
  const bool judged = ident && !ident->params.empty();
  std::vector<std::string> cols{head, ">value", ">95% interval"};
  if (judged) cols.push_back("identified");
  Table t(cols);
  for (auto& e : es) {
    std::vector<std::string> row{e.name, num(e.value), range(e)};
    if (judged) {
      const ParamVerdict* v = ident->find(e.name);
      row.push_back(!v ? "-" : v->identified ? "yes" : "NO: " + v->why);
    }
    t.add(row);
  }
  out += t.render();
}

std::string pct(const std::optional<double>& v) { return v ? fmt::format("{:.2f}%", 100 * *v) : "-"; }

// The backtest: one row per candidate (law x filter), the chosen one marked.
void backtest_of(std::string& out, const BacktestRecord& bt) {
  if (bt.unavailable) {
    out += fmt::format("backtest: none: {}\n", *bt.unavailable);
    return;
  }
  int folds = static_cast<int>(bt.folds.size()), test = 0;
  for (auto& f : bt.folds) test += f.test_points;
  out += fmt::format("backtest: {} rolling-origin fold{} ({} held-out points), each of the largest budgets predicted "
                     "from the budgets below it\n", folds, folds == 1 ? "" : "s", test);
  Table t({" ", "law", "filter", ">params", ">held-out mean", ">max", ">95% PI coverage", "note"});
  int k = 0;
  for (auto& r : bt.candidates) {
    t.add({k == bt.chosen ? "*" : "", r.law, r.filter, std::to_string(r.params), pct(r.mean_abs_rel_error),
           pct(r.max_abs_rel_error), pct(r.coverage), r.failed});
    ++k;
  }
  out += t.render();
  if (auto* c = bt.chosen_candidate())
    out += fmt::format("chosen: {} with filter {}: {}\n", c->law, c->filter, bt.why.value_or(""));
}

void interval_of(std::string& out, const PredictionInterval* pi) {
  if (!pi) return;
  if (!pi->available) {
    out += fmt::format("prediction interval: none ({})\n", pi->why);
    return;
  }
  out += fmt::format("prediction interval: {:.0f}%: log L within {:.2f} x sqrt(sd_boot^2 + {:.4f}^2 + ({:.4f} h)^2), "
                     "h = decades outside the fitted data; calibrated on {} backtest residuals\n",
                     100 * pi->level, pi->q, pi->noise.value_or(0), pi->kappa, pi->n);
}

// --law lr: each scan's best LR, then each size's and the rule's value there.
void lr_tables_of(std::string& out, const FitRecord& r, const LrPart& l) {
  out += fmt::format("learning-rate rule lr*(N) = c N^-k through {} of {} sizes (N: {} parameters)\n", l.used, l.sizes,
                     r.conventions.value("params", "?"));
  Table scans({">N", ">D", "shape", ">LRs", ">runs", ">best on grid", ">refined", "bracketed"});
  for (auto& s : l.scans)
    scans.add({si(s.N), si(s.D), s.shape, std::to_string(s.lrs.size()), std::to_string(s.runs), num(s.grid_lr),
               s.bracketed ? num(s.lr_opt) : "-", s.bracketed ? "yes" : "NO (edge of the grid)"});
  out += scans.render();
  const Estimate *c = find(r.params, "c"), *k = find(r.params, "k");
  Table sizes({">N", ">budgets", ">bracketed", ">best LR", ">c N^-k", "used"});
  for (auto& s : l.size_rows)
    sizes.add({si(s.N), std::to_string(s.scans), std::to_string(s.bracketed), s.used ? num(s.lr_opt) : "-",
               c && k ? num(c->value * std::pow(s.N, -k->value)) : "-", s.used ? "yes" : "NO: not bracketed"});
  out += sizes.render();
}

void convergence_of(std::string& out, const FitRecord& r) {
  if (auto* c = r.solver(); c && c->variable_projection()) {
    out += fmt::format("objective {:.10f} (summed Huber, delta {}); variable projection over {} exponent grid points, "
                       "{}/{} polished starts converged, {} reached the best{}; {:.2f} s on {} thread(s)\n",
                       r.objective, c->delta, c->starts, c->converged, c->polished, c->reached_best,
                       c->best_start_on_grid_boundary ? " (on the grid's edge)" : "", c->seconds, c->threads);
  } else if (c) {
    out += fmt::format(
        "objective {:.10f} (summed Huber, delta {}); {}/{} starts converged, {} reached the best; best start #{}{}; "
        "{:.2f} s on {} thread(s)\n",
        r.objective, c->delta, c->converged, c->starts, c->reached_best, c->best_start,
        c->best_start_on_grid_boundary ? " (on the grid boundary)" : " (inside the grid)", c->seconds, c->threads);
  } else if (auto* a = r.isoflop()) {
    out += fmt::format("{} budgets, {} bracketed and used\n", a->budget_count, a->used);
    Table t({">budget C", ">runs", ">N range", ">N*", ">D*", ">L*", "bracketed"});
    for (auto& b : a->budgets)
      t.add({num(b.C), std::to_string(b.runs), num(b.n_lo) + ".." + num(b.n_hi), num(b.n_opt), num(b.d_opt),
             num(b.l_opt), b.bracketed ? "yes" : "NO"});
    out += t.render();
  } else if (auto* e = r.envelope()) {
    out += fmt::format("{} envelope points from {} distinct runs\n", e->envelope_points, e->winners);
  } else if (auto* l = r.lr_rule()) {
    lr_tables_of(out, r, *l);
  }
}

void holdout_of(std::string& out, const FitRecord& r) {
  const Holdout& h = r.holdout;
  if (h.skipped) {
    out += fmt::format("hold-out: skipped ({})\n", *h.skipped);
  } else if (h.error) {
    std::string what = r.approach == "3" ? "loss" : r.approach == "2" ? "optimal loss" : "N_opt";
    out += fmt::format("hold-out ({}, C >= {}): {} mean abs rel error {:.2f}%, max {:.2f}%", h.rule.value_or(""),
                       num(h.threshold), what, 100 * h.error->mean, 100 * h.error->max);
    if (h.test_points) out += fmt::format(" ({} held out, {} fitted)", *h.test_points, h.train_points.value_or(0));
    if (r.approach == "2" && h.n_opt) out += fmt::format("; N_opt mean {:.1f}%", 100 * h.n_opt->mean);
    out += "\n";
  } else if (h.n_opt) {
    out += fmt::format("hold-out (C >= {}): N_opt mean abs rel error {:.1f}%, max {:.1f}%\n", num(h.threshold),
                       100 * h.n_opt->mean, 100 * h.n_opt->max);
  }
}
// How a sweep's runs became points: the schedule(s), ladder trunks left out, the
// LR choice and seed averaging. Only records that say so (older ones print nothing).
void selection_of(std::string& out, const json& sel) {
  if (!sel.is_object() || !sel.contains("schedules") || !sel["schedules"].is_object()) return;
  std::string line;
  for (auto& [name, n] : sel["schedules"].items())
    line += fmt::format("{}{} ({} runs)", line.empty() ? "schedule: " : ", ", name, n.dump());
  auto count = [&](const char* key) { return sel.value(key, 0); };
  if (int t = count("trunks")) line += fmt::format("; {} ladder trunk(s) left out", t);
  if (int k = count("lr_selected_points"))
    line += fmt::format("; {} point(s) are the best of several learning rates", k);
  if (int k = count("seed_averaged_points")) line += fmt::format("; {} point(s) average several seeds", k);
  if (!line.empty()) out += line + "\n";
}
}  // namespace

std::string render_fit(const FitRecord& r) {
  std::string out;
  if (r.lr_rule()) out += fmt::format("learning-rate rule fit (--law lr), {} sizes from {}\n", r.n_points, r.source);
  else
    out += fmt::format("{} fit, approach {}, {} points from {}, losses in {}\n", r.law, r.approach, r.n_points, r.source,
                       loss_unit_words(loss_unit(r.conventions)));
  selection_of(out, r.selection);
  convergence_of(out, r);
  if (auto* bt = r.backtest()) {
    out += "\n";
    backtest_of(out, *bt);
    interval_of(out, r.prediction_interval());
  }
  out += "\n";
  table_of(out, r.params, "parameter", r.identification());
  if (!r.derived.empty()) {
    out += "\n";
    table_of(out, r.derived, "derived");
  }
  out += "\n";
  holdout_of(out, r);
  if (auto* l = r.law_fit()) {
    out += fmt::format("residuals: RMSE {:.4f} in log loss; largest:", l->residuals.rmse_log);
    for (auto& x : l->residuals.largest) out += fmt::format(" {} ({:+.4f})", x.id, x.residual_log);
    out += "\n";
  }
  const auto& b = r.bootstrap;
  if (b.resamples > 0)
    out += fmt::format("bootstrap: {} resamples (seed {}), {} ok, {} failed, {:.1f} s; intervals are {:.0f}% percentiles\n",
                       b.resamples, b.seed, b.ok, b.failed, b.seconds, 100 * b.level);
  else
    out += "bootstrap: off (no intervals)\n";
  for (auto& w : r.warnings) out += "warning: " + w + "\n";
  return out;
}

}  // namespace scalelab::fit
