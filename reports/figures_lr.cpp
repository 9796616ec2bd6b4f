// Figure 7: final loss against learning rate, one line per (N, D) of a sweep's
// LR axis: the figure of the μP paper (Yang et al. 2022, Fig. 1) when the
// lines are widths, and the data behind `scalelab fit --law lr` in any case.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "common/table.h"
#include "fit/lr_rule.h"
#include "reports/figures.h"

namespace scalelab::reports {
namespace {

std::string scan_title(const fit::LrScan& s, bool several_d) {
  std::string t = fmt::format("{} (N {})", s.shape, si(s.N));
  if (several_d) t += fmt::format(", D {}", si(s.D));
  return t;
}

}  // namespace

std::optional<Figure> lr_figure(FigureContext& cx) {
  std::vector<const fit::LrScan*> scans;
  for (auto& s : cx.data.lr_scans)
    if (s.trials.size() >= 3) scans.push_back(&s);
  if (scans.empty()) return std::nullopt;  // no LR axis: nothing to say
  std::set<double> ds;
  for (auto* s : scans) ds.insert(s->D);
  const bool several_d = ds.size() > 1;
  Blocks b;
  LogExtent lr;
  double llo = INFINITY, lhi = -INFINITY;
  b.block("scans", "one line block per scan (N, D); columns: lr mean_final_loss N");
  for (auto* s : scans) {
    b.gap();
    for (auto& t : s->trials) {
      b.row({t.lr, t.mean(), s->N});
      lr.add(t.lr);
      llo = std::min(llo, t.mean()), lhi = std::max(lhi, t.mean());
    }
  }
  b.block("best", "each scan's best LR (parabola in ln lr); columns: lr_opt loss N bracketed");
  int unbracketed = 0;
  for (auto* s : scans) {
    const auto best = fit::best_lr(*s);
    unbracketed += !best.bracketed;
    double loss = INFINITY;
    for (auto& t : s->trials) loss = std::min(loss, t.mean());
    b.row({best.lr_opt, loss, s->N, best.bracketed ? 1.0 : 0.0});
  }
  // Diverged or barely trained runs reach far above the rest: clip the view near the minima.
  const double top = std::min(lhi, llo + 3 * (std::max(0.05, 0.25 * llo)));
  const double pad = 0.05 * (top - llo);
  const std::string file = "lr.dat";
  std::string p;
  p += "set xlabel 'learning rate (peak)'\n";
  p += "set ylabel 'final loss (nats/token)'\n";
  p += cx.axis("x", lr.lo / 1.3, lr.hi * 1.3);
  p += fmt::format("set yrange [{}:{}]\n", num(llo - pad), num(top + pad));
  LogExtent n;
  for (auto* s : scans) n.add(s->N);
  p += cx.colour_scale(cx.data.n_label, n.lo, n.hi * (n.hi > n.lo * 1.01 ? 1 : 2));
  p += cx.key("outside top center horizontal");
  PlotLayers layers;
  for (std::size_t i = 0; i < scans.size(); ++i)
    // `palette cb N`, not `palette`: the legend's sample then has the line's colour.
    layers.add(fmt::format("{} every :::{}::{} using 1:2 with linespoints lw 1.6*LW pt 7 ps PS lc palette cb {} title {}",
                           Blocks::ref(file, "scans"), i, i, num(scans[i]->N), sq(scan_title(*scans[i], several_d))));
  layers.add(Blocks::ref(file, "best") + " using 1:2:3 with points pt 13 ps 2.2*PS lc palette notitle");
  layers.add("'' index '[best]' using 1:($4 > 0 ? $2 : 1/0) with points pt 12 ps 2.2*PS lc rgb '#222222' "
             "title 'best LR (parabola in ln lr)'");
  if (unbracketed)
    layers.add(fmt::format("'' index '[best]' using 1:($4 > 0 ? 1/0 : $2) with points pt 12 ps 2.2*PS lc rgb '{}' "
                           "title 'best LR at the edge of the grid'",
                           Style::holdout));
  p += layers.items + "\n";
  Figure f;
  f.name = "lr";
  f.title = "Loss against learning rate";
  std::string rule;
  if (cx.data.lr_fit) {
    auto& r = *cx.data.lr_fit;
    const auto *c = fit::find(r.params, "c"), *k = fit::find(r.params, "k");
    if (c && k) rule = fmt::format(" The stored learning-rate rule (fit {}) is lr* = {:.3g} N^-{:.3g}.", r.id, c->value, k->value);
  }
  f.caption = fmt::format(
      "Final loss against the peak learning rate, one line per model size{} (colour: N), and each line's best "
      "LR from a parabola in ln lr through its lowest point and their neighbours (diamond).{}{}",
      several_d ? " and token budget" : "",
      unbracketed ? fmt::format(" {} line(s) have their lowest loss at an end of the LR grid (red): extend axes.lr "
                                "there.",
                                unbracketed)
                  : "",
      rule);
  f.data = b.str();
  f.panels = {p};
  f.panel_titles = {"final loss vs learning rate"};
  return f;
}

}  // namespace scalelab::reports
