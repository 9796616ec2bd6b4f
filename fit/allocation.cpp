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

json allocation_record(const Dataset& ds, const FitOptions& o, const Allocation& a, const Draws& draws,
                       double cmax, std::size_t n_points, json extra, json hold) {
  json rec, result = std::move(extra);
  auto p = allocation_vector(a);
  std::vector<std::string> names{"kN", "a", "kD", "b", "E_C", "G_C", "gamma_C"};
  json params = json::object();
  for (std::size_t k = 0; k < p.size(); ++k) {
    std::vector<double> col;
    for (auto& d : draws.values)
      if (k < d.size()) col.push_back(d[k]);
    params[names[k]] = interval(p[k], col, o.level);
  }
  Model model{"allocation", "C", p};
  std::vector<std::vector<double>> full;  // draws with the same shape as p
  for (auto& d : draws.values)
    if (d.size() == p.size()) full.push_back(d);
  result["derived"] = derived_json(model, full, reference_budgets(cmax), o.level);
  result["model"] = {{"kind", "allocation"}, {"variable", "C"}, {"p", p}};
  result["holdout"] = std::move(hold);
  result["bootstrap"] = {{"resamples", o.boot.resamples}, {"ok", draws.values.size()}, {"failed", draws.failed},
                         {"failures", draws.failures},    {"seed", o.boot.seed},          {"level", o.level},
                         {"seconds", draws.seconds},      {"draws", full}};
  json warnings = json::array();
  for (auto& w : a.warnings) warnings.push_back(w);
  if (!a.frontier) warnings.push_back("no L(C) law: fewer than 5 budgets/envelope points; loss forecasts unavailable");
  result["warnings"] = warnings;
  rec["law"] = "allocation";
  rec["selection"] = ds.selection;
  rec["params"] = params;
  rec["n_points"] = n_points;
  rec["result"] = result;
  return rec;
}

}  // namespace

json isoflop_record(const Dataset& ds, const FitOptions& o) {
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
  json budgets = json::array();
  double cmax = 0;
  for (auto& b : f.budgets) {
    cmax = std::max(cmax, b.C);
    budgets.push_back({{"C", b.C}, {"runs", b.runs}, {"n_lo", b.n_lo}, {"n_hi", b.n_hi},
                       {"parabola", {b.c0, b.c1, b.c2}}, {"has_minimum", b.has_minimum},
                       {"bracketed", b.bracketed}, {"n_opt", b.n_opt}, {"d_opt", b.d_opt}, {"l_opt", b.l_opt},
                       {"note", b.note}, {"suggest_sizes", b.suggest}});
  }
  // Hold-out: power laws from the budgets below the threshold, checked against the held-out vertices.
  json hold = json::object();
  std::vector<double> Cs;
  for (auto& p : ds.points) Cs.push_back(p.C);
  if (auto thr = holdout_threshold(o.holdout, Cs, o.budget_tolerance, hold)) {
    hold["threshold"] = *thr;
    try {
      std::vector<Point> train;
      for (auto& p : ds.points)
        if (p.C < *thr) train.push_back(p);
      auto hf = fit_isoflop(train, cluster_budgets(train, o.budget_tolerance));
      std::vector<double> reln, rell;
      json tests = json::array();
      for (auto& b : f.budgets) {
        if (b.C < *thr || !b.bracketed) continue;
        double pn = hf.n_opt.at(b.C);
        reln.push_back(std::fabs(pn - b.n_opt) / b.n_opt);
        json t = {{"C", b.C}, {"n_opt", b.n_opt}, {"predicted_n_opt", pn}};
        if (hf.frontier) {
          double pl = hf.frontier->at(0) + hf.frontier->at(1) * std::pow(b.C, -hf.frontier->at(2));
          rell.push_back(std::fabs(pl - b.l_opt) / b.l_opt);
          t["l_opt"] = b.l_opt;
          t["predicted_l_opt"] = pl;
        }
        tests.push_back(t);
      }
      if (tests.empty()) user_error("no bracketed budget at or above the threshold");
      json nj, lj;
      error_stats(nj, reln);
      hold["n_opt"] = nj;
      if (!rell.empty()) {
        error_stats(lj, rell);
        hold["loss"] = lj;
        hold["mean_abs_rel_error"] = lj["mean_abs_rel_error"];
        hold["max_abs_rel_error"] = lj["max_abs_rel_error"];
      }
      hold["budgets"] = tests;
    } catch (const UserError& e) {
      hold["skipped"] = e.what();
    }
  }
  auto rec = allocation_record(ds, o, f, draws, cmax, ds.points.size(), json{{"budgets", budgets}}, hold);
  rec["approach"] = "2";
  rec["objective"] = 0.0;
  rec["convergence"] = {{"budgets", f.budgets.size()}, {"used", f.used},
                        {"tolerance_decades", o.budget_tolerance}};
  return rec;
}

json envelope_record(const Dataset& ds, const FitOptions& o) {
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
  json env = json::array();
  double cmax = 0;
  for (auto& p : f.points) {
    cmax = std::max(cmax, p.C);
    env.push_back({{"C", p.C}, {"N", p.N}, {"D", p.D}, {"loss", p.L}, {"run", p.id}, {"edge", p.edge}});
  }
  json hold = json::object();
  std::vector<double> finalC;
  for (auto& c : ds.curves)
    if (!c.tokens.empty()) finalC.push_back(c.tokens.back() * c.flops_per_token);
  if (auto thr = holdout_threshold(o.holdout, finalC, o.budget_tolerance, hold)) {
    hold["threshold"] = *thr;
    std::vector<double> c, n;
    for (auto& p : f.points)
      if (p.C < *thr && !p.edge) c.push_back(p.C), n.push_back(p.N);
    try {
      auto line = fit_log_line(c, n);
      std::vector<double> rel;
      for (auto& p : f.points)
        if (p.C >= *thr && !p.edge) rel.push_back(std::fabs(line.at(p.C) - p.N) / p.N);
      if (rel.empty()) user_error("no envelope point at or above the threshold");
      json nj;
      error_stats(nj, rel);
      hold["n_opt"] = nj;
      hold["mean_abs_rel_error"] = nj["mean_abs_rel_error"];
      hold["max_abs_rel_error"] = nj["max_abs_rel_error"];
      hold["quantity"] = "N_opt at envelope points above the threshold";
    } catch (const UserError& e) {
      hold["skipped"] = e.what();
    }
  }
  auto rec = allocation_record(ds, o, f, draws, cmax, ds.curves.size(), json{{"envelope", env}}, hold);
  rec["approach"] = "1";
  rec["objective"] = 0.0;
  rec["convergence"] = {{"envelope_points", f.points.size()}, {"edge_points", f.edge_points}, {"winners", f.winners},
                        {"smooth_frac", o.envelope.smooth_frac}};
  return rec;
}

}  // namespace scalelab::fit::detail
