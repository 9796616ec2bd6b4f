// Figure 1: loss curves, one line per run coloured by model size.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "common/table.h"
#include "reports/figures.h"

namespace scalelab::reports {

std::vector<Figure> loss_curve_figures(const Curves& c, FigureContext& cx) {
  if (c.runs.empty()) {
    cx.notes.push_back("No loss curves: no run in scope has written metric rows yet.");
    return {};
  }
  double tlo = INFINITY, thi = 0, flo = INFINITY, fhi = 0, llo = INFINITY, lhi = 0, nlo = INFINITY, nhi = 0;
  Blocks b;
  b.block("curves",
          fmt::format("{} loss of {} runs, {} of {} rows (a row per log-spaced bin; training loss: the bin's mean); "
                      "columns: tokens flops loss N; one run per line block",
                      c.split, c.runs.size(), c.points_kept, c.rows_read));
  std::string body;
  for (auto& r : c.runs) {
    b.gap();
    for (std::size_t i = 0; i < r.tokens.size(); ++i) {
      b.row({r.tokens[i], r.flops[i], r.loss[i], r.N});
      tlo = std::min(tlo, r.tokens[i]), thi = std::max(thi, r.tokens[i]);
      if (r.flops[i] > 0) flo = std::min(flo, r.flops[i]), fhi = std::max(fhi, r.flops[i]);
      llo = std::min(llo, r.loss[i]), lhi = std::max(lhi, r.loss[i]);
    }
    if (r.N > 0) nlo = std::min(nlo, r.N), nhi = std::max(nhi, r.N);
  }
  if (!(nhi > 0)) nlo = 1, nhi = 10;
  if (nhi <= nlo * 1.01) nlo /= 1.5, nhi *= 1.5;
  const std::string split = c.split == "val" ? "validation" : "training";
  const std::string file = "loss_curves.dat";
  auto panel = [&](const std::string& xlabel, double lo, double hi, int col) {
    std::string p;
    p += "set xlabel " + sq(xlabel) + "\n";
    p += "set ylabel " + sq(split + " loss (nats/token)") + "\n";
    p += cx.axis("x", lo, hi * 1.05);
    p += cx.axis("y", llo * 0.98, lhi * 1.02);
    p += cx.colour_scale("parameters N", nlo, nhi);
    p += fmt::format("plot {} using {}:3:4 with lines lw 1.3*LW lc palette\n", Blocks::ref(file, "curves"), col);
    return p;
  };
  const std::string about = fmt::format(
      "{} runs, {} loss. Curves are downsampled for drawing only ({} of {} rows drawn); fits use every row.",
      c.runs.size(), split, c.points_kept, c.rows_read);
  Figure tokens;
  tokens.name = "loss_vs_tokens";
  tokens.title = "Loss curves against tokens";
  tokens.caption = fmt::format("{} loss against training tokens, log-log, one line per run coloured by N. {}",
                               split == "validation" ? "Validation" : "Training", about);
  tokens.data_file = file;
  tokens.data = b.str();
  tokens.panels = {panel("training tokens D", tlo, thi, 1)};
  tokens.panel_titles = {split + " loss vs tokens"};
  std::vector<Figure> out{tokens};
  if (fhi > 0) {
    Figure flops;
    flops.name = "loss_vs_flops";
    flops.title = "Loss curves against compute";
    flops.caption = fmt::format(
        "{} loss against training compute (tokens x each run's FLOPs per token, as its trainer counted them), "
        "log-log, coloured by N. Where the lines cross, a larger model starts to pay for itself. {}",
        split == "validation" ? "Validation" : "Training", about);
    flops.data_file = file;  // the same data: written once
    flops.data = tokens.data;
    flops.panels = {panel("training compute C (FLOPs)", flo, fhi, 2)};
    flops.panel_titles = {split + " loss vs FLOPs"};
    out.push_back(flops);
  }
  if (c.missing > 0)
    cx.notes.push_back(
        fmt::format("{} run(s) have no {} loss rows and are not drawn in the loss curves.", c.missing, c.split));
  return out;
}

}  // namespace scalelab::reports
