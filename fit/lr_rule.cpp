// The learning-rate rule's estimation: the best LR per scan, per size, and
// lr*(N) = c N^-k through the sizes (fit/lr_rule.h).
#include "fit/lr_rule.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "common/table.h"
#include "fit/parabola.h"

namespace scalelab::fit {

namespace {
bool same_n(double a, double b) { return std::fabs(a - b) <= 1e-6 * std::max(a, b); }

std::string edge_note(const LrScanRecord& r, bool low) {
  return fmt::format("N = {}, D = {}: the lowest loss is at the {} learning rate tried ({:.3g}), so the best may lie "
                     "{} the grid: not bracketed, left out; extend axes.lr {}",
                     si(r.N), si(r.D), low ? "smallest" : "largest", r.grid_lr, low ? "below" : "above",
                     low ? "downwards" : "upwards");
}
}  // namespace

LrScanRecord best_lr(const LrScan& s) {
  LrScanRecord r;
  r.N = s.N, r.D = s.D, r.shape = s.shape;
  for (auto& t : s.trials) {
    r.lrs.push_back(t.lr);
    r.losses.push_back(t.mean());
    r.runs += static_cast<int>(t.losses.size());
  }
  if (r.lrs.empty()) return r;
  const auto i = static_cast<std::size_t>(std::min_element(r.losses.begin(), r.losses.end()) - r.losses.begin());
  r.grid_lr = r.lr_opt = r.lrs[i];
  if (i == 0 || i + 1 == r.lrs.size()) {
    r.note = edge_note(r, i == 0);
    return r;
  }
  r.bracketed = true;
  std::vector<double> x, y;
  for (std::size_t j = i - 1; j <= i + 1; ++j) x.push_back(std::log(r.lrs[j])), y.push_back(r.losses[j]);
  const auto q = fit_parabola(x, y, {1, 1, 1}, x[1]);
  // Three points with the lowest in the middle curve upwards unless all three tie;
  // the clamp only absorbs the solver's rounding.
  if (q.has_minimum()) r.lr_opt = std::exp(std::clamp(q.vertex_x(), x[0], x[2]));
  return r;
}

std::vector<std::vector<LrScan>> group_by_size(const std::vector<LrScan>& scans) {
  std::vector<std::vector<LrScan>> out;
  for (auto& s : scans) {
    auto at = std::find_if(out.begin(), out.end(), [&](auto& g) { return same_n(g[0].N, s.N); });
    if (at == out.end()) out.push_back({s});
    else at->push_back(s);
  }
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a[0].N < b[0].N; });
  return out;
}

LrRuleFit fit_lr_rule(const std::vector<std::vector<LrScan>>& sizes) {
  LrRuleFit f;
  std::vector<double> n, lr;
  std::string first_note;
  for (auto& group : sizes) {
    LrSizeRecord row;
    row.N = group.empty() ? 0 : group[0].N;
    double sum_log = 0;
    for (auto& scan : group) {
      auto r = best_lr(scan);
      ++row.scans;
      if (r.bracketed) ++row.bracketed, sum_log += std::log(r.lr_opt);
      else if (first_note.empty()) first_note = r.note;
      f.scans.push_back(std::move(r));
    }
    // Each size counts once however many budgets it was scanned at: the rule is a function of N alone.
    row.used = row.bracketed > 0;
    if (row.used) {
      row.lr_opt = std::exp(sum_log / row.bracketed);
      n.push_back(row.N), lr.push_back(row.lr_opt);
    }
    f.sizes.push_back(row);
  }
  f.used = static_cast<int>(n.size());
  if (f.used < 2)
    user_error("--law lr needs at least 2 sizes whose best learning rate is bracketed by axes.lr, got {} of {}{}",
               f.used, sizes.size(), first_note.empty() ? "" : ": " + first_note);
  const auto line = fit_log_line(n, lr);
  f.c = line.k, f.k = -line.exponent;
  for (std::size_t i = 0; i < n.size(); ++i) {
    const double r = std::log(lr[i]) - std::log(line.at(n[i]));
    f.rss_log += r * r;
  }
  return f;
}

}  // namespace scalelab::fit
