// Approaches 1 and 2 as fit records: the allocation power laws with bootstrap
// intervals, the per-budget parabolas or the envelope, and the hold-out check.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "fit/analysis_internal.h"

namespace scalelab::fit::detail {

namespace {
std::vector<double> allocation_vector(const Allocation& a) {
  std::vector<double> p{a.n_opt.k, a.n_opt.exponent, a.d_opt.k, a.d_opt.exponent};
  if (a.frontier) p.insert(p.end(), a.frontier->begin(), a.frontier->end());
  return p;
}

FitRecord allocation_record(const Dataset& ds, const FitOptions& o, const Allocation& a, const Draws& draws,
                            double cmax, std::size_t n_points, Holdout hold) {
  FitRecord rec;
  auto p = allocation_vector(a);
  const std::vector<std::string> names{"kN", "a", "kD", "b", "E_C", "G_C", "gamma_C"};
  for (std::size_t k = 0; k < p.size(); ++k) {
    std::vector<double> col;
    for (auto& d : draws.values)
      if (k < d.size()) col.push_back(d[k]);
    rec.params.push_back(estimate(names[k], p[k], col, o.level));
  }
  std::vector<std::vector<double>> full;  // draws with the same shape as p
  for (auto& d : draws.values)
    if (d.size() == p.size()) full.push_back(d);
  rec.model = {"allocation", "C", p};
  rec.derived = derived_estimates(Model{"allocation", "C", p}, full, reference_budgets(cmax), o.level);
  rec.holdout = std::move(hold);
  rec.bootstrap = {o.boot.resamples, static_cast<int>(draws.values.size()), draws.failed, draws.failures,
                   o.boot.seed,      o.level, std::nullopt, std::nullopt, draws.seconds, full};
  rec.warnings = a.warnings;
  if (!a.frontier) rec.warnings.push_back("no L(C) law: fewer than 5 budgets/envelope points; loss forecasts unavailable");
  rec.law = "allocation";
  rec.selection = ds.selection;
  rec.n_points = static_cast<std::int64_t>(n_points);
  rec.objective = 0;
  return rec;
}

// Hold-out: power laws from the budgets below the threshold, checked against the held-out vertices.
Holdout isoflop_holdout(const Dataset& ds, const FitOptions& o, const IsoflopFit& f) {
  Holdout hold;
  std::vector<double> Cs;
  for (auto& p : ds.points) Cs.push_back(p.C);
  auto thr = holdout_threshold(o.holdout, Cs, o.budget_tolerance, hold);
  if (!thr) return hold;
  hold.threshold = *thr;
  try {
    std::vector<Point> train;
    for (auto& p : ds.points)
      if (p.C < *thr) train.push_back(p);
    auto hf = fit_isoflop(train, cluster_budgets(train, o.budget_tolerance));
    std::vector<double> reln, rell;
    std::vector<HeldBudget> tests;
    for (auto& b : f.budgets) {
      if (b.C < *thr || !b.bracketed) continue;
      HeldBudget t{b.C, b.n_opt, hf.n_opt.at(b.C), std::nullopt, std::nullopt};
      reln.push_back(std::fabs(t.predicted_n_opt - b.n_opt) / b.n_opt);
      if (hf.frontier) {
        const double pl = hf.frontier->at(0) + hf.frontier->at(1) * std::pow(b.C, -hf.frontier->at(2));
        rell.push_back(std::fabs(pl - b.l_opt) / b.l_opt);
        t.l_opt = b.l_opt;
        t.predicted_l_opt = pl;
      }
      tests.push_back(t);
    }
    if (tests.empty()) user_error("no bracketed budget at or above the threshold");
    hold.n_opt = error_stats(reln);
    if (!rell.empty()) hold.loss = hold.error = error_stats(rell);
    hold.budgets = std::move(tests);
  } catch (const UserError& e) {
    hold.skipped = e.what();
  }
  return hold;
}

std::vector<BudgetRecord> budget_records(const IsoflopFit& f) {
  std::vector<BudgetRecord> out;
  for (auto& b : f.budgets)
    out.push_back({b.C, b.runs, b.n_lo, b.n_hi, {b.c0, b.c1, b.c2}, b.has_minimum, b.bracketed, b.n_opt, b.d_opt,
                   b.l_opt, b.note, b.suggest});
  return out;
}

// Hold-out: N_opt(C) through the envelope points below the threshold, checked above it.
Holdout envelope_holdout(const Dataset& ds, const FitOptions& o, const EnvelopeFit& f) {
  Holdout hold;
  std::vector<double> finalC;
  for (auto& c : ds.curves)
    if (!c.tokens.empty()) finalC.push_back(c.tokens.back() * c.flops_per_token);
  auto thr = holdout_threshold(o.holdout, finalC, o.budget_tolerance, hold);
  if (!thr) return hold;
  hold.threshold = *thr;
  std::vector<double> c, n;
  for (auto& p : f.points)
    if (p.C < *thr && !p.edge) c.push_back(p.C), n.push_back(p.N);
  try {
    auto line = fit_log_line(c, n);
    std::vector<double> rel;
    for (auto& p : f.points)
      if (p.C >= *thr && !p.edge) rel.push_back(std::fabs(line.at(p.C) - p.N) / p.N);
    if (rel.empty()) user_error("no envelope point at or above the threshold");
    hold.n_opt = hold.error = error_stats(rel);
    hold.quantity = "N_opt at envelope points above the threshold";
  } catch (const UserError& e) {
    hold.skipped = e.what();
  }
  return hold;
}

}  // namespace

FitRecord isoflop_record(const Dataset& ds, const FitOptions& o) {
  auto groups = cluster_budgets(ds.points, o.budget_tolerance);
  auto f = fit_isoflop(ds.points, groups);
  Draws draws;
  if (o.boot.resamples > 0) {
    auto frontier0 = f.frontier;
    draws = bootstrap(o.boot, [&](int, std::mt19937_64& rng) -> std::optional<std::vector<double>> {
      auto w = resample_weights_grouped(groups, rng);
      auto b = fit_isoflop(ds.points, groups, w, false);
      if (frontier0) {  // refit L(C) from the full-data optimum: a one-start fit
        std::vector<Point> fp;
        for (auto& bf : b.budgets)
          if (bf.bracketed) fp.push_back({0, 0, bf.C, bf.l_opt, ""});
        SolveSettings s;
        s.threads = 1;
        b.frontier = fit_law(Law::power_c, fp, s, {}, {to_solver(Law::power_c, *frontier0)}).p;
      }
      return allocation_vector(b);
    });
  }
  double cmax = 0;
  for (auto& b : f.budgets) cmax = std::max(cmax, b.C);
  auto rec = allocation_record(ds, o, f, draws, cmax, ds.points.size(), isoflop_holdout(ds, o, f));
  rec.approach = "2";
  rec.part = IsoflopPart{static_cast<int>(f.budgets.size()), f.used, o.budget_tolerance, budget_records(f)};
  return rec;
}

FitRecord envelope_record(const Dataset& ds, const FitOptions& o) {
  auto f = fit_envelope(ds.curves, o.envelope);
  Draws draws;
  if (o.boot.resamples > 0) {
    auto frontier0 = f.frontier;
    draws = bootstrap(o.boot, [&](int, std::mt19937_64& rng) -> std::optional<std::vector<double>> {
      auto w = resample_weights(ds.curves.size(), rng);
      auto b = fit_envelope(ds.curves, o.envelope, w, false);
      if (frontier0) {
        std::vector<Point> fp;
        for (auto& p : b.points)
          if (!p.edge) fp.push_back({p.N, p.D, p.C, p.L, p.id});
        SolveSettings s;
        s.threads = 1;
        b.frontier = fit_law(Law::power_c, fp, s, {}, {to_solver(Law::power_c, *frontier0)}).p;
      }
      return allocation_vector(b);
    });
  }
  std::vector<EnvelopeSample> env;
  double cmax = 0;
  for (auto& p : f.points) {
    cmax = std::max(cmax, p.C);
    env.push_back({p.C, p.N, p.D, p.L, p.id, p.edge});
  }
  auto rec = allocation_record(ds, o, f, draws, cmax, ds.curves.size(), envelope_holdout(ds, o, f));
  rec.approach = "1";
  rec.part = EnvelopePart{static_cast<int>(f.points.size()), f.edge_points, f.winners, o.envelope.smooth_frac,
                          std::move(env)};
  return rec;
}

}  // namespace scalelab::fit::detail
