// Figure 3: compute-optimal allocation. N_opt(C) and D_opt(C) of every fit
// that has one, with bootstrap bands, the extrapolation beyond the data, the
// points Approaches 1 and 2 fitted through, and Chinchilla's published law.
// Data blocks first (what is drawn), then the layers of the two panels.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "reports/figures.h"

namespace scalelab::reports {

namespace {

const std::string kFile = "allocation.dat";

std::string exponent_title(const FitView& f) {
  // Chinchilla's family (tied exponents included) has the closed-form a = beta / (alpha + beta).
  if (auto law = f.model.law(); law && fit::info(*law).closed_form_optimum) {
    auto c = fit::Chinchilla::from(f.model.p);
    return fmt::format("{}: a = {:.3f}", f.short_label, c.a());
  }
  if (f.model.kind == "allocation") return fmt::format("{}: a = {:.3f}", f.short_label, f.model.p[1]);
  return f.short_label;
}

// What the panels span, and how many of each kind of point were written.
struct Extents {
  LogExtent n, d;
  void add(double N, double D) { n.add(N), d.add(D); }
};

// ---- data

// Approach 2's per-budget vertices. Returns the rows written.
int isoflop_minima_block(const FitView* a2, Blocks& b, Extents& ext) {
  b.block("isoflop minima", "Approach 2's per-budget vertices; columns: C N_opt D_opt bracketed");
  int rows = 0;
  if (auto* iso = a2 ? a2->rec.isoflop() : nullptr)
    for (auto& bf : iso->budgets) {
      if (!bf.has_minimum) continue;
      b.row({bf.C, bf.n_opt, bf.d_opt, bf.bracketed ? 1.0 : 0.0});
      ext.add(bf.n_opt, bf.d_opt);
      ++rows;
    }
  if (!rows) b.row({NAN, NAN, NAN, NAN});
  return rows;
}

// Approach 1's envelope points. Returns the rows written.
int envelope_block(const FitView* a1, Blocks& b, Extents& ext) {
  b.block("envelope points",
          "Approach 1's envelope of training curves; columns: C N D edge (1 = won by an extreme size, not fitted)");
  int rows = 0;
  if (auto* env = a1 ? a1->rec.envelope() : nullptr)
    for (auto& e : env->envelope) {
      b.row({e.C, e.N, e.D, e.edge ? 1.0 : 0.0});
      ext.add(e.N, e.D);
      ++rows;
    }
  if (!rows) b.row({NAN, NAN, NAN, NAN});
  return rows;
}

// Fit k's band, law over the data and extrapolation. Returns whether the band has rows.
bool law_blocks(const FitView& f, std::size_t k, const std::vector<double>& xs, double cmax, double cext, Blocks& b,
                Extents& ext) {
  auto nb = band(f, xs, [](const fit::Model& m, double C) { return m.optimal(C).first; });
  auto db = band(f, xs, [](const fit::Model& m, double C) { return m.optimal(C).second; });
  b.block(fmt::format("band {}", k), f.label + ", 95% bootstrap band; columns: C N_lo N_hi D_lo D_hi");
  int band_rows = 0;
  for (std::size_t i = 0; i < xs.size(); ++i)
    if (std::isfinite(nb[i].first) && std::isfinite(db[i].first)) {
      b.row({xs[i], nb[i].first, nb[i].second, db[i].first, db[i].second});
      ++band_rows;
    }
  if (!band_rows) b.row({NAN, NAN, NAN, NAN, NAN});
  b.block(fmt::format("law {}", k), f.label + ", over the data; columns: C N_opt D_opt");
  for (double c : xs)
    if (c <= cmax * 1.0001) {
      auto [n, d] = f.model.optimal(c);
      b.row({c, n, d});
      ext.add(n, d);
    }
  b.block(fmt::format("extrapolation {}", k), f.label + ", extrapolated beyond the data; columns: C N_opt D_opt");
  for (double c : log_grid(cmax, cext, 40)) {
    auto [n, d] = f.model.optimal(c);
    b.row({c, n, d});
    ext.add(n, d);
  }
  return band_rows > 0;
}

// Chinchilla's published law, as a reference over the whole axis.
void chinchilla_block(double cmin, double cext, Blocks& b, Extents& ext) {
  const auto ref = fit::Chinchilla::from(chinchilla_published());
  b.block("chinchilla",
          "Hoffmann et al. 2022, Approach 3 as published (E 1.69, A 406.4, B 410.7, alpha 0.34, "
          "beta 0.28); columns: C N_opt D_opt");
  for (double c : log_grid(cmin, cext, 30)) b.row({c, ref.n_opt(c), ref.d_opt(c)});
  ext.add(ref.n_opt(cmin), ref.d_opt(cmin)), ext.add(ref.n_opt(cext), ref.d_opt(cext));
}

// ---- layers: the N_opt panel carries the titles, the D_opt panel the same lines untitled

void law_layers(const FitView& f, std::size_t k, bool draw_band, PlotLayers& n, PlotLayers& d) {
  const std::string law = Blocks::ref(kFile, fmt::format("law {}", k));
  const std::string ext = Blocks::ref(kFile, fmt::format("extrapolation {}", k));
  const std::string bnd = Blocks::ref(kFile, fmt::format("band {}", k));
  const std::string col = sq(f.color);
  if (draw_band) {
    n.add(bnd + " using 1:2:3 with filledcurves fs transparent solid 0.18 noborder lc rgb " + col);
    d.add(bnd + " using 1:4:5 with filledcurves fs transparent solid 0.18 noborder lc rgb " + col);
  }
  n.add(law + " using 1:2" + n.titled(" with lines lw 2.2*LW lc rgb " + col, exponent_title(f)));
  d.add(law + " using 1:3 with lines lw 2.2*LW lc rgb " + col);
  n.add(ext + " using 1:2 with lines lw 2.2*LW dt 3 lc rgb " + col);
  d.add(ext + " using 1:3 with lines lw 2.2*LW dt 3 lc rgb " + col);
}

void reference_layers(PlotLayers& n, PlotLayers& d) {
  const std::string chin = " with lines lw 1.6*LW dt 2 lc rgb " + sq(Style::reference);
  n.add(Blocks::ref(kFile, "chinchilla") + " using 1:2" + n.titled(chin, "Chinchilla, Hoffmann et al. 2022"));
  d.add(Blocks::ref(kFile, "chinchilla") + " using 1:3" + chin);
}

// Approach 2's vertices (filled where bracketed, open where not) and Approach 1's fitted envelope points.
void point_layers(bool minima, bool envelope, PlotLayers& n, PlotLayers& d) {
  if (minima) {
    const std::string m = Blocks::ref(kFile, "isoflop minima");
    const std::string pts = " with points pt 13 ps 1.8*PS lc rgb " + sq(Style::approach2);
    n.add(m + " using 1:($4 > 0 ? $2 : 1/0)" + n.titled(pts, "IsoFLOP minima"));
    d.add(m + " using 1:($4 > 0 ? $3 : 1/0)" + pts);
    const std::string open = " with points pt 12 ps 1.8*PS lc rgb " + sq(Style::approach2);
    n.add(m + " using 1:($4 > 0 ? 1/0 : $2)" + open);
    d.add(m + " using 1:($4 > 0 ? 1/0 : $3)" + open);
  }
  if (envelope) {
    const std::string e = Blocks::ref(kFile, "envelope points");
    const std::string pts = " with points pt 7 ps 0.55*PS lc rgb " + sq(Style::approach1);
    n.add(e + " using 1:($4 > 0 ? 1/0 : $2)" + n.titled(pts, "envelope points"));
    d.add(e + " using 1:($4 > 0 ? 1/0 : $3)" + pts);
  }
}

std::string panel(FigureContext& cx, const std::string& ylabel, const LogExtent& r, const PlotLayers& plot, bool key,
                  double cmin, double cmax, double cext) {
  std::string p;
  p += "set xlabel 'training compute C = 6ND (FLOPs)'\n";
  p += "set ylabel " + sq(ylabel) + "\n";
  p += cx.axis("x", cmin / 2, cext * 1.5);
  p += cx.axis("y", r.lo / 3, r.hi * 3);
  if (cext > cmax * 1.01) p += extrapolation_region(cmax, 0.04);
  // In files the legend has its own strip above both panels: inside, it would cover a line somewhere.
  p += key && cx.term ? cx.key("below") : "unset key\n";
  return p + plot.items + "\n";
}

std::string caption(const std::vector<const FitView*>& fits, double cext) {
  std::string which;
  for (auto* x : fits) which += (which.empty() ? "" : ", ") + fmt::format("{} (fit {})", x->label, x->id);
  return fmt::format(
      "Compute-optimal model size N_opt(C) (left) and training tokens D_opt(C) (right) from {}. Solid: the fitted "
      "power law over the data; dotted: its extrapolation to {:.3g} FLOPs (grey region); shaded: 95% bootstrap "
      "band. Dashed grey: Chinchilla's published Approach 3 law (Hoffmann et al. 2022), for reference.",
      which, cext);
}

const FitView* of_approach(const std::vector<const FitView*>& fits, const std::string& approach) {
  const FitView* out = nullptr;
  for (auto* f : fits)
    if (f->approach == approach) out = f;
  return out;
}

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
  const double cmin = min_compute(cx.data), cmax = max_compute(cx.data);
  if (!(cmax > 0)) return std::nullopt;
  const double cext = std::max(cx.c_ext, cmax);

