// Figure 3: compute-optimal allocation. N_opt(C) and D_opt(C) of every fit
// that has one, with bootstrap bands, the extrapolation beyond the data, the
// points Approaches 1 and 2 fitted through, and Chinchilla's published law.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "reports/figures.h"

namespace scalelab::reports {

namespace {

std::string exponent_title(const FitView& f) {
  // Chinchilla's family (tied exponents included) has the closed-form a = beta / (alpha + beta).
  if (auto law = f.model.law(); law && fit::info(*law).closed_form_optimum) {
    auto c = fit::Chinchilla::from(f.model.p);
    return fmt::format("{}: a = {:.3f}", f.short_label, c.a());
  }
  if (f.model.kind == "allocation") return fmt::format("{}: a = {:.3f}", f.short_label, f.model.p[1]);
  return f.short_label;
}

struct Range {
  double lo = INFINITY, hi = 0;
  void add(double v) {
    if (std::isfinite(v) && v > 0) lo = std::min(lo, v), hi = std::max(hi, v);
  }
};

}  // namespace

std::optional<Figure> allocation_figure(FigureContext& cx) {
  std::vector<const FitView*> fits;
  for (auto& f : cx.data.fits)
    if (f.allocates()) fits.push_back(&f);
  if (fits.empty()) {
    cx.notes.push_back(fmt::format(
        "No compute-optimal allocation figure: it needs an Approach 1, 2 or 3 fit ({} --approach 1,2,3), and none is "
        "stored for this scope.",
        cx.fit_command()));
    return std::nullopt;
  }
  double cmin = min_compute(cx.data), cmax = max_compute(cx.data);
  if (!(cmax > 0)) return std::nullopt;
  const double cext = std::max(cx.c_ext, cmax);
  const std::string file = "allocation.dat";
  Blocks b;
  Range rn, rd;
  const FitView* a1 = nullptr;
  const FitView* a2 = nullptr;
  for (auto* f : fits) {
    if (f->approach == "1") a1 = f;
    if (f->approach == "2") a2 = f;
  }
  b.block("isoflop minima", "Approach 2's per-budget vertices; columns: C N_opt D_opt bracketed");
  int a2_points = 0;
  if (a2)
    for (auto& bf : a2->rec["result"]["budgets"]) {
      if (!bf.value("has_minimum", false)) continue;
      b.row({bf.value("C", 0.0), bf.value("n_opt", 0.0), bf.value("d_opt", 0.0),
             bf.value("bracketed", false) ? 1.0 : 0.0});
      rn.add(bf.value("n_opt", 0.0)), rd.add(bf.value("d_opt", 0.0));
      ++a2_points;
    }
  if (!a2_points) b.row({NAN, NAN, NAN, NAN});
  b.block("envelope points",
          "Approach 1's envelope of training curves; columns: C N D edge (1 = won by an extreme size, not fitted)");
  int a1_points = 0;
  if (a1)
    for (auto& e : a1->rec["result"]["envelope"]) {
      b.row({e.value("C", 0.0), e.value("N", 0.0), e.value("D", 0.0), e.value("edge", false) ? 1.0 : 0.0});
      rn.add(e.value("N", 0.0)), rd.add(e.value("D", 0.0));
      ++a1_points;
    }
  if (!a1_points) b.row({NAN, NAN, NAN, NAN});

  const auto xs = log_grid(cmin, cext, 90);
  std::string n_plot, d_plot;
  auto add = [&](std::string& plot, const std::string& item) { plot += (plot.empty() ? "plot " : ", \\\n  ") + item; };
  // A titled element: its title in the plot (the terminal's key) and in the figure's legend strip.
  std::vector<std::string> legend;
  auto titled = [&](const std::string& style, const std::string& title) {
    legend.push_back("keyentry" + style + " title " + sq(title));
    return style + " title " + sq(title);
  };
  for (std::size_t k = 0; k < fits.size(); ++k) {
    const FitView& f = *fits[k];
    const std::string law = fmt::format("law {}", k), ext = fmt::format("extrapolation {}", k),
                      bnd = fmt::format("band {}", k);
    auto nb = band(f, xs, [](const fit::Model& m, double C) { return m.optimal(C).first; });
    auto db = band(f, xs, [](const fit::Model& m, double C) { return m.optimal(C).second; });
    b.block(bnd, f.label + ", 95% bootstrap band; columns: C N_lo N_hi D_lo D_hi");
    int band_rows = 0;
    for (std::size_t i = 0; i < xs.size(); ++i)
      if (std::isfinite(nb[i].first) && std::isfinite(db[i].first)) {
        b.row({xs[i], nb[i].first, nb[i].second, db[i].first, db[i].second});
        ++band_rows;
      }
    if (!band_rows) b.row({NAN, NAN, NAN, NAN, NAN});
    b.block(law, f.label + ", over the data; columns: C N_opt D_opt");
    for (double c : xs)
      if (c <= cmax * 1.0001) {
        auto [n, d] = f.model.optimal(c);
        b.row({c, n, d});
        rn.add(n), rd.add(d);
      }
    b.block(ext, f.label + ", extrapolated beyond the data; columns: C N_opt D_opt");
    for (double c : log_grid(cmax, cext, 40)) {
      auto [n, d] = f.model.optimal(c);
      b.row({c, n, d});
      rn.add(n), rd.add(d);
    }
    const std::string col = sq(f.color);
    if (band_rows && !cx.term) {
      add(n_plot,
          Blocks::ref(file, bnd) + " using 1:2:3 with filledcurves fs transparent solid 0.18 noborder lc rgb " + col);
      add(d_plot,
          Blocks::ref(file, bnd) + " using 1:4:5 with filledcurves fs transparent solid 0.18 noborder lc rgb " + col);
    }
    add(n_plot,
        Blocks::ref(file, law) + " using 1:2" + titled(" with lines lw 2.2*LW lc rgb " + col, exponent_title(f)));
    add(d_plot, Blocks::ref(file, law) + " using 1:3 with lines lw 2.2*LW lc rgb " + col);
    add(n_plot, Blocks::ref(file, ext) + " using 1:2 with lines lw 2.2*LW dt 3 lc rgb " + col);
    add(d_plot, Blocks::ref(file, ext) + " using 1:3 with lines lw 2.2*LW dt 3 lc rgb " + col);
  }
  // Chinchilla's published law, as a reference over the whole axis.
  const auto ref = fit::Chinchilla::from(chinchilla_published());
  b.block("chinchilla",
          "Hoffmann et al. 2022, Approach 3 as published (E 1.69, A 406.4, B 410.7, alpha 0.34, "
          "beta 0.28); columns: C N_opt D_opt");
  for (double c : log_grid(cmin, cext, 30)) b.row({c, ref.n_opt(c), ref.d_opt(c)});
  const std::string chin = " with lines lw 1.6*LW dt 2 lc rgb " + sq(Style::reference);
  add(n_plot, Blocks::ref(file, "chinchilla") + " using 1:2" + titled(chin, "Chinchilla, Hoffmann et al. 2022"));
  add(d_plot, Blocks::ref(file, "chinchilla") + " using 1:3" + chin);
  if (a2_points) {
    const std::string pts = " with points pt 13 ps 1.8*PS lc rgb " + sq(Style::approach2);
    add(n_plot, Blocks::ref(file, "isoflop minima") + " using 1:($4 > 0 ? $2 : 1/0)" + titled(pts, "IsoFLOP minima"));
    add(d_plot, Blocks::ref(file, "isoflop minima") + " using 1:($4 > 0 ? $3 : 1/0)" + pts);
    const std::string open = " with points pt 12 ps 1.8*PS lc rgb " + sq(Style::approach2);
    add(n_plot, Blocks::ref(file, "isoflop minima") + " using 1:($4 > 0 ? 1/0 : $2)" + open);
    add(d_plot, Blocks::ref(file, "isoflop minima") + " using 1:($4 > 0 ? 1/0 : $3)" + open);
  }
  if (a1_points) {
    const std::string pts = " with points pt 7 ps 0.55*PS lc rgb " + sq(Style::approach1);
    add(n_plot, Blocks::ref(file, "envelope points") + " using 1:($4 > 0 ? 1/0 : $2)" + titled(pts, "envelope points"));
    add(d_plot, Blocks::ref(file, "envelope points") + " using 1:($4 > 0 ? 1/0 : $3)" + pts);
  }
  rn.add(ref.n_opt(cmin)), rn.add(ref.n_opt(cext)), rd.add(ref.d_opt(cmin)), rd.add(ref.d_opt(cext));

  auto panel = [&](const std::string& ylabel, const Range& r, const std::string& plot, bool key) {
    std::string p;
    p += "set xlabel 'training compute C = 6ND (FLOPs)'\n";
    p += "set ylabel " + sq(ylabel) + "\n";
    p += cx.axis("x", cmin / 2, cext * 1.5);
    p += cx.axis("y", r.lo / 3, r.hi * 3);
    if (cext > cmax * 1.01) {
      p += fmt::format(
          "set object 1 rect from first {}, graph 0 to graph 1, graph 1 behind fc rgb '#f1f1f1' "
          "fs solid 1.0 noborder\n",
          num(cmax));
      p += fmt::format("set label 1 'extrapolation' at first {}, graph 0.04 left textcolor rgb '#777777'\n",
                       num(cmax * 1.3));
    }
    // In files the legend has its own strip above both panels: inside, it would cover a line somewhere.
    p += key && cx.term ? cx.key("below") : "unset key\n";
    return p + plot + "\n";
  };
  Figure f;
  f.name = "allocation";
  f.title = "Compute-optimal allocation";
  std::string which;
  for (auto* x : fits) which += (which.empty() ? "" : ", ") + fmt::format("{} (fit {})", x->label, x->id);
  f.caption = fmt::format(
      "Compute-optimal model size N_opt(C) (left) and training tokens D_opt(C) (right) from {}. Solid: the fitted "
      "power law over the data; dotted: its extrapolation to {:.3g} FLOPs (grey region); shaded: 95% bootstrap "
      "band. Dashed grey: Chinchilla's published Approach 3 law (Hoffmann et al. 2022), for reference.",
      which, cext);
  f.data = b.str();
  f.panels = {panel("compute-optimal parameters N_{opt}", rn, n_plot, true),
              panel("compute-optimal tokens D_{opt}", rd, d_plot, false)};
  f.panel_titles = {"compute-optimal N_opt(C)", "compute-optimal D_opt(C)"};
  if (!cx.term) {
    legend.insert(legend.begin() + std::min<std::ptrdiff_t>(fits.size(), legend.size()),
                  "keyentry with lines lw 2.2*LW dt 3 lc rgb '#555555' title 'extrapolation'");
    f.legend = legend;
  }
  return f;
}

}  // namespace scalelab::reports
