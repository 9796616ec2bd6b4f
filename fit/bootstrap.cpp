#include "fit/bootstrap.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <mutex>

#include "common/error.h"
#include "fit/solver.h"

namespace scalelab::fit {

namespace {
std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}
}  // namespace

std::mt19937_64 resample_rng(std::uint64_t seed, int index) {
  return std::mt19937_64(splitmix64(splitmix64(seed) ^ static_cast<std::uint64_t>(index)));
}

std::vector<double> resample_weights(std::size_t n, std::mt19937_64& rng) {
  std::vector<double> w(n, 0.0);
  if (n == 0) return w;
  std::uniform_int_distribution<std::size_t> pick(0, n - 1);
  for (std::size_t i = 0; i < n; ++i) w[pick(rng)] += 1;
  return w;
}

std::vector<double> resample_weights_grouped(const std::vector<int>& group, std::mt19937_64& rng) {
  std::vector<double> w(group.size(), 0.0);
  int groups = group.empty() ? 0 : *std::max_element(group.begin(), group.end()) + 1;
  for (int g = 0; g < groups; ++g) {
    std::vector<std::size_t> members;
    for (std::size_t i = 0; i < group.size(); ++i)
      if (group[i] == g) members.push_back(i);
    if (members.empty()) continue;
    std::uniform_int_distribution<std::size_t> pick(0, members.size() - 1);
    for (std::size_t k = 0; k < members.size(); ++k) w[members[pick(rng)]] += 1;
  }
  return w;
}

Draws bootstrap(const BootstrapSettings& s,
                const std::function<std::optional<std::vector<double>>(int, std::mt19937_64&)>& fn) {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::optional<std::vector<double>>> out(std::max(0, s.resamples));
  std::vector<std::string> why(out.size());
  detail::parallel_for(s.resamples, s.threads, [&](int i, int) {
    auto rng = resample_rng(s.seed, i);
    try {
      out[i] = fn(i, rng);
      if (out[i])
        for (double v : *out[i])
          if (!std::isfinite(v)) {
            out[i].reset();
            why[i] = "non-finite estimate";
            break;
          }
    } catch (const UserError& e) {
      why[i] = e.what();
    }
  });
  Draws d;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out[i]) {
      d.values.push_back(std::move(*out[i]));
    } else {
      ++d.failed;
      if (d.failures.size() < 3 && !why[i].empty()) d.failures.push_back(why[i]);
    }
  }
  d.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return d;
}

int bootstrap_grid_starts(Law law, const BootstrapSettings& bs) {
  return law == Law::chinchilla ? bs.grid_starts : std::min(bs.grid_starts, 4);
}

Draws bootstrap_law(Law law, const std::vector<Point>& pts, const ParamFit& best, const SolveSettings& solve,
                    const BootstrapSettings& bs, const std::vector<double>& base) {
  const auto grid = default_grid(law).points();
  SolveSettings inner = solve;
  inner.threads = 1;  // parallel over resamples instead
  std::vector<char> grid_won(std::max(0, bs.resamples), 0);
  auto d = bootstrap(bs, [&](int i, std::mt19937_64& rng) -> std::optional<std::vector<double>> {
    auto w = resample_weights(pts.size(), rng);
    for (std::size_t k = 0; k < base.size() && k < w.size(); ++k) w[k] *= base[k];
    std::vector<std::vector<double>> starts{best.x};
    std::vector<std::size_t> idx(grid.size());
    for (std::size_t k = 0; k < idx.size(); ++k) idx[k] = k;
    const int want = bootstrap_grid_starts(law, bs);
    const std::size_t take = std::min<std::size_t>(std::max(0, want), idx.size());
    for (std::size_t k = 0; k < take; ++k) {  // partial Fisher-Yates: distinct grid starts
      std::uniform_int_distribution<std::size_t> pick(k, idx.size() - 1);
      std::swap(idx[k], idx[pick(rng)]);
      starts.push_back(grid[idx[k]]);
    }
    auto f = fit_law(law, pts, inner, w, starts);
    grid_won[i] = !(f.conv.first_start_gap <= 1e-6);  // a grid start beat the warm start materially
    return f.p;
  });
  for (char c : grid_won) d.grid_start_won += c;
  return d;
}

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const auto hi = std::min(lo + 1, v.size() - 1);
  const double frac = pos - static_cast<double>(lo);
  if (frac == 0 || v[lo] == v[hi]) return v[lo];
  return v[lo] + (v[hi] - v[lo]) * frac;
}

Interval percentile_interval(const std::vector<double>& v, double level) {
  const double tail = (1 - level) / 2;
  return {percentile(v, tail), percentile(v, 1 - tail)};
}

std::vector<double> column(const std::vector<std::vector<double>>& m, std::size_t k) {
  std::vector<double> c;
  c.reserve(m.size());
  for (auto& r : m) c.push_back(r[k]);
  return c;
}

}  // namespace scalelab::fit
