// Figure 2: IsoFLOP profiles. Final loss against N for each compute budget,
// the parabola in ln N that Approach 2 fitted, and its minimum.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "common/table.h"
#include "fit/approaches.h"
#include "reports/figures.h"

namespace scalelab::reports {

std::optional<Figure> isoflop_figure(FigureContext& cx) {
  const FitView* a2 = nullptr;
  for (auto& f : cx.data.fits)
    if (f.approach == "2" && !f.points.empty()) a2 = &f;
  const std::vector<fit::Point>& pts = a2 ? a2->points : cx.data.points;
  if (pts.size() < 3) {
    cx.notes.push_back(
        fmt::format("No IsoFLOP figure: {} finished run(s) with a final loss; it needs at least 3.", pts.size()));
    return std::nullopt;
  }
  const fit::IsoflopPart* iso = a2 ? a2->rec.isoflop() : nullptr;
  const double tol = iso ? iso->tolerance_decades : 0.1;
  auto groups = fit::cluster_budgets(pts, tol);
  std::map<int, std::vector<const fit::Point*>> by_budget;
  for (std::size_t i = 0; i < pts.size(); ++i) by_budget[groups[i]].push_back(&pts[i]);
  int profiles = 0;
  for (auto& [g, v] : by_budget) {
    std::vector<double> n;
    for (auto* p : v) n.push_back(p->N);
    std::sort(n.begin(), n.end());
    profiles += std::unique(n.begin(), n.end()) - n.begin() >= 3;
  }
  if (profiles == 0) {
    cx.notes.push_back("No IsoFLOP figure: no compute budget has 3 or more model sizes (is this an IsoFLOP sweep?).");
    return std::nullopt;
  }

  Blocks b;
  double nlo = INFINITY, nhi = 0, llo = INFINITY, lhi = 0, clo = INFINITY, chi = 0;
  b.block("runs", "final loss per run; columns: N loss C");
  for (auto& p : pts) {
    b.row({p.N, p.L, p.C});
    nlo = std::min(nlo, p.N), nhi = std::max(nhi, p.N), llo = std::min(llo, p.L), lhi = std::max(lhi, p.L);
    clo = std::min(clo, p.C), chi = std::max(chi, p.C);
  }
  int unbracketed = 0;
  if (iso) {
    b.block("parabolas",
            "Approach 2's fitted L = c0 + c1 ln N + c2 (ln N)^2, one line block per budget; columns: N loss C");
    for (auto& bf : iso->budgets) {
      const auto& q = bf.parabola;
      if (q.size() != 3 || !(bf.n_lo > 0)) continue;
      b.gap();
      for (double n : log_grid(bf.n_lo / 1.4, bf.n_hi * 1.4, 60)) {
        const double x = std::log(n), l = q[0] + q[1] * x + q[2] * x * x;
        b.row({n, l, bf.C});
      }
    }
    b.block("minima", "each budget's vertex; columns: N_opt L_opt C bracketed (1 = inside the sizes sampled)");
    for (auto& bf : iso->budgets) {
      if (!bf.has_minimum) continue;
      unbracketed += !bf.bracketed;
      b.row({bf.n_opt, bf.l_opt, bf.C, bf.bracketed ? 1.0 : 0.0});
      if (bf.bracketed) llo = std::min(llo, bf.l_opt);
    }
  } else {
    cx.notes.push_back(
        fmt::format("The IsoFLOP figure shows runs only: no Approach 2 fit is stored for this scope ({} --approach 2).",
                    cx.fit_command()));
  }
  if (!(chi > clo * 1.01)) clo /= 2, chi *= 2;
  clo /= 1.15, chi *= 1.15;  // the extreme budgets' tics inside the box
  const double pad = 0.06 * (lhi - llo);
  std::string p;
  p += "set xlabel " + sq(cx.data.n_label) + "\n";
  p += "set ylabel " + sq("final loss (" + cx.data.loss_unit + ")") + "\n";
  p += cx.axis("x", nlo / 1.5, nhi * 1.5);
  p += fmt::format("set yrange [{}:{}]\n", num(llo - pad), num(lhi + 2 * pad));
  // Few budgets: the colour box labels each one.
  std::vector<double> budget_c;
  for (auto& [g, v] : by_budget) {
    double lc = 0;
    for (auto* q : v) lc += std::log(q->C);
    budget_c.push_back(std::exp(lc / static_cast<double>(v.size())));
  }
  p += cx.colour_scale("compute budget C (FLOPs)", clo, chi, budget_c.size() <= 8 ? budget_c : std::vector<double>{});
  p += cx.key("outside top center horizontal");
  const std::string file = "isoflop.dat";
  std::string plot = "plot ";
  if (a2) {
    plot += Blocks::ref(file, "parabolas") + " using 1:2:3 with lines lw 1.6*LW lc palette, \\\n  ";
    plot += "keyentry with lines lw 1.6*LW lc rgb '#444444' title 'fitted parabola', \\\n  ";
  }
  plot += Blocks::ref(file, "runs") + " using 1:2:3 with points pt 7 ps 1.1*PS lc palette, \\\n  ";
  plot += "keyentry with points pt 7 ps 1.1*PS lc rgb '#444444' title 'run (final loss)'";
  if (a2) {
    plot += ", \\\n  " + Blocks::ref(file, "minima") +
            " using 1:($4 > 0 ? $2 : 1/0):3 with points pt 13 ps 2.4*PS lc palette";
    plot += ", \\\n  keyentry with points pt 13 ps 2.4*PS lc rgb '#444444' title 'minimum of the parabola'";
    plot += ", \\\n  '' index '[minima]' using 1:($4 > 0 ? $2 : 1/0) with points pt 12 ps 2.4*PS lc rgb '#222222'";
    if (unbracketed)
      plot += fmt::format(
          ", \\\n  '' index '[minima]' using 1:($4 > 0 ? 1/0 : $2) with points pt 12 ps 2.4*PS "
          "lc rgb '{}' title 'minimum outside the sizes sampled'",
          Style::holdout);
  }
  p += plot + "\n";
  Figure f;
  f.name = "isoflop";
  f.title = "IsoFLOP profiles";
  f.caption = a2 ? fmt::format(
                       "Final loss against model size for each compute budget (colour), with Approach 2's "
                       "parabola in ln N (fit {}) and its minimum (diamond).{}",
                       a2->id,
                       unbracketed ? fmt::format(" {} budget(s) have their minimum outside the sizes sampled "
                                                 "(red): the sweep did not bracket the optimum there.",
                                                 unbracketed)
                                   : "")
                 : "Final loss against model size for each compute budget (colour). No Approach 2 fit is stored, so "
                   "no parabolas are drawn.";
  f.data = b.str();
  f.panels = {p};
  f.panel_titles = {"IsoFLOP profiles: final loss vs N"};
  return f;
}

}  // namespace scalelab::reports
