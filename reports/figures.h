#pragma once
// The report's figures, one builder per family (figures_*.cpp). A builder
// returns nothing (and adds a note saying why) when the data cannot support
// the figure: no meaningless lines.
#include <algorithm>
#include <cmath>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "reports/gnuplot.h"
#include "reports/load.h"

namespace scalelab::reports {

struct FigureContext {
  const ReportData& data;
  double c_ext = 0;  // extrapolate the laws out to this compute
  std::vector<std::string>& notes;
  bool term = false;  // for gnuplot's dumb terminal: plain tic labels, no colour box, no bands

  std::string axis(const std::string& a, double lo, double hi) const { return log_axis(a, lo, hi, term); }
  // A logarithmic colour scale over [lo, hi] with its box and label (no box on the terminal).
  // tics: label exactly these values (e.g. the budgets of an IsoFLOP sweep) instead of round ones.
  std::string colour_scale(const std::string& label, double lo, double hi, const std::vector<double>& tics = {},
                           bool box = true) const;
  // "scalelab fit NAME" for this scope's sweep (SWEEP when there is none).
  std::string fit_command() const { return "scalelab fit " + (data.sweep ? data.sweep->name : std::string("SWEEP")); }
  // Legends inside the plot cover data on a character grid: below it there.
  std::string key(const std::string& where) const { return term ? "set key below\n" : "set key " + where + "\n"; }
};

// 1. Loss curves against tokens and against FLOPs, coloured by N.
std::vector<Figure> loss_curve_figures(const Curves&, FigureContext&);
// 2. Final loss against N per compute budget, the fitted parabolas and their minima.
std::optional<Figure> isoflop_figure(FigureContext&);
// 3. N_opt(C) and D_opt(C) of every fit, bands, extrapolation, Chinchilla's law.
std::optional<Figure> allocation_figure(FigureContext&);
// 4. The loss frontier L(C), its laws, bands, extrapolation and hold-out points.
std::optional<Figure> frontier_figure(FigureContext&);
// 5. Predicted against observed loss and residuals of the parametric fit.
std::optional<Figure> fit_quality_figure(FigureContext&);
// 6. Per task: the discrete metric against N, the continuous one beside it.
std::vector<Figure> emergence_figures(const std::vector<TaskEvals>&, FigureContext&);
// 7. Final loss against learning rate per (N, D) of an LR axis, each line's best LR.
std::optional<Figure> lr_figure(FigureContext&);

// Every figure the data supports, in report order.
std::vector<Figure> all_figures(const Curves&, const std::vector<TaskEvals>&, FigureContext&);

// ---- shared by the builders

// Named data blocks in one file: gnuplot selects them with `index '[name]'`.
class Blocks {
 public:
  void block(const std::string& name, const std::string& what);  // starts "[name]"
  void row(const std::vector<double>& v);
  void row(const std::vector<double>& v, const std::string& text);  // a quoted text column last
  void gap() { s_ += "\n"; }  // ends a line of a multi-line block
  const std::string& str() const { return s_; }
  static std::string ref(const std::string& file, const std::string& name);  // "'file' index '[name]'"

 private:
  std::string s_;
  bool first_ = true;
};

// A plot command and its legend strip, built side by side.
struct PlotLayers {
  std::string items;
  std::vector<std::string> legend;
  void add(const std::string& item) { items += (items.empty() ? "plot " : ", \\\n  ") + item; }
  // A titled element: its title in the plot (the terminal's key) and in the figure's legend strip.
  std::string titled(const std::string& style, const std::string& title);
};

// The positive, finite range of the values seen.
struct LogExtent {
  double lo = INFINITY, hi = 0;
  void add(double v) {
    if (std::isfinite(v) && v > 0) lo = std::min(lo, v), hi = std::max(hi, v);
  }
};

// The grey region right of cmax, labelled 'extrapolation' at label_y (graph coordinates).
std::string extrapolation_region(double cmax, double label_y);

// n values log-spaced over [lo, hi].
std::vector<double> log_grid(double lo, double hi, int n);
// Percentile band of f(model with draw's parameters, x) at each x; NaN where no draw gives a value.
std::vector<std::pair<double, double>> band(const FitView&, const std::vector<double>& xs,
                                            const std::function<double(const fit::Model&, double)>& f,
                                            double level = 0.95);
// The compute the laws are extrapolated to: the option, or 100x the data's largest C.
double extrapolation_target(const ReportData&, double requested);
double max_compute(const ReportData&);
double min_compute(const ReportData&);

// Hoffmann et al. 2022 (Chinchilla), Approach 3 as published in section 3.3 / D.2:
// E = 1.69, A = 406.4, B = 410.7, alpha = 0.34, beta = 0.28, so N_opt = G (C/6)^0.45.
// Besiroglu et al. 2024 (Epoch AI) showed these come from a fit stopped early;
// the same data refit gives a = 0.51. The reference line is the published law.
std::vector<double> chinchilla_published();

}  // namespace scalelab::reports
