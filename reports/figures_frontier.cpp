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
  double error_percent() const { return 100 * (predicted - L) / L; }
};

std::vector<Held> held_out(const FitView& f) {
  std::vector<Held> out;
  const fit::Holdout& h = f.rec.holdout;
  for (auto& p : h.points) out.push_back({p.C, p.loss, p.predicted});
  for (auto& b : h.budgets)
    if (b.predicted_l_opt) out.push_back({b.C, b.l_opt.value_or(0.0), *b.predicted_l_opt});
  return out;
}

const std::string kFile = "frontier.dat";

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
                                  bool several, Blocks& b, PlotLayers& plot, LogExtent& ext) {
  const std::string& file = kFile;
  const std::string col = sq(f.color);
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
                       double cext, Blocks& b, PlotLayers& plot, LogExtent& ext) {
  const std::string& file = kFile;
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

// One label per point when they stand apart; held-out runs of one budget share a C, and
// their labels would overprint, so a budget gets one label with its mean and max error.
void holdout_label_block(std::vector<Held> held, Blocks& b) {
  std::sort(held.begin(), held.end(), [](auto& x, auto& y) { return x.C < y.C; });
  b.block("holdout labels", "columns: C loss label");
  for (std::size_t i = 0; i < held.size();) {
    std::size_t j = i;
    double s = 0, m = 0, top = 0;
    for (; j < held.size() && held[j].C < held[i].C * 1.3; ++j) {
      const double e = std::fabs(held[j].error_percent());
      s += e, m = std::max(m, e), top = std::max({top, held[j].L, held[j].predicted});
    }
    b.row({held[i].C, top}, j - i == 1 ? fmt::format("{:+.1f}%", held[i].error_percent())
                                       : fmt::format("mean |err| {:.1f}%, max {:.1f}%", s / (j - i), m));
    i = j;
  }
}

void holdout_plot(const std::vector<Held>& held, double cmin, double cext, PlotLayers& plot) {
  const std::string red = sq(Style::holdout), ref = Blocks::ref(kFile, "holdout");
  plot.add(ref + " using 1:2:(0):($3 - $2) with vectors nohead lw 1.2*LW lc rgb " + red);
  plot.add(ref + " using 1:2" + plot.titled(" with points pt 4 ps 2.0*PS lw 1.5*LW lc rgb " + red, "held out"));
  plot.add(ref + " using 1:3" +
           plot.titled(" with points pt 2 ps 1.6*PS lw 1.5*LW lc rgb " + red, "predicted from the rest"));
  // To the right of each cluster's top, above the extrapolated law; to its left when
  // the cluster sits at the plot's right edge (nothing extrapolated).
  double cmax = 0;
  for (auto& h : held) cmax = std::max(cmax, h.C);
  const double at = std::log(cmax / (cmin / 2)) / std::log(cext * 1.5 / (cmin / 2));
  plot.add(Blocks::ref(kFile, "holdout labels") + " using 1:2:3 with labels " +
           (at > 0.8 ? "right offset char -1.5,0.6" : "left offset char 1.5,0.6") + " noenhanced textcolor rgb " + red);
}

// The hold-out check of the first fit that has one: fitted below a compute
// threshold, predicted above it. Returns the caption's sentence ("" without one).
std::string holdout_layers(const std::vector<const FitView*>& fits, double cmin, double cext, Blocks& b,
                           PlotLayers& plot, LogExtent& ext) {
  const FitView* hf = nullptr;
  std::vector<Held> held;
  for (auto* f : fits)
    if (auto h = held_out(*f); !h.empty()) {
      hf = f, held = std::move(h);
      break;
    }
  if (!hf) return "";
  const double threshold = hf->rec.holdout.threshold.value_or(0.0);
  b.block("holdout", fmt::format("fit {}: held out (C >= {}) and predicted by the fit below; columns: C loss "
                                 "predicted relative_error_percent",
                                 hf->id, num(threshold)));
  double sum = 0, mx = 0;
  for (auto& h : held) {
    const double e = h.error_percent();
    b.row({h.C, h.L, h.predicted, e});
    sum += std::fabs(e), mx = std::max(mx, std::fabs(e));
    ext.add(h.L), ext.add(h.predicted);
  }
  holdout_label_block(held, b);
  holdout_plot(held, cmin, cext, plot);
  return fmt::format(
      " Red squares: runs held out of fit {} (C ≥ {:.3g}) and predicted (×) by its refit on the rest: mean "
      "absolute error {:.2f}%, max {:.2f}%.",
      hf->id, threshold, sum / held.size(), mx);
}

std::string frontier_settings(FigureContext& cx, double cmin, double cmax, double cext, const LogExtent& l, double nlo,
                              double nhi) {
  std::string p;
  p += "set xlabel 'training compute C (FLOPs)'\n";
  p += "set ylabel " + sq("final loss (" + cx.data.loss_unit + ")") + "\n";
  p += cx.axis("x", cmin / 2, cext * 1.5);
  p += cx.axis("y", std::max(l.lo * 0.95, 1e-3), l.hi * 1.05);
  p += cx.colour_scale(cx.data.n_label, nlo, nhi);
  if (cext > cmax * 1.01) p += extrapolation_region(cmax, 0.96);
  // Bottom left is empty on a loss-compute plot: no run reaches a low loss with little compute.
  // In files the legend has its own strip above the plot: inside, it would cover a line somewhere.
  return p + (cx.term ? cx.key("below") : "unset key\n");
}

// Every run's final loss, and the compute-efficient frontier among them; the
// N range of the runs' colour scale. Returns whether the frontier has points.
bool run_blocks(const std::vector<fit::Point>& pts, Blocks& b, LogExtent& l, LogExtent& n) {
  b.block("runs", "final loss per run; columns: C loss N");
  for (auto& p : pts) {
    b.row({p.C, p.L, p.N});
    l.add(p.L), n.lo = std::min(n.lo, p.N), n.hi = std::max(n.hi, p.N);
  }
  if (pts.empty()) b.row({NAN, NAN, NAN});
  b.block("frontier points",
          "the compute-efficient frontier: no run reaches a lower loss with less compute; columns: C loss");
  auto front = fit::frontier(pts, fit::Law::power_c);
  std::sort(front.begin(), front.end(), [](auto& a, auto& c) { return a.C < c.C; });
  for (auto& p : front) b.row({p.C, p.L});
  if (front.empty()) b.row({NAN, NAN});
  return !front.empty();
}

void run_layers(bool runs, bool front, PlotLayers& plot) {
  if (runs) {
    plot.add(Blocks::ref(kFile, "runs") + " using 1:2:3 with points pt 7 ps 0.9*PS lc palette");
    plot.add("keyentry" + plot.titled(" with points pt 7 ps 0.9*PS lc rgb '#555555'", "run, colour = N"));
  }
  if (front)
    plot.add(Blocks::ref(kFile, "frontier points") + " using 1:2" +
             plot.titled(" with points pt 6 ps 1.7*PS lw 1.2*LW lc rgb '#111111'", "compute-efficient frontier"));
}

std::string frontier_caption(const std::vector<const FitView*>& fits, double cext, const std::string& bands_text,
                             const std::string& hold_text) {
  if (fits.empty())
    return "Final loss against compute for every run; open circles mark the compute-efficient frontier. No fitted "
           "loss law is stored, so none is drawn.";
  std::string which;
  for (auto* x : fits) which += (which.empty() ? "" : ", ") + fmt::format("{} (fit {})", x->label, x->id);
  return fmt::format(
      "Final loss against compute for every run (colour = N), the compute-efficient frontier (open circles) and the "
      "loss of the compute-optimal model from {}. Solid over the data, dotted beyond it to {:.3g} FLOPs.{}{}",
      which, cext, bands_text, hold_text);
}

// Whether the figure can be drawn at all; notes why not, or that it shows runs only.
bool frontier_drawable(FigureContext& cx, const std::vector<const FitView*>& fits) {
  if (cx.data.points.size() < 2 && fits.empty()) {
    cx.notes.push_back("No loss-frontier figure: fewer than 2 finished runs and no fitted loss law.");
    return false;
  }
  if (fits.empty())
    cx.notes.push_back(
        "The loss-frontier figure shows runs only: no stored fit has a loss-versus-compute law (Approach 3, "
        "--law power --x c, or Approach 1/2 with 5 or more budgets).");
  return true;
}

}  // namespace

