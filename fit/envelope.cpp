// Approach 1: the lower envelope of smoothed training curves. At log-spaced
// FLOP values, the run with the lowest smoothed loss gives N_opt(C) and D_opt(C).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "common/error.h"
#include "fit/approaches.h"

namespace scalelab::fit {

std::vector<double> smooth(const std::vector<double>& y, int h) {
  const int n = static_cast<int>(y.size());
  std::vector<double> prefix(n + 1, 0.0), out(n);
  for (int i = 0; i < n; ++i) prefix[i + 1] = prefix[i] + y[i];
  for (int i = 0; i < n; ++i) {
    // The window shrinks symmetrically at the ends: a one-sided window would
    // pull a curve's steep start down and hand the envelope to large models.
    const int k = std::min({h, i, n - 1 - i});
    const int lo = i - k, hi = i + k;
    out[i] = (prefix[hi + 1] - prefix[lo]) / (hi - lo + 1);
  }
  return out;
}

EnvelopeFit fit_envelope(const std::vector<Curve>& curves, const EnvelopeOptions& opt,
                         const std::vector<double>& weights, bool fit_frontier) {
  struct Prepared {
    const Curve* c;
    std::vector<double> lc, l;  // ln C, smoothed loss
  };
  std::vector<Prepared> runs;
  for (std::size_t i = 0; i < curves.size(); ++i) {
    if (!weights.empty() && weights[i] <= 0) continue;
    const Curve& c = curves[i];
    if (c.tokens.size() != c.loss.size()) user_error("run {}: tokens and losses differ in length", c.id);
    if (!(c.N > 0 && c.flops_per_token > 0)) user_error("run {}: N and FLOPs per token must be positive", c.id);
    Prepared p{&c, {}, {}};
    std::vector<double> loss;
    for (std::size_t k = 0; k < c.tokens.size(); ++k) {
      if (!(c.tokens[k] > 0) || !(c.loss[k] > 0) || !std::isfinite(c.loss[k])) continue;
      if (!p.lc.empty() && std::log(c.tokens[k] * c.flops_per_token) <= p.lc.back()) continue;
      p.lc.push_back(std::log(c.tokens[k] * c.flops_per_token));
      loss.push_back(c.loss[k]);
    }
    if (p.lc.size() < 2) continue;
    int h = static_cast<int>(opt.smooth_frac * static_cast<double>(loss.size()));
    p.l = smooth(loss, h);
    runs.push_back(std::move(p));
  }
  if (runs.size() < 2) user_error("Approach 1 needs training curves from at least 2 runs, got {}", runs.size());
  double lo = INFINITY, hi = -INFINITY, nmin = INFINITY, nmax = 0;
  for (auto& r : runs) {
    lo = std::min(lo, r.lc.front()), hi = std::max(hi, r.lc.back());
    nmin = std::min(nmin, r.c->N), nmax = std::max(nmax, r.c->N);
  }
  EnvelopeFit out;
  std::set<std::string> winners;
  const int m = std::max(2, opt.points);
  for (int j = 0; j < m; ++j) {
    const double x = lo + (hi - lo) * j / (m - 1);
    const Prepared* best = nullptr;
    double best_l = INFINITY;
    int spanning = 0;
    for (auto& r : runs) {
      if (x < r.lc.front() || x > r.lc.back()) continue;
      ++spanning;
      auto it = std::lower_bound(r.lc.begin(), r.lc.end(), x);
      std::size_t k = static_cast<std::size_t>(it - r.lc.begin());
      double l = k == 0 ? r.l[0] : r.l[k - 1] + (r.l[k] - r.l[k - 1]) * (x - r.lc[k - 1]) / (r.lc[k] - r.lc[k - 1]);
      if (l < best_l) best_l = l, best = &r;
    }
    if (spanning < 2 || !best) continue;  // an envelope of one curve says nothing
    const double C = std::exp(x);
    // Where the smallest or largest size is lowest, the optimum may lie beyond
    // the sizes trained (as an unbracketed IsoFLOP budget): keep, but do not fit.
    const bool edge = best->c->N <= nmin || best->c->N >= nmax;
    out.points.push_back({C, best->c->N, C / best->c->flops_per_token, best_l, best->c->id, edge});
    out.edge_points += edge;
    if (!edge) winners.insert(best->c->id);
  }
  out.winners = static_cast<int>(winners.size());
  if (out.winners < 2)
    user_error("Approach 1: fewer than 2 runs other than the smallest and largest size lie on the envelope ({}); "
               "it cannot give N_opt(C). Train more sizes between them",
               winners.empty() ? "none" : *winners.begin());
  std::vector<double> c, n, d;
  for (auto& p : out.points)
    if (!p.edge) c.push_back(p.C), n.push_back(p.N), d.push_back(p.D);
  out.n_opt = fit_log_line(c, n);
  out.d_opt = fit_log_line(c, d);
  if (out.winners < 3) out.warnings.push_back("only 2 runs form the envelope: N_opt(C) rests on one crossing");
  if (fit_frontier && c.size() >= 5) {
    std::vector<Point> fp;
    for (auto& p : out.points)
      if (!p.edge) fp.push_back({p.N, p.D, p.C, p.L, p.id});
    SolveSettings s;
    s.threads = 1;
    out.frontier = fit_law(Law::power_c, fp, s).p;
  }
  return out;
}

}  // namespace scalelab::fit
