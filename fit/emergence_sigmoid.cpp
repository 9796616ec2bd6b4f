// The threshold fit: a sigmoid in log10 x, the rules that refuse to call a
// transition where the data has none, and the bootstrap over runs and items.
#include <ceres/ceres.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "common/error.h"
#include "fit/ceres_options.h"
#include "fit/emergence.h"
#include "fit/solver.h"

namespace scalelab::fit::emergence {

namespace {

// One observation's weighted residual. Weight sqrt(n): a rate from 4000 items
// counts four times one from 1000, as its binomial variance says.
struct SigmoidResidual {
  double u, y, w;
  template <typename T>
  bool operator()(const T* p, T* r) const {  // p = (left, right, k, m)
    // Past |z| = 60 the sigmoid is 0 or 1 to double precision; clamping keeps
    // exp() and its derivative finite over many decades of x.
    T z = -p[2] * (T(u) - p[3]);
    if (z > T(60)) z = T(60);
    if (z < T(-60)) z = T(-60);
    T s = T(1) / (T(1) + exp(z));
    r[0] = T(w) * (p[0] + (p[1] - p[0]) * s - T(y));
    return true;
  }
};

constexpr double kMinK = 0.05, kMaxK = 100;  // per decade; 100 = a 10%-90% rise within 0.044 decades

double weight(const Obs& o) { return o.n > 0 ? std::sqrt(o.n) : 1.0; }

struct Bounds {
  double lo, hi, ulo, uhi;
};

Bounds bounds_of(const std::vector<Obs>& obs, const ThresholdOptions& o) {
  double ymin = INFINITY, ymax = -INFINITY, ulo = INFINITY, uhi = -INFINITY;
  for (auto& p : obs) {
    ymin = std::min(ymin, p.y), ymax = std::max(ymax, p.y);
    const double u = std::log10(p.x);
    ulo = std::min(ulo, u), uhi = std::max(uhi, u);
  }
  if (o.rate) return {o.chance, 1.0, ulo, uhi};
  const double span = std::max(ymax - ymin, 1e-9);
  return {ymin - span, ymax + span, ulo, uhi};
}

double wrss(const std::vector<Obs>& obs, const Sigmoid& s) {
  double r = 0;
  for (auto& p : obs) {
    const double e = weight(p) * (s.at(p.x) - p.y);
    r += e * e;
  }
  return r;
}

// Weighted least-squares line y = c0 + c1 log10 x (closed form); its RSS.
double linear_rss(const std::vector<Obs>& obs, bool slope) {
  double sw = 0, su = 0, sy = 0, suu = 0, suy = 0;
  for (auto& p : obs) {
    const double w = weight(p) * weight(p), u = std::log10(p.x);
    sw += w, su += w * u, sy += w * p.y, suu += w * u * u, suy += w * u * p.y;
  }
  double c1 = 0;
  if (slope) {
    const double den = sw * suu - su * su;
    c1 = den > 1e-300 ? (sw * suy - su * sy) / den : 0;
  }
  const double c0 = (sy - c1 * su) / sw;
  double r = 0;
  for (auto& p : obs) {
    const double e = weight(p) * (c0 + c1 * std::log10(p.x) - p.y);
    r += e * e;
  }
  return r;
}

// BIC from the residual sum of squares with the noise variance estimated from
// it (the seeds' spread beyond binomial noise is then part of the noise the
// models are judged against). The floor keeps a perfect fit finite.
double bic(double rss, int n, int params) {
  return n * std::log(std::max(rss / n, 1e-300)) + params * std::log(static_cast<double>(n));
}

// Mean of y and total n at the lowest and the highest x.
struct Ends {
  double y_lo = 0, n_lo = 0, y_hi = 0, n_hi = 0;
};
Ends ends_of(const std::vector<Obs>& obs) {
  double xl = INFINITY, xh = -INFINITY;
  for (auto& p : obs) xl = std::min(xl, p.x), xh = std::max(xh, p.x);
  Ends e;
  int cl = 0, ch = 0;
  for (auto& p : obs) {
    if (p.x == xl) e.y_lo += p.y, e.n_lo += p.n, ++cl;
    if (p.x == xh) e.y_hi += p.y, e.n_hi += p.n, ++ch;
  }
  e.y_lo /= cl, e.y_hi /= ch;
  return e;
}

struct Verdict {
  bool transition = false;
  std::vector<std::string> why_not;
  double rise = 0, rise_se = 0, bic_s = 0, bic_l = 0, bic_c = 0;
};

Verdict judge(const std::vector<Obs>& obs, const Sigmoid& s, double rss, const ThresholdOptions& o) {
  Verdict v;
  const int n = static_cast<int>(obs.size());
  v.bic_s = bic(rss, n, 4);
  v.bic_l = bic(linear_rss(obs, true), n, 2);
  v.bic_c = bic(linear_rss(obs, false), n, 1);
  const double best_other = std::min(v.bic_l, v.bic_c);
  if (!(v.bic_s + o.bic_margin <= best_other))
    v.why_not.push_back(fmt::format("the sigmoid does not beat a {} fit by {:g} BIC (it is {:.1f} better)",
                                    v.bic_l <= v.bic_c ? "linear-in-log" : "constant", o.bic_margin,
                                    best_other - v.bic_s));
  double ulo = INFINITY, uhi = -INFINITY;
  for (auto& p : obs) ulo = std::min(ulo, std::log10(p.x)), uhi = std::max(uhi, std::log10(p.x));
  if (s.m < ulo || s.m > uhi)
    v.why_not.push_back(fmt::format("the fitted midpoint 10^{:.2f} lies outside the data's range 10^{:.2f}..10^{:.2f}",
                                    s.m, ulo, uhi));
  v.rise = std::fabs(s.right - s.left);
  if (o.rate) {
    // The rise is measured by the scales at both ends: its standard error is
    // that of a difference of two rates, each with its own item count. A rate
    // of 0 or 1 still has the uncertainty of one item in its count.
    const Ends e = ends_of(obs);
    auto var = [](double p, double n) {
      if (!(n > 0)) return 0.25;
      return std::max(p * (1 - p), 1 / n) / n;
    };
    v.rise_se = std::sqrt(var(e.y_lo, e.n_lo) + var(e.y_hi, e.n_hi));
  } else {
    v.rise_se = std::sqrt(rss / std::max(1, n - 4));
  }
  if (!(v.rise >= o.rise_se * v.rise_se))
    v.why_not.push_back(fmt::format("the rise {:.3g} is under {:g} standard errors ({:.3g} each)", v.rise, o.rise_se,
                                    v.rise_se));
  v.transition = v.why_not.empty();
  return v;
}

std::vector<Sigmoid> starts_for(const std::vector<Obs>& obs, const Bounds& b, const Sigmoid* warm, int m_steps,
                                const std::vector<double>& ks) {
  const Ends e = ends_of(obs);
  auto clamp = [&](double v) { return std::clamp(v, b.lo, b.hi); };
  std::vector<Sigmoid> out;
  if (warm) out.push_back(*warm);
  for (int i = 0; i < m_steps; ++i) {
    const double m = m_steps == 1 ? (b.ulo + b.uhi) / 2 : b.ulo + (b.uhi - b.ulo) * i / (m_steps - 1);
    for (double k : ks) out.push_back({clamp(e.y_lo), clamp(e.y_hi), k, m});
  }
  return out;
}

}  // namespace

double Sigmoid::at(double x) const { return left + (right - left) / (1 + std::exp(-k * (std::log10(x) - m))); }
double Sigmoid::threshold() const { return std::pow(10.0, m); }

namespace {
Sigmoid solve_from(const std::vector<Obs>& obs, const Bounds& b, const std::vector<Sigmoid>& starts, double* rss_out,
                   bool* at_bound) {
  detail::quiet_ceres();
  Sigmoid best;
  double best_rss = INFINITY;
  SolveSettings settings;
  settings.max_iterations = 200;
  auto options = detail::lsq_options(settings);
  for (auto& s0 : starts) {
    double p[4] = {s0.left, s0.right, std::clamp(s0.k, kMinK, kMaxK), std::clamp(s0.m, b.ulo - 1, b.uhi + 1)};
    ceres::Problem problem;
    for (auto& o : obs)
      problem.AddResidualBlock(new ceres::AutoDiffCostFunction<SigmoidResidual, 1, 4>(
                                   new SigmoidResidual{std::log10(o.x), o.y, weight(o)}),
                               nullptr, p);
    problem.SetParameterLowerBound(p, 0, b.lo), problem.SetParameterUpperBound(p, 0, b.hi);
    problem.SetParameterLowerBound(p, 1, b.lo), problem.SetParameterUpperBound(p, 1, b.hi);
    problem.SetParameterLowerBound(p, 2, kMinK), problem.SetParameterUpperBound(p, 2, kMaxK);
    problem.SetParameterLowerBound(p, 3, b.ulo - 1), problem.SetParameterUpperBound(p, 3, b.uhi + 1);
    ceres::Solver::Summary summary;
    ceres::Solve(options, &problem, &summary);
    Sigmoid s{p[0], p[1], p[2], p[3]};
    const double r = wrss(obs, s);
    if (std::isfinite(r) && r < best_rss) best_rss = r, best = s;  // ties: the earlier start wins
  }
  if (rss_out) *rss_out = best_rss;
  if (at_bound) *at_bound = best.k >= kMaxK * 0.999;
  return best;
}

void check_input(const std::vector<Obs>& obs, const ThresholdOptions& o) {
  std::set<double> levels;
  for (auto& p : obs) {
    if (!(p.x > 0) || !std::isfinite(p.x) || !std::isfinite(p.y))
      user_error("an emergence fit needs positive, finite x and finite values; got ({}, {})", p.x, p.y);
    levels.insert(p.x);
  }
  if (levels.size() < 4)
    user_error("a threshold fit needs at least 4 distinct scales (a sigmoid has 4 parameters); got {}", levels.size());
  if (o.rate && !(o.chance >= 0 && o.chance < 1)) user_error("--chance must be in [0, 1), got {}", o.chance);
}
}  // namespace

Sigmoid fit_sigmoid(const std::vector<Obs>& obs, const ThresholdOptions& o, const Sigmoid* warm, double* rss,
                    bool* k_at_bound) {
  check_input(obs, o);
  const Bounds b = bounds_of(obs, o);
  return solve_from(obs, b, starts_for(obs, b, warm, 7, {1, 3, 10, 30}), rss, k_at_bound);
}

ThresholdFit fit_threshold(const std::vector<Obs>& obs, const ThresholdOptions& o) {
  ThresholdFit f;
  f.best = fit_sigmoid(obs, o, nullptr, &f.rss, &f.k_at_bound);
  const Bounds b = bounds_of(obs, o);
  f.x_lo = std::pow(10.0, b.ulo), f.x_hi = std::pow(10.0, b.uhi);
  f.points = static_cast<int>(obs.size());
  f.levels = static_cast<int>(std::set<double>([&] {
                                std::set<double> s;
                                for (auto& p : obs) s.insert(p.x);
                                return s;
                              }()).size());
  auto v = judge(obs, f.best, f.rss, o);
  f.transition = v.transition, f.why_not = v.why_not;
  f.bic_sigmoid = v.bic_s, f.bic_linear = v.bic_l, f.bic_constant = v.bic_c;
  f.rise = v.rise, f.rise_se = v.rise_se;
  if (o.resamples <= 0) return f;

  // Units per stratum, for the stratified resampling of runs.
  std::map<int, std::vector<int>> units;
  for (auto& p : obs) {
    auto& u = units[p.stratum];
    if (std::find(u.begin(), u.end(), p.unit) == u.end()) u.push_back(p.unit);
  }
  std::map<int, std::vector<std::size_t>> of_unit;
  for (std::size_t i = 0; i < obs.size(); ++i) of_unit[obs[i].unit].push_back(i);

  BootstrapSettings bs;
  bs.resamples = o.resamples, bs.seed = o.seed, bs.threads = o.threads;
  auto draws = bootstrap(bs, [&](int, std::mt19937_64& rng) -> std::optional<std::vector<double>> {
    std::vector<Obs> r;
    for (auto& [stratum, us] : units) {
      std::uniform_int_distribution<std::size_t> pick(0, us.size() - 1);
      for (std::size_t k = 0; k < us.size(); ++k)
        for (std::size_t i : of_unit[us[pick(rng)]]) {
          Obs p = obs[i];
          if (o.rate && p.n > 0) {
            const auto items = static_cast<long long>(std::llround(p.n));
            std::binomial_distribution<long long> correct(items, std::clamp(p.y, 0.0, 1.0));
            p.y = static_cast<double>(correct(rng)) / static_cast<double>(items);
          }
          r.push_back(p);
        }
    }
    std::set<double> lv;
    for (auto& p : r) lv.insert(p.x);
    if (lv.size() < 4) return std::nullopt;
    double rss = 0;
    const Sigmoid s = solve_from(r, bounds_of(r, o), starts_for(r, b, &f.best, 3, {3, 30}), &rss, nullptr);
    const auto jv = judge(r, s, rss, o);
    return std::vector<double>{s.left, s.right, s.k, s.m, jv.transition ? 1.0 : 0.0};
  });
  f.resamples = static_cast<int>(draws.values.size());
  f.failed = draws.failed;
  if (draws.values.empty()) return f;
  double share = 0;
  for (auto& d : draws.values) {
    share += d[4];
    f.draws.push_back({d[0], d[1], d[2], d[3]});
  }
  f.transition_share = share / static_cast<double>(draws.values.size());
  auto m = percentile_interval(column(draws.values, 3));
  f.threshold = {std::pow(10.0, m.lo), std::pow(10.0, m.hi)};
  f.k = percentile_interval(column(draws.values, 2));
  f.left = percentile_interval(column(draws.values, 0));
  f.right = percentile_interval(column(draws.values, 1));
  return f;
}

}  // namespace scalelab::fit::emergence
