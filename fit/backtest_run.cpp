// The candidate list and the rolling-origin backtest that scores it.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "fit/backtest.h"

namespace scalelab::fit {

namespace {
bool all_unique_known(const std::vector<Point>& pts) {
  for (auto& p : pts)
    if (!(p.U > 0)) return false;
  return true;
}
double max_epochs(const std::vector<Point>& pts) {
  double m = 0;
  for (auto& p : pts) m = std::max(m, p.epochs());
  return m;
}
}  // namespace

std::vector<Candidate> candidates(std::optional<Law> law, const std::vector<Point>& pts, const std::vector<int>& budgets,
                                  std::optional<Filter> fixed) {
  std::vector<Law> laws;
  if (law) {
    laws.push_back(*law);
  } else {
    for (Law l : nd_laws()) {
      // The data-constrained law earns its two extra parameters only on repeated data.
      if (info(l).needs_unique && !(all_unique_known(pts) && max_epochs(pts) > 1.01)) continue;
      laws.push_back(l);
    }
  }
  std::vector<Filter> filters;
  if (fixed) {
    filters.push_back(*fixed);
  } else {
    // A short, fixed list, so that the choice among them cannot overfit the backtest.
    filters.push_back({});
    filters.push_back({1, 0, 0});    // drop runs under one token per parameter
    filters.push_back({0, 3, 0});    // keep each budget's near-optimal sizes
    filters.push_back({0, 0, 4});    // Muennighoff: ~4 epochs are nearly as good as fresh data
    std::erase_if(filters, [&](const Filter& f) { return f.any() && apply_filter(f, pts, budgets).size() == pts.size(); });
  }
  std::vector<Candidate> out;
  for (Law l : laws)
    for (auto& f : filters) out.push_back({l, f});
  return out;
}

namespace {
void score_fold(CandidateResult& r, const std::vector<Point>& pts, const std::vector<int>& budgets, const Fold& fold,
                int j, const BacktestOptions& o) {
  const auto idx = apply_filter(r.cand.filter, pts, budgets, fold.train);
  if (idx.size() < static_cast<std::size_t>(r.n_params + 2))
    user_error("the filter leaves {} points to fit in fold {}; {} needed", idx.size(), j + 1, r.n_params + 2);
  const auto train = select(pts, idx);
  auto f = fit_law(r.cand.law, train, o.solve, select(o.weights, idx));
  const double noise = residual_noise(r.cand.law, f.p, train);
  const Range range = Range::of(train);
  for (auto i : fold.test) {
    const double pred = predict(r.cand.law, f.p, pts[i]);
    if (!(pred > 0) || !std::isfinite(pred)) user_error("fold {}: a non-finite prediction", j + 1);
    r.residual.push_back(std::log(pts[i].L) - std::log(pred));
    r.horizon.push_back(horizon(range, pts[i].N, pts[i].D).decades);
    r.noise.push_back(noise);
    r.fold.push_back(j);
  }
}

// Each fold's interval calibrated on the other folds only: the coverage a
// user would have seen, had they stopped the sweep one budget earlier.
double fold_coverage(const CandidateResult& r, int folds, double level) {
  int covered = 0, total = 0;
  for (int j = 0; j < folds; ++j) {
    auto cal = calibrate(r, 0, level, j);
    if (!cal.available) continue;
    for (std::size_t i = 0; i < r.residual.size(); ++i) {
      if (r.fold[i] != j) continue;
      cal.noise = r.noise[i];
      ++total;
      covered += std::fabs(r.residual[i]) <= cal.half_width(0, r.horizon[i]);
    }
  }
  return total ? static_cast<double>(covered) / total : NAN;
}

void choose(Selection& s, double tie) {
  int best = -1;
  for (int k = 0; k < static_cast<int>(s.rows.size()); ++k)
    if (s.rows[k].failed.empty() && (best < 0 || s.rows[k].mean_rel < s.rows[best].mean_rel)) best = k;
  if (best < 0) return;
  // Differences under 0.01 percentage points are noise in any real sweep.
  const double bar = s.rows[best].mean_rel * (1 + tie) + 1e-4;
  int pick = best;
  for (int k = 0; k < static_cast<int>(s.rows.size()); ++k) {
    const auto& r = s.rows[k];
    if (!r.failed.empty() || r.mean_rel > bar) continue;
    const auto& p = s.rows[pick];
    // Ties go to fewer parameters, then to fewer filters, then to the lower error.
    auto key = [](const CandidateResult& c) { return std::make_tuple(c.n_params, c.cand.filter.any(), c.mean_rel); };
    if (key(r) < key(p)) pick = k;
  }
  s.chosen = pick;
  const auto& c = s.rows[pick];
  if (pick == best)
    s.why = fmt::format("lowest held-out mean error ({:.2f}%)", 100 * c.mean_rel);
  else
    s.why = fmt::format("within {:.0f}% of the lowest held-out mean error ({:.2f}% vs {:.2f}% for {} / {}) with {}",
                        100 * tie, 100 * c.mean_rel, 100 * s.rows[best].mean_rel, law_name(s.rows[best].cand.law),
                        s.rows[best].cand.filter.label(),
                        c.n_params < s.rows[best].n_params ? "fewer parameters" : "fewer filters");
}
}  // namespace

Selection backtest(const std::vector<Point>& pts, const std::vector<int>& budgets, const std::vector<Candidate>& cands,
                   const BacktestOptions& o) {
  Selection s;
  s.folds = rolling_folds(pts, budgets, o.folds);
  for (auto& c : cands) {
    CandidateResult r;
    r.cand = c;
    r.n_params = static_cast<int>(info(c.law).params.size());
    s.rows.push_back(r);
  }
  if (s.folds.empty()) {
    s.unavailable = fmt::format("{} compute budget{}: a backtest needs at least 3 (2 to fit, 1 to predict)",
                                budget_count(budgets), budget_count(budgets) == 1 ? "" : "s");
    return s;
  }
  for (auto& r : s.rows) {
    try {
      for (int j = 0; j < static_cast<int>(s.folds.size()); ++j) score_fold(r, pts, budgets, s.folds[j], j, o);
    } catch (const UserError& e) {
      r.failed = e.what();
      continue;
    }
    double sum = 0, mx = 0;
    for (double res : r.residual) {
      const double rel = std::fabs(std::exp(-res) - 1);  // |L-hat - L| / L
      sum += rel, mx = std::max(mx, rel);
    }
    r.tested = static_cast<int>(r.residual.size());
    r.mean_rel = sum / r.tested;
    r.max_rel = mx;
    r.coverage = fold_coverage(r, static_cast<int>(s.folds.size()), o.level);
  }
  choose(s, o.tie);
  return s;
}

}  // namespace scalelab::fit
