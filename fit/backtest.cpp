// Filters, folds, horizons and the rolling-origin backtest.
#include "fit/backtest.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "common/error.h"
#include "fit/approaches.h"

namespace scalelab::fit {

std::string Filter::label() const {
  std::vector<std::string> parts;
  if (min_tokens_per_param > 0) parts.push_back(fmt::format("D/N >= {:g}", min_tokens_per_param));
  if (near_optimal > 0) parts.push_back(fmt::format("near-optimal {:g}x", near_optimal));
  if (max_epochs > 0) parts.push_back(fmt::format("epochs <= {:g}", max_epochs));
  if (parts.empty()) return "none";
  std::string s = parts[0];
  for (std::size_t k = 1; k < parts.size(); ++k) s += ", " + parts[k];
  return s;
}

std::vector<std::size_t> apply_filter(const Filter& f, const std::vector<Point>& pts, const std::vector<int>& budgets) {
  std::map<int, std::size_t> best;  // budget -> index of its lowest loss
  for (std::size_t i = 0; i < pts.size(); ++i) {
    auto it = best.find(budgets[i]);
    if (it == best.end() || pts[i].L < pts[it->second].L) best[budgets[i]] = i;
  }
  std::vector<std::size_t> keep;
  for (std::size_t i = 0; i < pts.size(); ++i) {
    const Point& p = pts[i];
    if (f.min_tokens_per_param > 0 && p.D / p.N < f.min_tokens_per_param) continue;
    if (f.max_epochs > 0 && p.epochs() > f.max_epochs * (1 + 1e-9)) continue;
    if (f.near_optimal > 0) {
      const double ratio = p.N / pts[best[budgets[i]]].N;
      if (ratio > f.near_optimal || ratio < 1 / f.near_optimal) continue;
    }
    keep.push_back(i);
  }
  return keep;
}

std::vector<std::size_t> apply_filter(const Filter& f, const std::vector<Point>& pts, const std::vector<int>& budgets,
                                      const std::vector<std::size_t>& among) {
  std::vector<std::size_t> out;
  for (auto k : apply_filter(f, select(pts, among), select(budgets, among))) out.push_back(among[k]);
  return out;
}

std::vector<int> backtest_budgets(const std::vector<Point>& pts, bool sweep, double tolerance) {
  if (sweep) return cluster_budgets(pts, tolerance);
  std::vector<int> bins;
  for (auto& p : pts) bins.push_back(static_cast<int>(std::floor(std::log10(6 * p.N * p.D) / 0.1)));
  std::vector<int> sorted = bins;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  for (int& b : bins) b = static_cast<int>(std::lower_bound(sorted.begin(), sorted.end(), b) - sorted.begin());
  return bins;
}

int budget_count(const std::vector<int>& budgets) {
  return budgets.empty() ? 0 : *std::max_element(budgets.begin(), budgets.end()) + 1;
}

std::vector<Fold> rolling_folds(const std::vector<Point>& pts, const std::vector<int>& budgets, int K) {
  const int nb = budget_count(budgets);
  std::vector<int> size(nb, 0);
  for (int b : budgets) ++size[b];
  const int min_test = std::max<int>(3, static_cast<int>(std::ceil(pts.size() / 20.0)));
  std::vector<Fold> folds;
  int top = nb - 1;  // budgets are numbered by increasing C
  while (static_cast<int>(folds.size()) < K && top >= 2) {
    int lo = top, held = size[top];
    while (held < min_test && lo > 2) held += size[--lo];
    if (held < min_test) break;
    Fold f;
    f.c_test = INFINITY;
    for (std::size_t i = 0; i < pts.size(); ++i) {
      if (budgets[i] < lo) f.train.push_back(i);
      else if (budgets[i] <= top) f.test.push_back(i), f.c_test = std::min(f.c_test, pts[i].C);
    }
    folds.push_back(std::move(f));
    top = lo - 1;
  }
  return folds;
}

Range Range::of(const std::vector<Point>& pts) {
  Range r{INFINITY, 0, INFINITY, 0, INFINITY, 0, INFINITY, 0};
  for (auto& p : pts) {
    const double C = 6 * p.N * p.D, ratio = p.D / p.N;
    r.c_lo = std::min(r.c_lo, C), r.c_hi = std::max(r.c_hi, C);
    r.n_lo = std::min(r.n_lo, p.N), r.n_hi = std::max(r.n_hi, p.N);
    r.d_lo = std::min(r.d_lo, p.D), r.d_hi = std::max(r.d_hi, p.D);
    r.r_lo = std::min(r.r_lo, ratio), r.r_hi = std::max(r.r_hi, ratio);
  }
  return r;
}

Horizon horizon(const Range& r, double N, double D) {
  struct Axis {
    double v, lo, hi;
    const char* name;
  };
  // Every horizon uses C = 6ND, the forecast's convention, so a CSV's own C column does not shift it.
  const Axis axes[] = {{6 * N * D, r.c_lo, r.c_hi, "C"}, {N, r.n_lo, r.n_hi, "N"}, {D, r.d_lo, r.d_hi, "D"},
                       {D / N, r.r_lo, r.r_hi, "D/N"}};
  Horizon h;
  const Axis* worst = nullptr;
  double worst_d = 0;
  bool above = true;
  for (auto& a : axes) {
    const double up = std::log10(a.v / a.hi), down = std::log10(a.lo / a.v);
    if (up > worst_d) worst_d = up, worst = &a, above = true;
    if (down > worst_d) worst_d = down, worst = &a, above = false;
  }
  if (!worst || worst_d < 1e-9) {
    h.verdict = "inside the data";
    return h;
  }
  h.inside = false;
  h.decades = worst_d;
  const double factor = std::pow(10.0, worst_d);
  if (std::string(worst->name) == "C" && above)
    h.verdict = fmt::format("extrapolating x{:.3g} beyond the largest fitted C", factor);
  else
    h.verdict = fmt::format("outside the fitted range of {} ({:.3g}x {} the {} fitted)", worst->name, factor,
                            above ? "above" : "below", above ? "largest" : "smallest");
  return h;
}

double Calibration::sd(double sd_boot, double h) const {
  return std::sqrt(sd_boot * sd_boot + noise * noise + kappa * kappa * h * h);
}

double residual_noise(Law law, const std::vector<double>& p, const std::vector<Point>& pts) {
  double ss = 0;
  for (auto& x : pts) {
    const double r = std::log(x.L) - std::log(predict(law, p, x));
    ss += r * r;
  }
  const double dof = std::max(1.0, static_cast<double>(pts.size()) - static_cast<double>(p.size()));
  return std::sqrt(ss / dof);
}

Calibration calibrate(const CandidateResult& r, double noise, double level, int skip) {
  Calibration c;
  c.noise = noise;
  c.level = level;
  // kappa by moments: the held-out squared residuals beyond the fold's own noise, per squared decade.
  double excess = 0, hh = 0;
  std::vector<std::size_t> use;
  for (std::size_t i = 0; i < r.residual.size(); ++i) {
    if (r.fold[i] == skip) continue;
    use.push_back(i);
    excess += r.residual[i] * r.residual[i] - r.noise[i] * r.noise[i];
    hh += r.horizon[i] * r.horizon[i];
  }
  c.n = static_cast<int>(use.size());
  if (use.empty()) {
    c.why = "no backtest residuals";
    return c;
  }
  c.kappa = hh > 0 && excess > 0 ? std::sqrt(excess / hh) : 0;
  // The split-conformal quantile of |r| / sd: the ceil((n + 1) level)-th smallest.
  std::vector<double> s;
  for (auto i : use) {
    Calibration tmp = c;
    tmp.noise = r.noise[i];
    s.push_back(std::fabs(r.residual[i]) / std::max(1e-12, tmp.sd(0, r.horizon[i])));
  }
  std::sort(s.begin(), s.end());
  const auto k = static_cast<std::size_t>(std::ceil((s.size() + 1) * level));
  c.q = k <= s.size() ? s[k - 1] : s.back() * (1 + 1.0 / s.size());
  c.available = true;
  return c;
}

}  // namespace scalelab::fit