  Blocks b;
  Extents ext;
  const int minima = isoflop_minima_block(of_approach(fits, "2"), b, ext);
  const int envelope = envelope_block(of_approach(fits, "1"), b, ext);
  PlotLayers n, d;
  const auto xs = log_grid(cmin, cext, 90);
  for (std::size_t k = 0; k < fits.size(); ++k)
    law_layers(*fits[k], k, law_blocks(*fits[k], k, xs, cmax, cext, b, ext) && !cx.term, n, d);
  chinchilla_block(cmin, cext, b, ext);
  reference_layers(n, d);
  point_layers(minima > 0, envelope > 0, n, d);

  Figure f;
  f.name = "allocation";
  f.title = "Compute-optimal allocation";
  f.caption = caption(fits, cext);
  f.data = b.str();
  f.panels = {panel(cx, "compute-optimal parameters N_{opt}", ext.n, n, true, cmin, cmax, cext),
              panel(cx, "compute-optimal tokens D_{opt}", ext.d, d, false, cmin, cmax, cext)};
  f.panel_titles = {"compute-optimal N_opt(C)", "compute-optimal D_opt(C)"};
  if (!cx.term) {
    f.legend = n.legend;
    f.legend.insert(f.legend.begin() + std::min<std::ptrdiff_t>(fits.size(), f.legend.size()),
                    "keyentry with lines lw 2.2*LW dt 3 lc rgb '#555555' title 'extrapolation'");
  }
  return f;
}

}  // namespace scalelab::reports
