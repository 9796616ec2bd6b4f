// What the figure builders share, and the report's figure list.
#include "reports/figures.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "fit/bootstrap.h"

namespace scalelab::reports {

void Blocks::block(const std::string& name, const std::string& what) {
  if (!first_) s_ += "\n\n";
  first_ = false;
  s_ += comment("[" + name + "] " + what);
}

void Blocks::row(const std::vector<double>& v) {
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) s_ += ' ';
    s_ += num(v[i]);
  }
  s_ += "\n";
}

void Blocks::row(const std::vector<double>& v, const std::string& text) {
  for (double x : v) s_ += num(x) + " ";
  std::string t;
  for (char c : text) t += c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20 ? '_' : c;
  s_ += "\"" + t + "\"\n";
}

std::string Blocks::ref(const std::string& file, const std::string& name) {
  return sq(file) + " index " + sq("[" + name + "]");
}

std::string PlotLayers::titled(const std::string& style, const std::string& title) {
  legend.push_back("keyentry" + style + " title " + sq(title));
  return style + " title " + sq(title);
}

std::string extrapolation_region(double cmax, double label_y) {
  return fmt::format(
             "set object 1 rect from first {}, graph 0 to graph 1, graph 1 behind fc rgb '#f1f1f1' "
             "fs solid 1.0 noborder\n",
             num(cmax)) +
         fmt::format("set label 1 'extrapolation' at first {}, graph {} left textcolor rgb '#777777'\n",
                     num(cmax * 1.3), label_y);
}

std::vector<double> log_grid(double lo, double hi, int n) {
  std::vector<double> out;
  for (int i = 0; i < n; ++i) out.push_back(lo * std::pow(hi / lo, n > 1 ? i / double(n - 1) : 0.0));
  return out;
}

std::vector<std::pair<double, double>> band(const FitView& f, const std::vector<double>& xs,
                                            const std::function<double(const fit::Model&, double)>& fn,
                                            double level) {
  std::vector<std::vector<double>> at(xs.size());
  for (auto& d : f.draws) {
    if (d.size() != f.model.p.size()) continue;
    fit::Model m = f.model;
    m.p = d;
    for (std::size_t i = 0; i < xs.size(); ++i) {
      try {
        double v = fn(m, xs[i]);
        if (std::isfinite(v)) at[i].push_back(v);
      } catch (const UserError&) {
      }
    }
  }
  std::vector<std::pair<double, double>> out;
  for (auto& v : at) {
    // Fewer than 20 draws cannot give a 95% interval worth drawing.
    if (v.size() < 20) {
      out.push_back({NAN, NAN});
      continue;
    }
    auto iv = fit::percentile_interval(v, level);
    out.push_back({iv.lo, iv.hi});
  }
  return out;
}

double max_compute(const ReportData& d) {
  double c = 0;
  for (auto& p : d.points) c = std::max(c, p.C);
  for (auto& f : d.fits)
    for (auto& p : f.points) c = std::max(c, p.C);
  return c;
}

double min_compute(const ReportData& d) {
  double c = INFINITY;
  for (auto& p : d.points) c = std::min(c, p.C);
  for (auto& f : d.fits)
    for (auto& p : f.points) c = std::min(c, p.C);
  return std::isfinite(c) ? c : 0;
}

double extrapolation_target(const ReportData& d, double requested) {
  if (requested > 0) return requested;
  double c = max_compute(d);
  return c > 0 ? 100 * c : 0;
}

std::string FigureContext::colour_scale(const std::string& label, double lo, double hi,
                                        const std::vector<double>& tics, bool box) const {
  std::string s = log_axis("cb", lo, hi, term);
  if (!tics.empty()) {
    // Budgets closer than 4% of the scale would print their labels over each other.
    std::vector<double> kept;
    for (double v : tics)
      if (kept.empty() || std::log(v / kept.back()) > 0.04 * std::log(hi / lo)) kept.push_back(v);
    s += "set cbtics (";
    for (std::size_t i = 0; i < kept.size(); ++i) {
      const double v = kept[i];
      const int e = static_cast<int>(std::floor(std::log10(v)));
      const double m = v / std::pow(10.0, e);
      std::string text = term ? fmt::format("{:.2g}", v)
                              : std::fabs(m - 1) < 0.005 ? fmt::format("10^{{{}}}", e)
                                                         : fmt::format("{:.2g}×10^{{{}}}", m, e);
      s += fmt::format("{}\"{}\" {}", i ? ", " : "", text, num(v));
    }
    s += ")\n";
  }
  if (term || !box) return s + "unset colorbox\n";
  // The label clears the tic labels (gnuplot measures enhanced text before it renders it).
  return s + "set cblabel " + sq(label) + " offset char 1.2,0\nset colorbox\nset rmargin 15\n";
}

std::vector<double> chinchilla_published() { return {1.69, 406.4, 410.7, 0.34, 0.28}; }

std::vector<Figure> all_figures(const Curves& curves, const std::vector<TaskEvals>& evals, FigureContext& cx) {
  std::vector<Figure> out = loss_curve_figures(curves, cx);
  for (auto* build : {&isoflop_figure, &allocation_figure, &frontier_figure, &fit_quality_figure, &lr_figure})
    if (auto f = build(cx)) out.push_back(std::move(*f));
  for (auto& f : emergence_figures(evals, cx)) out.push_back(std::move(f));
  return out;
}

}  // namespace scalelab::reports
