// Over scale: the discrete metric's threshold, the mirage diagnostics (shape
// scores, a power law through each continuous metric, the composition p^L)
// and the larger models' metric predicted from the smaller ones.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <set>

#include "fit/emergence_detail.h"

namespace scalelab::fit::emergence::detail {

namespace {

const std::vector<std::string> kContinuous = {"token_logprob", "seq_logprob", "edit_distance", "token_acc",
                                              "segment_loss"};

// ---- compute: small numeric pieces

// The first x (log grid over [lo, hi]) where f crosses `level`, or NaN.
double crossing(const std::function<double(double)>& f, double level, double lo, double hi) {
  const int n = 400;
  double px = lo, pv = f(lo) - level;
  for (int i = 1; i <= n; ++i) {
    const double x = lo * std::pow(hi / lo, static_cast<double>(i) / n), v = f(x) - level;
    if (std::isfinite(pv) && std::isfinite(v) && (pv <= 0) != (v <= 0)) {
      double a = std::log(px), b = std::log(x);
      for (int k = 0; k < 60; ++k) {
        const double c = (a + b) / 2;
        ((f(std::exp(a)) - level <= 0) == (f(std::exp(c)) - level <= 0) ? a : b) = c;
      }
      return std::exp((a + b) / 2);
    }
    px = x, pv = v;
  }
  return NAN;
}

double r2_of(const std::vector<double>& y, const std::vector<double>& f) {
  double mean = 0;
  for (double v : y) mean += v;
  mean /= static_cast<double>(y.size());
  double ss = 0, sr = 0;
  for (std::size_t i = 0; i < y.size(); ++i) ss += (y[i] - mean) * (y[i] - mean), sr += (y[i] - f[i]) * (y[i] - f[i]);
  return ss > 0 ? 1 - sr / ss : NAN;
}

Agreement agreement(const std::vector<double>& y, const std::vector<double>& f) {
  double worst = 0;
  for (std::size_t i = 0; i < y.size(); ++i) worst = std::max(worst, std::fabs(y[i] - f[i]));
  const double r2 = r2_of(y, f);
  return {std::isfinite(r2) ? r2 : NAN, worst};
}

// p^L from a per-token value of `metric`: a log-probability, else an accuracy.
double compose(const std::string& metric, double v, double L) {
  return metric == "token_logprob" ? std::exp(L * v) : std::pow(std::clamp(v, 0.0, 1.0), L);
}

// A run's own composition p_token^L: p from the token log-probability when
// there is one (exp of the mean per-token log-probability), else token accuracy.
std::optional<double> composed(const RunRow& r, std::string* source) {
  auto L = r.m.find("answer_len");
  if (L == r.m.end() || !(L->second.first > 0)) return std::nullopt;
  for (const char* metric : {"token_logprob", "token_acc"})
    if (auto v = r.m.find(metric); v != r.m.end()) {
      *source = metric == std::string("token_logprob") ? "exp(token_logprob)^answer_len" : "token_acc^answer_len";
      return compose(metric, v->second.first, L->second.first);
    }
  return std::nullopt;
}

// The per-token metric the smooth composition is built from: the one with a power law.
std::string token_metric(const OverScale& o) {
  if (o.trend("token_logprob")) return "token_logprob";
  if (o.trend("token_acc")) return "token_acc";
  return "";
}

// ---- data: the discrete metric, shape scores and power laws

// Every run's discrete value; each run is a bootstrap unit, each scale a stratum.
std::vector<Obs> observations(const Request& q, const std::vector<RunRow>& rows) {
  std::map<double, int> level_of;
  for (auto& r : rows) level_of[r.x] = 0;
  int li = 0;
  for (auto& [x, i] : level_of) i = li++;
  std::vector<Obs> obs;
  for (std::size_t i = 0; i < rows.size(); ++i)
    if (auto it = rows[i].m.find(q.metric); it != rows[i].m.end())
      obs.push_back({rows[i].x, it->second.first, is_rate(q.metric) ? it->second.second : 0.0, static_cast<int>(i),
                     level_of[rows[i].x]});
  return obs;
}

void shapes_and_trends(const Request& q, const std::vector<RunRow>& rows, const std::vector<Obs>& obs, OverScale& o) {
  std::vector<double> xs, ys;
  for (auto& p : obs) xs.push_back(p.x), ys.push_back(p.y);
  o.shape_scores.push_back({q.metric, shape_scores(xs, ys)});
  for (auto& metric : kContinuous) {
    if (metric == q.metric) continue;
    std::vector<double> cx, cy;
    std::vector<XY> pts;
    for (auto& r : rows)
      if (auto it = r.m.find(metric); it != r.m.end() && std::isfinite(it->second.first))
        cx.push_back(r.x), cy.push_back(it->second.first), pts.push_back({r.x, it->second.first});
    if (cx.empty()) continue;
    o.shape_scores.push_back({metric, shape_scores(cx, cy)});
    if (auto t = fit_trend(metric, cx, cy)) o.continuous.push_back({*t, pts});
  }
}

// ---- mirage: does the smooth per-token trend explain the jump?

std::string mirage_verdict(const Request& q, bool transition, const Composition::Smooth& s, const std::string& tm) {
  if (!transition) return "no transition in the discrete metric, so no jump to explain";
  if (s.explained)
    return fmt::format("the jump is explained by the smooth {} trend (R^2 {:.2f} of the composed prediction against "
                       "{}): a mirage of the metric",
                       tm, s.agreement.r2, q.metric);
  return fmt::format("the smooth {} trend does not explain the jump (R^2 {:.2f} of the composed prediction against {})",
                     tm, s.agreement.r2, q.metric);
}

Mirage mirage(const Request& q, const std::vector<RunRow>& rows, const OverScale& o) {
  const std::string tm = token_metric(o);
  std::vector<double> obs_y, per_run, smooth;
  std::string source;
  for (auto& r : rows) {
    auto it = r.m.find(q.metric);
    auto c = composed(r, &source);  // before the check: the release named the last run's composition
    if (it == r.m.end() || !c) continue;
    obs_y.push_back(it->second.first);
    per_run.push_back(*c);
    if (!tm.empty()) smooth.push_back(compose(tm, o.trend(tm)->at(r.x), r.m.at("answer_len").first));
  }
  Mirage m;
  if (obs_y.size() < 2) {
    m.verdict = "no answer_len with token_logprob or token_acc: the composition p^L cannot be formed";
    return m;
  }
  m.composition = Composition{source, agreement(obs_y, per_run), std::nullopt};
  if (smooth.size() != obs_y.size()) {
    m.verdict = "no continuous per-token metric to compose from";
    return m;
  }
  const Agreement a = agreement(obs_y, smooth);
  const Composition::Smooth s{a, tm + " power law", std::isfinite(a.r2) && a.r2 >= 0.8};
  m.composition->smooth = s;
  m.verdict = mirage_verdict(q, o.threshold.transition, s, tm);
  return m;
}

// ---- prediction from the small models

// What every prediction method needs: the runs split at `below`, the level
// whose crossing is predicted, and the observed threshold to compare with.
struct Ladder {
  const Request& q;
  const std::vector<RunRow>& rows;
  std::vector<const RunRow*> small, large;
  double lo = INFINITY, hi = 0, level = 0;
  std::optional<double> observed;
};

Method predict(const Ladder& d, const std::string& name, const std::function<double(double)>& f, std::string how) {
  Method m;
  m.name = name;
  m.how = std::move(how);
  std::vector<double> oy, py;
  for (auto* r : d.large)
    if (auto it = r->m.find(d.q.metric); it != r->m.end()) oy.push_back(it->second.first), py.push_back(f(r->x));
  m.predicted_crossing = crossing(f, d.level, d.lo / 100, d.hi * 100);
  if (std::isfinite(m.predicted_crossing) && d.observed) m.error_decades = std::log10(m.predicted_crossing / *d.observed);
  if (!oy.empty()) m.large_models = agreement(oy, py);
  for (int i = 0; i <= 60; ++i) {
    const double x = d.lo / 2 * std::pow(d.hi * 2 / (d.lo / 2), i / 60.0);
    m.curve.push_back({x, f(x)});
  }
  return m;
}

// OLMo's two-step ladder: a sigmoid from the per-token loss to accuracy,
// fitted on the small models only (Bhagia et al. 2024).
Method loss_sigmoid(const Ladder& d, const PowerTrend& t) {
  std::vector<Obs> so;
  int u = 0;
  for (auto* r : d.small) {
    auto a = r->m.find(d.q.metric);
    auto lp = r->m.find("token_logprob");
    if (a != r->m.end() && lp != r->m.end() && -lp->second.first > 0)
      so.push_back({-lp->second.first, a->second.first, a->second.second, u++, 0});
  }
  std::set<double> losses;
  for (auto& p : so) losses.insert(p.x);
  if (losses.size() < 4) {
    Method m;
    m.name = "loss_sigmoid";
    m.why_not = "fewer than 4 small runs to fit the loss -> accuracy sigmoid";
    return m;
  }
  const Sigmoid sig = fit_sigmoid(so, d.q.threshold);  // bounded by the metric's chance, as the threshold fit
  double amin = 1, amax = 0;
  for (auto& p : so) amin = std::min(amin, p.y), amax = std::max(amax, p.y);
  Method m = predict(d, "loss_sigmoid", [&](double x) { return sig.at(-t.at(x)); },
                     "token_logprob power law on the small models, then a loss -> accuracy sigmoid fitted on them "
                     "(OLMo's two-step ladder)");
  m.sigmoid = sig;
  m.fitted_accuracy_range = XY{amin, amax};
  return m;
}

// The small models' per-token power law and the methods built on it, or why there is none.
std::optional<Extrapolation> extrapolate(const Ladder& d, const std::string& tm, std::string& why_not) {
  std::vector<double> sx, sy;
  for (auto* r : d.small)
    if (auto it = r->m.find(tm); it != r->m.end()) sx.push_back(r->x), sy.push_back(it->second.first);
  double L = 0;
  int nl = 0;
  for (auto& r : d.rows)
    if (auto it = r.m.find("answer_len"); it != r.m.end()) L += it->second.first, ++nl;
  const auto fitted = fit_trend(tm, sx, sy);
  if (!fitted || nl == 0) {
    why_not = nl == 0 ? "no answer_len evals for the composition" : "the small models' trend could not be fitted";
    return std::nullopt;
  }
  Extrapolation e;
  e.answer_len = L / nl;
  e.trend.metric = tm, e.trend.transform = fitted->transform, e.trend.A = fitted->A, e.trend.b = fitted->b;
  const PowerTrend& t = e.trend;
  e.methods.push_back(predict(d, "composition", [&](double x) { return compose(tm, t.at(x), e.answer_len); },
                              fmt::format("{} power law on the small models, then p^L", tm)));
  if (tm == "token_logprob") e.methods.push_back(loss_sigmoid(d, t));
  return e;
}

Prediction prediction(const Request& q, const std::vector<RunRow>& rows, const OverScale& o) {
  Ladder d{q, rows, {}, {}, INFINITY, 0, 0, std::nullopt};
  for (auto& r : rows) d.lo = std::min(d.lo, r.x), d.hi = std::max(d.hi, r.x);
  Prediction p;
  p.below = q.predict_below.value_or(std::sqrt(d.lo * d.hi));
  std::set<double> small_x;
  for (auto& r : rows) (r.x <= p.below ? d.small : d.large).push_back(&r);
  for (auto* r : d.small) small_x.insert(r->x);
  p.small_runs = static_cast<int>(d.small.size());
  p.large_runs = static_cast<int>(d.large.size());
  const auto& th = o.threshold;
  if (th.transition) d.observed = th.fit->threshold.value;
  d.level = th.transition ? (th.fit->best.left + th.fit->best.right) / 2 : (q.chance.value_or(0.0) + 1) / 2;
  p.level = d.level;
  p.observed_crossing = d.observed.value_or(NAN);
  const std::string tm = token_metric(o);
  if (tm.empty() || small_x.size() < 2 || d.large.empty())
    p.why_not = tm.empty()          ? "no token_logprob or token_acc to extrapolate"
                : d.large.empty()   ? "no runs above --predict-below to check against"
                                    : "fewer than 2 scales below --predict-below";
  else
    p.extrapolation = extrapolate(d, tm, p.why_not);
  return p;
}

}  // namespace

OverScale scale_analysis(const Request& q, const std::vector<RunRow>& rows) {
  OverScale o;
  const auto obs = observations(q, rows);
  o.threshold = try_threshold(obs, q.threshold);
  shapes_and_trends(q, rows, obs, o);
  o.mirage = mirage(q, rows, o);
  o.prediction = prediction(q, rows, o);
  return o;
}

}  // namespace scalelab::fit::emergence::detail