std::optional<Figure> frontier_figure(FigureContext& cx) {
  std::vector<const FitView*> fits;
  for (auto& f : cx.data.fits)
    if (f.has_frontier()) fits.push_back(&f);
  if (!frontier_drawable(cx, fits)) return std::nullopt;
  const double cmin = min_compute(cx.data), cmax = max_compute(cx.data);
  if (!(cmax > 0)) return std::nullopt;
  const double cext = std::max(cx.c_ext, cmax);
  const auto& pts = cx.data.points;

  Blocks b;
  LogExtent l, n;
  const bool front = run_blocks(pts, b, l, n);
  PlotLayers plot;
  const std::string bands_text = law_layers(fits, cx, cmin, cmax, cext, b, plot, l);
  run_layers(!pts.empty(), front, plot);
  const std::string hold_text = holdout_layers(fits, cmin, cext, b, plot, l);
  if (!(l.hi > 0)) return std::nullopt;
  double nlo = n.lo, nhi = n.hi;
  if (!(nhi > nlo * 1.01)) nlo = nlo > 0 && std::isfinite(nlo) ? nlo / 1.5 : 1, nhi = nlo * 2.25;

  Figure f;
  f.name = "frontier";
  f.title = "Loss frontier L(C)";
  f.caption = frontier_caption(fits, cext, bands_text, hold_text);
  f.data = b.str();
  f.panels = {frontier_settings(cx, cmin, cmax, cext, l, nlo, nhi) + plot.items + "\n"};
  f.panel_titles = {"loss frontier L(C)"};
  if (!cx.term) f.legend = plot.legend;
  return f;
}

}  // namespace scalelab::reports
