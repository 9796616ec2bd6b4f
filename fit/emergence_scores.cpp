// The mirage diagnostics: BIG-bench's breakthroughness and linearity, and a
// smooth power law through each continuous metric.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "common/error.h"
#include "fit/emergence.h"
#include "fit/laws.h"

namespace scalelab::fit::emergence {

Shape shape_scores(const std::vector<double>& x, const std::vector<double>& y) {
  std::map<double, std::pair<double, int>> at;
  for (std::size_t i = 0; i < x.size() && i < y.size(); ++i)
    if (std::isfinite(y[i])) at[x[i]].first += y[i], ++at[x[i]].second;
  std::vector<double> ys;  // sorted by scale
  for (auto& [xv, s] : at) ys.push_back(s.first / s.second);
  Shape r;
  r.points = static_cast<int>(ys.size());
  if (ys.size() < 2) return r;
  const auto [mn, mx] = std::minmax_element(ys.begin(), ys.end());
  // Srivastava et al. 2022 (BIG-bench), section 3.4 and appendix B, reused by
  // Schaeffer et al. 2023 (section 3) as the "emergence score":
  //   I_y = sign(argmax_i y_i - argmin_i y_i) (max_i y_i - min_i y_i),
  // positive when the best scale is larger than the worst.
  const double sign = (mx - ys.begin()) - (mn - ys.begin()) >= 0 ? 1.0 : -1.0;
  r.I = sign * (*mx - *mn);
  std::vector<double> d2, d;
  for (std::size_t i = 1; i < ys.size(); ++i) d.push_back(ys[i] - ys[i - 1]), d2.push_back(d.back() * d.back());
  // Breakthroughness (BIG-bench appendix B): B = I_y / sqrt(median_i (y_i - y_{i-1})^2).
  // Large when most steps are flat and a few carry the whole change. The
  // median uses numpy's convention (mean of the two middle values).
  std::vector<double> s = d2;
  std::sort(s.begin(), s.end());
  const std::size_t k = s.size();
  const double med = k % 2 ? s[k / 2] : (s[k / 2 - 1] + s[k / 2]) / 2;
  r.breakthroughness = med > 0 ? r.I / std::sqrt(med) : (r.I == 0 ? 0.0 : std::copysign(INFINITY, r.I));
  // Linearity (Srivastava et al. 2022, "Beyond the Imitation Game", appendix on
  // linearity and breakthroughness): L = I_y / RootMeanSquare(y_i - y_{i-1}),
  // the companion of B = I_y / RootMedianSquare(...). Over n steps a straight
  // rise scores n, a single jump sqrt(n): high when progress is spread evenly.
  double sum = 0;
  for (double v : d2) sum += v;
  const double mean = d2.empty() ? 0.0 : sum / static_cast<double>(d2.size());
  r.linearity = mean > 0 ? r.I / std::sqrt(mean) : 0.0;
  return r;
}

namespace {
// How a continuous metric becomes a positive quantity that falls with scale.
std::string transform_of(const std::string& metric) {
  if (metric.find("logprob") != std::string::npos) return "-y";  // nats, <= 0
  if (metric.find("acc") != std::string::npos) return "1-y";     // an accuracy: its error rate
  return "y";  // losses and distances
}
double to_t(const std::string& tr, double y) { return tr == "-y" ? -y : tr == "1-y" ? 1 - y : y; }
double from_t(const std::string& tr, double t) { return tr == "-y" ? -t : tr == "1-y" ? 1 - t : t; }
// The smallest value kept in log space: a metric at exactly 0 (perfect token
// accuracy, zero edit distance) is 0 only to the resolution of its test set.
constexpr double kTinyT = 1e-4;
}  // namespace

double PowerTrend::at(double x) const { return from_t(transform, A * std::pow(x, b)); }

std::optional<PowerTrend> fit_trend(const std::string& metric, const std::vector<double>& x,
                                    const std::vector<double>& y) {
  std::set<double> distinct(x.begin(), x.end());
  if (distinct.size() < 2 || x.size() != y.size()) return std::nullopt;
  PowerTrend p;
  p.metric = metric;
  p.transform = transform_of(metric);
  std::vector<double> t;
  for (double v : y) t.push_back(std::max(to_t(p.transform, v), kTinyT));
  const auto line = fit_log_line(x, t);
  p.A = line.k, p.b = line.exponent;
  double mean = 0, mean_log = 0;
  for (std::size_t i = 0; i < y.size(); ++i) mean += y[i], mean_log += std::log(t[i]);
  mean /= static_cast<double>(y.size()), mean_log /= static_cast<double>(y.size());
  double ss = 0, ss_res = 0, ss_log = 0, ss_res_log = 0, worst = 0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    const double f = p.at(x[i]);
    ss += (y[i] - mean) * (y[i] - mean), ss_res += (y[i] - f) * (y[i] - f);
    const double lt = std::log(t[i]), lf = std::log(p.A) + p.b * std::log(x[i]);
    ss_log += (lt - mean_log) * (lt - mean_log), ss_res_log += (lt - lf) * (lt - lf);
    worst = std::max(worst, std::fabs(y[i] - f));
    p.residuals.push_back({x[i], y[i] - f});
  }
  p.r2 = ss > 0 ? 1 - ss_res / ss : NAN;
  p.r2_log = ss_log > 0 ? 1 - ss_res_log / ss_log : NAN;
  p.max_abs_residual = worst;
  return p;
}

}  // namespace scalelab::fit::emergence
