// Figure 4: the loss frontier L(C). Every run's final loss against its compute,
// the compute-efficient frontier, each fit's loss law with its extrapolation,
// its confidence band (where the law may lie) and, for backtested fits, its
// prediction band (where a new run will land), and the hold-out points.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "fit/forecast.h"
#include "reports/figures.h"

namespace scalelab::reports {

namespace {

// A fit's hold-out check as points: (C, observed, predicted).
struct Held {
  double C, L, predicted;
};

std::vector<Held> held_out(const FitView& f) {
  std::vector<Held> out;
  const json& h = f.rec["result"]["holdout"];
  if (h.contains("points"))
    for (auto& p : h["points"]) out.push_back({p.value("C", 0.0), p.value("loss", 0.0), p.value("predicted", 0.0)});
  if (h.contains("budgets"))
    for (auto& b : h["budgets"])
      if (b.contains("predicted_l_opt"))
        out.push_back({b.value("C", 0.0), b.value("l_opt", 0.0), b.value("predicted_l_opt", 0.0)});
  return out;
}

// The plot command and the legend strip, built side by side.
struct Plot {
  std::string items;
  std::vector<std::string> legend;
  void add(const std::string& item) { items += (items.empty() ? "plot " : ", \\\n  ") + item; }
  // A titled element: its title in the plot (the terminal's key) and in the figure's legend strip.
  std::string titled(const std::string& style, const std::string& title) {
    legend.push_back("keyentry" + style + " title " + sq(title));
    return style + " title " + sq(title);
  }
};

struct Extent {
  double lo = INFINITY, hi = 0;
  void add(double l) {
    if (std::isfinite(l) && l > 0) lo = std::min(lo, l), hi = std::max(hi, l);
  }
};

// Where a new compute-optimal run's loss will land at each C: the prediction
// interval `scalelab forecast --compute C` gives (fit::forecast), so the band
// and the forecast table can never disagree. NaN where it has none.
std::vector<std::pair<double, double>> prediction_band(const FitView& f, const std::vector<double>& xs) {
  std::vector<std::pair<double, double>> out(xs.size(), {NAN, NAN});
  for (std::size_t i = 0; i < xs.size(); ++i) {
    fit::Query q;
    q.compute = xs[i];
    try {
      for (auto& x : fit::forecast(f.model, f.draws, q))
        if (x.name == "loss" && x.prediction && x.pred_lo > 0) out[i] = {x.pred_lo, x.pred_hi};
    } catch (const UserError&) {
    }
  }
  return out;
}

bool has_prediction_band(const FitView& f) { return f.model.pi.available && f.model.range.has_value(); }

// Both bands of a fit as data blocks and plot layers, the wider prediction band
// first so the confidence band sits on it. Returns whether each was drawn.
// several: more than one fit has a prediction band, so its legend entry names the fit.
std::pair<bool, bool> band_layers(const FitView& f, std::size_t k, const std::vector<double>& xs, bool term,
                                  bool several, Blocks& b, Plot& plot, Extent& ext) {
  const std::string file = "frontier.dat", col = sq(f.color);
  const std::string ci = fmt::format("band {}", k), pi = fmt::format("prediction band {}", k);
  int pi_rows = 0, ci_rows = 0;
  if (has_prediction_band(f) && !term) {
    auto pb = prediction_band(f, xs);
    b.block(pi, f.label + ", 95% prediction band (a new run's loss; calibrated on the backtest); columns: C "
                          "loss_lo loss_hi");
    for (std::size_t i = 0; i < xs.size(); ++i)
      if (std::isfinite(pb[i].first)) b.row({xs[i], pb[i].first, pb[i].second}), ext.add(pb[i].first), ++pi_rows;
    if (!pi_rows) b.row({NAN, NAN, NAN});
  }
  auto lb = band(f, xs, [](const fit::Model& m, double C) { return m.frontier_loss(C); });
  b.block(ci, f.label + ", 95% confidence band (bootstrap); columns: C loss_lo loss_hi");
  for (std::size_t i = 0; i < xs.size(); ++i)
    if (std::isfinite(lb[i].first)) b.row({xs[i], lb[i].first, lb[i].second}), ++ci_rows;
  if (!ci_rows) b.row({NAN, NAN, NAN});
  if (term) return {ci_rows > 0, false};
  if (pi_rows) {
    plot.add(Blocks::ref(file, pi) + " using 1:2:3 with filledcurves fs transparent solid 0.07 noborder lc rgb " + col);
    plot.add(Blocks::ref(file, pi) + " using 1:2 with lines lw 1.1*LW dt 2 lc rgb " + col);
    const std::string title = several ? "95% prediction band, " + f.short_label : "95% prediction band";
    plot.add(Blocks::ref(file, pi) + " using 1:3" + plot.titled(" with lines lw 1.1*LW dt 2 lc rgb " + col, title));
  }
  if (ci_rows)
    plot.add(Blocks::ref(file, ci) + " using 1:2:3 with filledcurves fs transparent solid 0.18 noborder lc rgb " + col);
  return {ci_rows > 0, pi_rows > 0};
}

// What the shading means, and for each fit without a prediction band, why.
std::string bands_caption(const std::vector<const FitView*>& fits, bool any_ci, const std::vector<std::string>& pis) {
  std::string s;
  if (any_ci) s += " Shaded: the 95% confidence band (bootstrap), where the law itself may lie.";
  for (auto& p : pis)
    s += " Lighter, between dashed lines: the 95% prediction band of " + p +
         ", where a new compute-optimal run's loss will land: the bootstrap spread, the fit's own noise and a term "
         "growing with the decades outside the fitted data, calibrated on its backtest (as scalelab forecast gives "
         "it).";
  for (auto* f : fits) {
    if (has_prediction_band(*f)) continue;
    const std::string why = f->approach == "3" && !f->model.pi.why.empty()
                                ? f->model.pi.why
                                : "only Approach 3 L(N, D) fits are backtested and calibrated";
    s += fmt::format(" No prediction band for {} (fit {}): {}.", f->label, f->id, why);
  }
  return s;
}

// Each fit's law over the data and beyond it, with its bands. Returns the caption's band sentences.
std::string law_layers(const std::vector<const FitView*>& fits, FigureContext& cx, double cmin, double cmax,
                       double cext, Blocks& b, Plot& plot, Extent& ext) {
  const std::string file = "frontier.dat";
  const auto xs = log_grid(cmin, cext, 90);
  bool any_ci = false;
  std::vector<std::string> pis;
  const bool several = std::count_if(fits.begin(), fits.end(), [](auto* f) { return has_prediction_band(*f); }) > 1;
  for (std::size_t k = 0; k < fits.size(); ++k) {
    const FitView& f = *fits[k];
    auto [ci, pi] = band_layers(f, k, xs, cx.term, several, b, plot, ext);
    any_ci |= ci;
    if (pi) pis.push_back(fmt::format("{} (fit {})", f.label, f.id));
    const std::string law = fmt::format("law {}", k), ex = fmt::format("extrapolation {}", k);
    b.block(law, f.label + ", over the data; columns: C loss");
    for (double c : xs)
      if (c <= cmax * 1.0001) b.row({c, f.model.frontier_loss(c)});
    b.block(ex, f.label + ", extrapolated; columns: C loss");
    for (double c : log_grid(cmax, cext, 40)) {
      const double l = f.model.frontier_loss(c);
      b.row({c, l});
      if (std::isfinite(l) && l > 0) ext.lo = std::min(ext.lo, l);
    }
    const std::string col = sq(f.color);
    std::string title = f.short_label;
    if (f.model.kind == "power") title += fmt::format(" (γ = {:.3f})", f.model.p[2]);
    if (f.model.kind == "allocation" && f.model.p.size() >= 7) title += fmt::format(" (γ = {:.3f})", f.model.p[6]);
    plot.add(Blocks::ref(file, law) + " using 1:2" + plot.titled(" with lines lw 2.2*LW lc rgb " + col, title));
    plot.add(Blocks::ref(file, ex) + " using 1:2 with lines lw 2.2*LW dt 3 lc rgb " + col);
  }
  if (any_ci && !cx.term)
    plot.legend.push_back("keyentry with filledcurves fs transparent solid 0.18 noborder lc rgb '#555555' title " +
                          sq("95% confidence band (bootstrap)"));
  return bands_caption(fits, any_ci && !cx.term, pis);
}

// The hold-out check of the first fit that has one: fitted below a compute
// threshold, predicted above it. Returns the caption's sentence ("" without one).
std::string holdout_layers(const std::vector<const FitView*>& fits, double cmin, double cext, Blocks& b, Plot& plot,
                           Extent& ext) {
  const std::string file = "frontier.dat";
  const FitView* hf = nullptr;
  std::vector<Held> held;
  for (auto* f : fits)
    if (auto h = held_out(*f); !h.empty()) {
      hf = f, held = std::move(h);
      break;
    }
  if (!hf) return "";
  b.block("holdout", fmt::format("fit {}: held out (C >= {}) and predicted by the fit below; columns: C loss "
                                 "predicted relative_error_percent",
                                 hf->id, num(hf->rec["result"]["holdout"].value("threshold", 0.0))));
  double sum = 0, mx = 0;
  for (auto& h : held) {
    const double e = 100 * (h.predicted - h.L) / h.L;
    b.row({h.C, h.L, h.predicted, e});
    sum += std::fabs(e), mx = std::max(mx, std::fabs(e));
    ext.add(h.L), ext.add(h.predicted);
  }
  const std::string red = sq(Style::holdout);
  plot.add(Blocks::ref(file, "holdout") + " using 1:2:(0):($3 - $2) with vectors nohead lw 1.2*LW lc rgb " + red);
  plot.add(Blocks::ref(file, "holdout") + " using 1:2" +
           plot.titled(" with points pt 4 ps 2.0*PS lw 1.5*LW lc rgb " + red, "held out"));
  plot.add(Blocks::ref(file, "holdout") + " using 1:3" +
           plot.titled(" with points pt 2 ps 1.6*PS lw 1.5*LW lc rgb " + red, "predicted from the rest"));
  // One label per point when they stand apart; held-out runs of one budget share a C, and
  // their labels would overprint, so a budget gets one label with its mean and max error.
  std::vector<Held> sorted = held;
  std::sort(sorted.begin(), sorted.end(), [](auto& x, auto& y) { return x.C < y.C; });
  b.block("holdout labels", "columns: C loss label");
  for (std::size_t i = 0; i < sorted.size();) {
    std::size_t j = i;
    double s = 0, m = 0, top = 0;
    while (j < sorted.size() && sorted[j].C < sorted[i].C * 1.3) {
      const double e = 100 * (sorted[j].predicted - sorted[j].L) / sorted[j].L;
      s += std::fabs(e), m = std::max(m, std::fabs(e)), top = std::max({top, sorted[j].L, sorted[j].predicted});
      ++j;
    }
    const double e0 = 100 * (sorted[i].predicted - sorted[i].L) / sorted[i].L;
    b.row({sorted[i].C, top},
          j - i == 1 ? fmt::format("{:+.1f}%", e0) : fmt::format("mean |err| {:.1f}%, max {:.1f}%", s / (j - i), m));
    i = j;
  }
  // To the right of each cluster's top, above the extrapolated law; to its left when
  // the cluster sits at the plot's right edge (nothing extrapolated).
  const double at = std::log(sorted.back().C / (cmin / 2)) / std::log(cext * 1.5 / (cmin / 2));
  plot.add(Blocks::ref(file, "holdout labels") + " using 1:2:3 with labels " +
           (at > 0.8 ? "right offset char -1.5,0.6" : "left offset char 1.5,0.6") + " noenhanced textcolor rgb " + red);
  return fmt::format(
      " Red squares: runs held out of fit {} (C ≥ {:.3g}) and predicted (×) by its refit on the rest: mean "
      "absolute error {:.2f}%, max {:.2f}%.",
      hf->id, hf->rec["result"]["holdout"].value("threshold", 0.0), sum / held.size(), mx);
}

std::string frontier_settings(FigureContext& cx, double cmin, double cmax, double cext, const Extent& l, double nlo,
                              double nhi) {
  std::string p;
  p += "set xlabel 'training compute C (FLOPs)'\n";
  p += "set ylabel 'final loss (nats/token)'\n";
  p += cx.axis("x", cmin / 2, cext * 1.5);
  p += cx.axis("y", std::max(l.lo * 0.95, 1e-3), l.hi * 1.05);
  p += cx.colour_scale(cx.data.n_label, nlo, nhi);
  if (cext > cmax * 1.01) {
    p += fmt::format(
        "set object 1 rect from first {}, graph 0 to graph 1, graph 1 behind fc rgb '#f1f1f1' "
        "fs solid 1.0 noborder\n",
        num(cmax));
    p += fmt::format("set label 1 'extrapolation' at first {}, graph 0.96 left textcolor rgb '#777777'\n",
                     num(cmax * 1.3));
  }
  // Bottom left is empty on a loss-compute plot: no run reaches a low loss with little compute.
  // In files the legend has its own strip above the plot: inside, it would cover a line somewhere.
  return p + (cx.term ? cx.key("below") : "unset key\n");
}

}  // namespace

std::optional<Figure> frontier_figure(FigureContext& cx) {
  std::vector<const FitView*> fits;
  for (auto& f : cx.data.fits)
    if (f.has_frontier()) fits.push_back(&f);
  const auto& pts = cx.data.points;
  if (pts.size() < 2 && fits.empty()) {
    cx.notes.push_back("No loss-frontier figure: fewer than 2 finished runs and no fitted loss law.");
    return std::nullopt;
  }
  if (fits.empty())
    cx.notes.push_back(
        "The loss-frontier figure shows runs only: no stored fit has a loss-versus-compute law (Approach 3, "
        "--law power --x c, or Approach 1/2 with 5 or more budgets).");
  double cmin = min_compute(cx.data), cmax = max_compute(cx.data);
  if (!(cmax > 0)) return std::nullopt;
  const double cext = std::max(cx.c_ext, cmax);
  Extent l;
  double nlo = INFINITY, nhi = 0;
  const std::string file = "frontier.dat";
  Blocks b;
  b.block("runs", "final loss per run; columns: C loss N");
  for (auto& p : pts) {
    b.row({p.C, p.L, p.N});
    l.add(p.L), nlo = std::min(nlo, p.N), nhi = std::max(nhi, p.N);
  }
  if (pts.empty()) b.row({NAN, NAN, NAN});
  b.block("frontier points",
          "the compute-efficient frontier: no run reaches a lower loss with less compute; columns: C loss");
  auto front = fit::frontier(pts, fit::Law::power_c);
  std::sort(front.begin(), front.end(), [](auto& a, auto& c) { return a.C < c.C; });
  for (auto& p : front) b.row({p.C, p.L});
  if (front.empty()) b.row({NAN, NAN});

  Plot plot;
  const std::string bands_text = law_layers(fits, cx, cmin, cmax, cext, b, plot, l);
  if (!pts.empty()) {
    plot.add(Blocks::ref(file, "runs") + " using 1:2:3 with points pt 7 ps 0.9*PS lc palette");
    plot.add("keyentry" + plot.titled(" with points pt 7 ps 0.9*PS lc rgb '#555555'", "run, colour = N"));
  }
  if (!front.empty())
    plot.add(Blocks::ref(file, "frontier points") + " using 1:2" +
             plot.titled(" with points pt 6 ps 1.7*PS lw 1.2*LW lc rgb '#111111'", "compute-efficient frontier"));
  const std::string hold_text = holdout_layers(fits, cmin, cext, b, plot, l);
  if (!(l.hi > 0)) return std::nullopt;
  if (!(nhi > nlo * 1.01)) nlo = nlo > 0 && std::isfinite(nlo) ? nlo / 1.5 : 1, nhi = nlo * 2.25;

  Figure f;
  f.name = "frontier";
  f.title = "Loss frontier L(C)";
  std::string which;
  for (auto* x : fits) which += (which.empty() ? "" : ", ") + fmt::format("{} (fit {})", x->label, x->id);
  f.caption = fits.empty()
                  ? "Final loss against compute for every run; open circles mark the compute-efficient frontier. "
                    "No fitted loss law is stored, so none is drawn."
                  : fmt::format(
                        "Final loss against compute for every run (colour = N), the compute-efficient "
                        "frontier (open circles) and the loss of the compute-optimal model from {}. Solid over "
                        "the data, dotted beyond it to {:.3g} FLOPs.{}{}",
                        which, cext, bands_text, hold_text);
  f.data = b.str();
  f.panels = {frontier_settings(cx, cmin, cmax, cext, l, nlo, nhi) + plot.items + "\n"};
  f.panel_titles = {"loss frontier L(C)"};
  if (!cx.term) f.legend = plot.legend;
  return f;
}

}  // namespace scalelab::reports
