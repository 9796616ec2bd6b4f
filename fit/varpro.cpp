// Variable projection for laws of the form L-hat = E + A g(theta_g) + B h(theta_h):
// with the exponents (theta) fixed, E, A, B >= 0 solve a linear least-squares
// problem. We search theta on the law's grid, solve that small non-negative
// problem exactly at every grid point (in relative residuals (L-hat - L)/L,
// the first-order match of the log residual), score each by the true summed
// Huber objective, and polish the best few with Ceres' Levenberg-Marquardt on
// the registry functor. Open-Athena's vpnls takes the same route.
#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>

#include "common/error.h"
#include "fit/law_defs.h"
#include "fit/solver.h"

namespace scalelab::fit::detail {

namespace {

constexpr int kPolish = 8;  // grid points polished by Ceres

// Solves the 3x3 (or smaller) non-negative least squares min ||X c - 1||_W by
// enumerating active sets: each subset's normal equations, kept if feasible.
struct Nnls {
  std::array<double, 3> c{0, 0, 0};
  double sse = INFINITY;
};

bool solve_subset(const double M[3][3], const double v[3], int mask, double out[3]) {
  int idx[3], k = 0;
  for (int j = 0; j < 3; ++j)
    if (mask & (1 << j)) idx[k++] = j;
  double a[3][4];
  for (int r = 0; r < k; ++r) {
    for (int s = 0; s < k; ++s) a[r][s] = M[idx[r]][idx[s]];
    a[r][k] = v[idx[r]];
  }
  for (int col = 0; col < k; ++col) {  // Gaussian elimination with partial pivoting
    int piv = col;
    for (int r = col + 1; r < k; ++r)
      if (std::fabs(a[r][col]) > std::fabs(a[piv][col])) piv = r;
    if (std::fabs(a[piv][col]) < 1e-300) return false;
    for (int s = 0; s <= k; ++s) std::swap(a[col][s], a[piv][s]);
    for (int r = 0; r < k; ++r) {
      if (r == col) continue;
      const double f = a[r][col] / a[col][col];
      for (int s = col; s <= k; ++s) a[r][s] -= f * a[col][s];
    }
  }
  out[0] = out[1] = out[2] = 0;
  for (int r = 0; r < k; ++r) {
    out[idx[r]] = a[r][k] / a[r][r];
    if (!(out[idx[r]] >= 0) || !std::isfinite(out[idx[r]])) return false;
  }
  return true;
}

Nnls nnls(const double M[3][3], const double v[3], double wsum, int terms) {
  Nnls best;
  const int full = (1 << (terms + 1)) - 1;
  for (int mask = 1; mask <= full; ++mask) {
    double c[3];
    if (!solve_subset(M, v, mask, c)) continue;
    double quad = 0, lin = 0;
    for (int r = 0; r < 3; ++r) {
      lin += c[r] * v[r];
      for (int s = 0; s < 3; ++s) quad += c[r] * M[r][s] * c[s];
    }
    const double sse = quad - 2 * lin + wsum;
    if (sse < best.sse) best.sse = sse, best.c = {c[0], c[1], c[2]};
  }
  return best;
}

struct Candidate {
  double huber = INFINITY;
  int g = -1, h = -1;
  std::array<double, 3> c{0, 0, 0};
};

struct Problem {
  std::vector<Features> f;
  std::vector<double> w, invL, lnL;
  std::vector<std::vector<double>> G, H;  // basis terms per grid point, per point
};

Problem prepare(const LinearForm& lf, const std::vector<Point>& pts, const std::vector<double>& w) {
  Problem pr;
  for (std::size_t i = 0; i < pts.size(); ++i) {
    const double wi = w.empty() ? 1.0 : w[i];
    if (wi <= 0) continue;
    pr.f.push_back(Features::of(pts[i]));
    pr.w.push_back(wi);
    pr.invL.push_back(1 / pts[i].L);
    pr.lnL.push_back(std::log(pts[i].L));
  }
  auto basis = [&](const std::vector<std::vector<double>>& grid, const auto& fn) {
    std::vector<std::vector<double>> out(grid.size());
    for (std::size_t k = 0; k < grid.size(); ++k)
      for (auto& f : pr.f) out[k].push_back(std::exp(fn(grid[k].data(), f)));
    return out;
  };
  pr.G = basis(lf.g_grid, lf.log_g);
  if (lf.two_terms) pr.H = basis(lf.tied ? lf.g_grid : lf.h_grid, lf.log_h);
  return pr;
}

// The exact NNLS and its Huber objective at grid point (g, h).
Candidate score(const Problem& pr, const LinearForm& lf, int g, int h, double delta) {
  const auto& G = pr.G[g];
  const double* H = lf.two_terms ? pr.H[h].data() : nullptr;
  double M[3][3] = {}, v[3] = {}, wsum = 0;
  const std::size_t n = pr.w.size();
  for (std::size_t i = 0; i < n; ++i) {
    const double u[3] = {pr.invL[i], G[i] * pr.invL[i], H ? H[i] * pr.invL[i] : 0.0}, w = pr.w[i];
    wsum += w;
    for (int r = 0; r < 3; ++r) {
      v[r] += w * u[r];
      for (int s = r; s < 3; ++s) M[r][s] += w * u[r] * u[s];
    }
  }
  for (int r = 0; r < 3; ++r)
    for (int s = 0; s < r; ++s) M[r][s] = M[s][r];
  Candidate c;
  auto sol = nnls(M, v, wsum, lf.two_terms ? 2 : 1);
  if (!std::isfinite(sol.sse)) return c;
  c.g = g, c.h = h, c.c = sol.c;
  double hub = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double lhat = sol.c[0] + sol.c[1] * G[i] + (H ? sol.c[2] * H[i] : 0.0);
    if (!(lhat > 0)) return Candidate{};
    const double r = std::log(lhat) - pr.lnL[i], a = std::fabs(r);
    hub += pr.w[i] * (a <= delta ? 0.5 * r * r : delta * (a - 0.5 * delta));
  }
  c.huber = hub;
  return c;
}

std::vector<double> coords_of(const LinearForm& lf, const Candidate& c, double floor) {
  auto ln = [&](double v) { return std::log(std::max(v, floor)); };
  const double* th = lf.two_terms ? (lf.tied ? lf.g_grid[c.g].data() : lf.h_grid[c.h].data()) : nullptr;
  return lf.coords(lf.g_grid[c.g].data(), th, ln(c.c[0]), ln(c.c[1]), ln(c.c[2]));
}

bool on_edge(const std::vector<std::vector<double>>& grid, const std::vector<double>& point) {
  for (std::size_t k = 0; k < point.size(); ++k) {
    double lo = INFINITY, hi = -INFINITY;
    for (auto& p : grid) lo = std::min(lo, p[k]), hi = std::max(hi, p[k]);
    if (point[k] <= lo || point[k] >= hi) return true;
  }
  return false;
}

}  // namespace

