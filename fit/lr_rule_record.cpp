// `fit SWEEP --law lr` as a fit record: the rule with bootstrap intervals, the
// per-scan and per-size tables, and whether k is identified; and the rule read
// back from a stored fit (fit/lr_rule.h).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "common/table.h"
#include "fit/analysis_internal.h"
#include "fit/lr_rule.h"

namespace scalelab::fit {

namespace {

// A parabola needs the minimum and a neighbour on each side.
void check_scans(const Dataset& ds) {
  const std::string sweep = ds.selection.value("sweep_name", ds.source);
  if (ds.lr_scans.empty())
    user_error("--law lr: sweep '{}' has no finished runs with a recorded learning rate to fit", sweep);
  for (auto& s : ds.lr_scans)
    if (s.trials.size() < 3)
      user_error("--law lr needs at least 3 learning rates per size (axes.lr) to bracket the best one; sweep '{}' "
                 "has {} at N = {}, D = {} ({})",
                 sweep, s.trials.size(), si(s.N), si(s.D), s.shape);
}

// A resample: with 3 or more sizes fitted, the sizes themselves (pairs
// bootstrap of the line); within each size its scans (budgets), and within
// each LR its seeds. With 2 sizes both are kept: the line passes through them.
std::vector<std::vector<LrScan>> resample(const std::vector<std::vector<LrScan>>& sizes, bool pairs,
                                          std::mt19937_64& rng) {
  auto pick = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); };
  std::vector<std::vector<LrScan>> out;
  for (std::size_t s = 0; s < sizes.size(); ++s) {
    const auto& group = sizes[pairs ? pick(sizes.size()) : s];
    std::vector<LrScan> drawn;
    for (std::size_t j = 0; j < group.size(); ++j) {
      LrScan scan = group[pick(group.size())];
      for (auto& t : scan.trials) {
        const auto seeds = t.losses;
        for (auto& l : t.losses) l = seeds[pick(seeds.size())];
      }
      drawn.push_back(std::move(scan));
    }
    out.push_back(std::move(drawn));
  }
  return out;
}

// k (and c with it) is identified only with a third size to test the line,
// and an interval only where something varies between resamples. Without a
// bootstrap, 3 or more sizes are not judged. The verdict is short (it is a
// table cell); `detail` gets the whole reason, for the warning.
Identification identify(const LrRuleFit& f, const Estimates& params, int resamples, std::string& detail) {
  Identification id;
  if (f.used >= 3 && resamples == 0) return id;
  std::string why;
  const bool interval = params[1].lo.has_value();
  if (f.used == 2) {
    why = "2 sizes, 0 degrees of freedom";
    detail = std::string("only 2 sizes: 2 points and 0 degrees of freedom, so the power law is not tested") +
             (interval ? "; the interval shows only how each size's best LR scatters over its budgets and seeds"
              : resamples == 0 ? "; no interval (--bootstrap 0)"
                               : "; no interval can be computed: nothing varies between resamples (one budget of "
                                 "one seed per size)");
  } else if (!interval) {
    why = detail = "no interval: the resamples did not vary the rule, or failed";
  }
  for (auto& p : params) {
    id.params.push_back({p.name, why.empty(), why});
    if (!why.empty()) id.not_identified.push_back(p.name);
  }
  return id;
}

Estimates rule_estimates(const LrRuleFit& f, const Draws& d, double level) {
  Estimates out{detail::estimate("c", f.c, column(d.values, 0), level),
                detail::estimate("k", f.k, column(d.values, 1), level)};
  for (auto& e : out)  // a zero-width interval is no interval
    if (e.lo && *e.hi - *e.lo <= 1e-12 * std::fabs(e.value)) e.lo.reset(), e.hi.reset();
  return out;
}

BootstrapRecord rule_bootstrap(const FitOptions& o, const Draws& d, bool pairs) {
  BootstrapRecord b;
  b.resamples = o.boot.resamples, b.ok = static_cast<int>(d.values.size()), b.failed = d.failed;
  b.failures = d.failures, b.seed = o.boot.seed, b.level = o.level, b.seconds = d.seconds, b.draws = d.values;
  b.method = std::string(pairs ? "resample sizes, " : "sizes kept (only 2), ") +
             "each size's budgets, and each learning rate's seeds, with replacement; refit the rule";
  return b;
}

}  // namespace

namespace detail {

FitRecord lr_rule_record(const Dataset& ds, const FitOptions& o) {
  check_scans(ds);
  const auto sizes = group_by_size(ds.lr_scans);
  const auto f = fit_lr_rule(sizes);
  const bool pairs = f.used >= 3;
  Draws draws;
  if (o.boot.resamples > 0)
    draws = bootstrap(o.boot, [&](int, std::mt19937_64& rng) -> std::optional<std::vector<double>> {
      const auto r = fit_lr_rule(resample(sizes, pairs, rng));
      return std::vector<double>{r.c, r.k};
    });
  FitRecord rec;
  rec.law = rec.approach = "lr";
  rec.selection = ds.selection;
  rec.selection["lr_rule"] = "per (N, D): the LR of the lowest seed-mean final loss, refined by a parabola in ln lr "
                             "through it and its two neighbours (left out when the lowest is at either end of the "
                             "grid); per size: the geometric mean over its bracketed D; lr*(N) = c N^-k by least "
                             "squares in ln lr against ln N through the sizes";
  rec.params = rule_estimates(f, draws, o.level);
  rec.objective = f.rss_log;
  rec.n_points = f.used;
  rec.model = {"lr", "N", {f.c, f.k}};
  rec.holdout.skipped = "a learning-rate rule is not held out";
  rec.bootstrap = rule_bootstrap(o, draws, pairs);
  for (auto& s : f.scans)
    if (!s.bracketed) rec.warnings.push_back(s.note);
  std::string why;
  LrPart part{static_cast<int>(f.sizes.size()), f.used, f.scans, f.sizes,
              identify(f, rec.params, o.boot.resamples, why)};
  if (!why.empty()) rec.warnings.push_back("k (and c) not identified: " + why);
  rec.part = std::move(part);
  return rec;
}

}  // namespace detail

LrRuleParams lr_rule_of(const store::Fit& row) {
  if (!is_lr_rule(row))
    user_error("fit {} is {} fit, not a learning-rate rule; fit one with `scalelab fit SWEEP --law lr`", row.id,
               row.law == "emergence" ? "an emergence" : "a " + row.law + " (approach " + row.approach + ")");
  const auto rec = record_of(row);
  const Estimate *c = find(rec.params, "c"), *k = find(rec.params, "k");
  if (!c || !k) user_error("fit {}: params.c or params.k is missing", row.id);
  return {c->value, k->value, convention_words(rec.conventions).params};
}

}  // namespace scalelab::fit
