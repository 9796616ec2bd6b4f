// Approach 2: for each compute budget, a parabola in ln N through the final
// losses (Ceres, weighted least squares), its vertex N*, D* = C/(k N*), then
// power laws N_opt(C), D_opt(C) through the bracketed vertices.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/error.h"
#include "common/table.h"
#include "fit/approaches.h"
#include "fit/parabola.h"
#include "fit/solver.h"

namespace scalelab::fit {

std::vector<int> cluster_budgets(const std::vector<Point>& pts, double tol) {
  std::vector<std::size_t> order(pts.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return pts[a].C < pts[b].C; });
  std::vector<int> g(pts.size(), 0);
  int cur = 0;
  for (std::size_t k = 0; k < order.size(); ++k) {
    if (k > 0 && std::log10(pts[order[k]].C / pts[order[k - 1]].C) > tol) ++cur;
    g[order[k]] = cur;
  }
  return g;
}

namespace {
std::vector<double> suggest_sizes(std::vector<double> sizes, double target, bool below) {
  std::sort(sizes.begin(), sizes.end());
  double ratio = sizes.size() > 1 ? std::pow(sizes.back() / sizes.front(), 1.0 / (sizes.size() - 1)) : 2.0;
  ratio = std::max(ratio, 1.25);
  std::vector<double> out;
  double n = below ? sizes.front() : sizes.back();
  for (int k = 0; k < 4; ++k) {
    n = below ? n / ratio : n * ratio;
    out.push_back(n);
    if (below ? n <= target / ratio : n >= target * ratio) break;
  }
  return out;
}
}  // namespace

IsoflopFit fit_isoflop(const std::vector<Point>& pts, const std::vector<int>& groups,
                       const std::vector<double>& weights, bool fit_frontier) {
  detail::quiet_ceres();
  IsoflopFit out;
  int ng = groups.empty() ? 0 : *std::max_element(groups.begin(), groups.end()) + 1;
  std::vector<double> bc, bn, bd, bl;
  for (int g = 0; g < ng; ++g) {
    std::vector<double> x, y, w, sizes, lc, k;
    for (std::size_t i = 0; i < pts.size(); ++i) {
      double wi = weights.empty() ? 1.0 : weights[i];
      if (groups[i] != g || wi <= 0) continue;
      x.push_back(std::log(pts[i].N));
      y.push_back(pts[i].L);
      w.push_back(wi);
      sizes.push_back(pts[i].N);
      lc.push_back(std::log(pts[i].C));
      k.push_back(pts[i].C / (pts[i].N * pts[i].D));
    }
    if (x.empty()) continue;
    BudgetFit b;
    b.runs = static_cast<int>(x.size());
    b.C = std::exp(std::accumulate(lc.begin(), lc.end(), 0.0) / static_cast<double>(lc.size()));
    std::sort(k.begin(), k.end());
    const double flops_per_nd = k[k.size() / 2];
    std::sort(sizes.begin(), sizes.end());
    sizes.erase(std::unique(sizes.begin(), sizes.end(), [](double a, double c) { return c <= a * (1 + 1e-6); }),
                sizes.end());
    b.n_lo = sizes.front(), b.n_hi = sizes.back();
    if (sizes.size() < 3) {
      b.note = fmt::format("budget {}: only {} distinct size(s); a parabola needs 3, skipped", si(b.C),
                           sizes.size());
      out.warnings.push_back(b.note);
      out.budgets.push_back(b);
      continue;
    }
    const double xc = 0.5 * (std::log(b.n_lo) + std::log(b.n_hi));
    const auto q = fit_parabola(x, y, w, xc);
    const auto in_lnN = q.in_x();
    b.c0 = in_lnN[0], b.c1 = in_lnN[1], b.c2 = in_lnN[2];
    b.has_minimum = q.has_minimum();
    if (!b.has_minimum) {
      b.note = fmt::format("budget {}: the losses do not curve upward over N = {}..{}, so there is no minimum; "
                           "the sweep did not bracket the optimum. Add sizes on both sides",
                           si(b.C), si(b.n_lo), si(b.n_hi));
      b.suggest = {b.n_lo / 2, b.n_hi * 2};
      out.warnings.push_back(b.note);
      out.budgets.push_back(b);
      continue;
    }
    b.n_opt = std::exp(q.vertex_x());
    b.d_opt = b.C / (flops_per_nd * b.n_opt);
    b.l_opt = q.vertex_y();
    b.bracketed = b.n_opt >= b.n_lo && b.n_opt <= b.n_hi;
    if (!b.bracketed) {
      bool below = b.n_opt < b.n_lo;
      b.suggest = suggest_sizes(sizes, b.n_opt, below);
      std::string list;
      for (double s : b.suggest) list += (list.empty() ? "" : ", ") + si(s);
      b.note = fmt::format("budget {}: the minimum (N = {}) lies {} the sizes sampled ({}..{}); the sweep did not "
                           "bracket the optimum. Add sizes {}",
                           si(b.C), si(b.n_opt), below ? "below" : "above", si(b.n_lo), si(b.n_hi), list);
      out.warnings.push_back(b.note);
    } else {
      bc.push_back(b.C), bn.push_back(b.n_opt), bd.push_back(b.d_opt), bl.push_back(b.l_opt);
    }
    out.budgets.push_back(b);
  }
  out.used = static_cast<int>(bc.size());
  if (out.used < 2)
    user_error("Approach 2 needs at least 2 budgets whose minimum is bracketed by the sizes sampled, got {} "
               "(of {} budgets){}",
               out.used, ng, out.warnings.empty() ? "" : ": " + out.warnings.front());
  if (out.used == 2) out.warnings.push_back("only 2 budgets: the power laws pass exactly through them");
  out.n_opt = fit_log_line(bc, bn);
  out.d_opt = fit_log_line(bc, bd);
  if (fit_frontier && bc.size() >= 5) {
    std::vector<Point> fp;
    for (std::size_t i = 0; i < bc.size(); ++i) fp.push_back({0, 0, bc[i], bl[i], fmt::format("budget {}", si(bc[i]))});
    SolveSettings s;
    s.threads = 1;
    out.frontier = fit_law(Law::power_c, fp, s).p;
  }
  return out;
}

}  // namespace scalelab::fit