ParamFit varpro_fit(Law l, const std::vector<Point>& pts, const SolveSettings& s, const std::vector<double>& w) {
  quiet_ceres();
  const auto& d = def(l);
  const auto& lf = *d.linear;
  const Problem pr = prepare(lf, pts, w);
  const int ng = static_cast<int>(lf.g_grid.size());
  const int nh = !lf.two_terms || lf.tied ? 1 : static_cast<int>(lf.h_grid.size());
  // One row of the grid per task; each keeps its own best few.
  std::vector<std::vector<Candidate>> rows(ng);
  parallel_for(ng, s.threads, [&](int g, int) {
    for (int h = 0; h < nh; ++h) {
      auto c = score(pr, lf, g, lf.tied ? g : h, s.delta);
      if (std::isfinite(c.huber)) rows[g].push_back(c);
    }
    std::sort(rows[g].begin(), rows[g].end(), [](auto& a, auto& b) { return a.huber < b.huber; });
    if (rows[g].size() > kPolish) rows[g].resize(kPolish);
  });
  std::vector<Candidate> all;
  for (auto& r : rows) all.insert(all.end(), r.begin(), r.end());
  std::stable_sort(all.begin(), all.end(), [](auto& a, auto& b) { return a.huber < b.huber; });
  if (all.empty()) user_error("the {} fit found no grid point with a positive prediction everywhere: check the data",
                              law_name(l));
  if (all.size() > kPolish) all.resize(kPolish);
  double lmax = 0;
  for (auto& p : pts) lmax = std::max(lmax, p.L);
  std::vector<std::vector<double>> starts;
  for (auto& c : all) starts.push_back(coords_of(lf, c, 1e-12 * lmax));
  int threads = 1;
  auto results = multistart([&] { return make_law_lsq(l, pts, w, s); }, starts, s.threads, &threads);
  ParamFit f;
  f.law = l;
  f.conv = summarize(results, starts, nullptr, s.max_iterations);
  f.conv.solver = "varpro";
  f.conv.starts = ng * nh;
  f.conv.polished = static_cast<int>(starts.size());
  f.conv.threads = threads;
  if (f.conv.best_start < 0) {
    f.x = starts.front();  // the grid's best, unpolished
    f.conv.best_start = 0;
  } else {
    f.x = results[f.conv.best_start].x;
  }
  const Candidate& win = all[f.conv.best_start];
  f.conv.best_start_on_grid_boundary = on_edge(lf.g_grid, lf.g_grid[win.g]) ||
                                       (lf.two_terms && !lf.tied && on_edge(lf.h_grid, lf.h_grid[win.h]));
  return f;
}

}  // namespace scalelab::fit::detail
