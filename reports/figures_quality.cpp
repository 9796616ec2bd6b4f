// Figure 5: how well the parametric law L(N, D) fits. Predicted against
// observed loss (left) and residuals against compute (right), with the largest
// outliers labelled by run.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "reports/figures.h"

namespace scalelab::reports {

namespace {

// A short, plain label for a point id: a run id's first 8 characters, or a CSV row's line.
std::string short_id(const std::string& id) {
  std::string out;
  if (auto colon = id.rfind(':'); colon != std::string::npos && colon + 1 < id.size()) {
    out = "line " + id.substr(colon + 1);
  } else {
    out = id.substr(0, 8);
  }
  std::string clean;
  for (char c : out) clean += std::isalnum(static_cast<unsigned char>(c)) || c == ' ' ? c : '_';
  return clean;
}

}  // namespace

std::optional<Figure> fit_quality_figure(FigureContext& cx) {
  const FitView* pf = nullptr;
  for (auto& f : cx.data.fits)
    if (f.parametric()) {
      pf = &f;
      break;
    }
  if (!pf) {
    cx.notes.push_back(fmt::format(
        "No fit-quality figure: it needs a parametric Approach 3 fit ({} --approach 3), and none is stored for this "
        "scope.",
        cx.fit_command()));
    return std::nullopt;
  }
  if (pf->points.empty()) {
    cx.notes.push_back(fmt::format("No fit-quality figure for fit {}: {}.", pf->id, pf->points_note));
    return std::nullopt;
  }
  struct Row {
    double obs, pred, N, C, resid;
    std::string id;
  };
  std::vector<Row> rows;
  double lo = INFINITY, hi = 0, nlo = INFINITY, nhi = 0, clo = INFINITY, chi = 0, rmax = 0, ss = 0;
  for (auto& p : pf->points) {
    const double pred = pf->model.loss(p.N, p.D);
    if (!std::isfinite(pred) || !(pred > 0)) continue;
    rows.push_back({p.L, pred, p.N, p.C, 100 * (pred / p.L - 1), short_id(p.id)});
    lo = std::min({lo, p.L, pred}), hi = std::max({hi, p.L, pred});
    nlo = std::min(nlo, p.N), nhi = std::max(nhi, p.N), clo = std::min(clo, p.C), chi = std::max(chi, p.C);
    rmax = std::max(rmax, std::fabs(rows.back().resid));
    ss += std::pow(std::log(pred / p.L), 2);
  }
  if (rows.size() < 2) return std::nullopt;
  std::vector<std::size_t> order(rows.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](auto a, auto b) {
    return std::fabs(std::log(rows[a].pred / rows[a].obs)) > std::fabs(std::log(rows[b].pred / rows[b].obs));
  });
  const std::size_t n_out = std::min<std::size_t>(5, rows.size());

  const std::string file = "fit_quality.dat";
  Blocks b;
  b.block("points", fmt::format("fit {} ({}); columns: observed predicted N C residual_percent", pf->id, pf->label));
  for (auto& r : rows) b.row({r.obs, r.pred, r.N, r.C, r.resid});
  // Outliers close together get their labels on alternate sides, so no two overprint.
  std::vector<std::size_t> out(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n_out));
  std::sort(out.begin(), out.end(), [&](auto a, auto c) { return rows[a].obs < rows[c].obs; });
  b.block("outliers", "the largest residuals in log loss; columns: observed predicted N C residual_percent side id");
  int side = 0;
  for (std::size_t k = 0; k < out.size(); ++k) {
    auto& r = rows[out[k]];
    if (k > 0) {
      auto& p = rows[out[k - 1]];
      const bool close = std::fabs(std::log(r.obs / p.obs)) < 0.03 * std::log(hi / lo) + 1e-12 ||
                         std::fabs(std::log(r.C / p.C)) < 0.03 * std::log(chi / clo) + 1e-12;
      side = close ? 1 - side : 0;
    }
    b.row({r.obs, r.pred, r.N, r.C, r.resid, static_cast<double>(side)}, r.id);
  }
  b.block("diagonal", "predicted = observed; columns: loss loss");
  b.row({lo * 0.97, lo * 0.97});
  b.row({hi * 1.03, hi * 1.03});
  if (!(nhi > nlo * 1.01)) nlo /= 1.5, nhi *= 1.5;
  if (!(chi > clo * 1.01)) clo /= 2, chi *= 2;
  const std::string font = " font sprintf(',%g', 0.8 * FS) textcolor rgb '#333333' noenhanced";
  auto labels = [&](const std::string& x, const std::string& y) {
    return Blocks::ref(file, "outliers") + " using " + x + ":($6 == 0 ? " + y +
           " : 1/0):7 with labels left offset char 0.8,0.7" + font + ", \\\n  " + Blocks::ref(file, "outliers") +
           " using " + x + ":($6 == 1 ? " + y + " : 1/0):7 with labels right offset char -0.8,-0.8" + font;
  };

  std::string left;
  left += "set xlabel 'observed final loss (nats/token)'\nset ylabel 'predicted loss (nats/token)'\n";
  left += cx.axis("x", lo * 0.97, hi * 1.03);
  left += cx.axis("y", lo * 0.97, hi * 1.03);
  if (!cx.term) left += "set size square\n";
  left += cx.colour_scale(cx.data.n_label, nlo, nhi, {}, false) + cx.key("top left Left reverse");
  left += "plot " + Blocks::ref(file, "diagonal") +
          " using 1:2 with lines lw 1.2*LW dt 2 lc rgb '#777777' title 'predicted = observed', \\\n  ";
  left += Blocks::ref(file, "points") + " using 1:2:3 with points pt 7 ps 1.0*PS lc palette, \\\n  ";
  left += Blocks::ref(file, "outliers") +
          " using 1:2 with points pt 6 ps 1.9*PS lw 1.2*LW lc rgb '#c0392b' title 'largest residuals', \\\n  ";
  left += labels("1", "$2") + "\n";
  left += "set size nosquare\n";

  std::string right;
  right += "set xlabel 'training compute C (FLOPs)'\nset ylabel 'residual: predicted / observed - 1 (%)'\n";
  right += cx.axis("x", clo / 1.5, chi * 4);  // room for a label at the largest C
  const double r = std::max(rmax * 1.25, 0.5);
  right += fmt::format("set yrange [{}:{}]\n", num(-r), num(r));
  right += cx.colour_scale(cx.data.n_label, nlo, nhi) + "unset key\n";
  right += "set arrow 1 from graph 0, first 0 to graph 1, first 0 nohead lw 1.2*LW dt 2 lc rgb '#777777'\n";
  right += "plot " + Blocks::ref(file, "points") + " using 4:5:3 with points pt 7 ps 1.0*PS lc palette, \\\n  ";
  right += Blocks::ref(file, "outliers") + " using 4:5 with points pt 6 ps 1.9*PS lw 1.2*LW lc rgb '#c0392b', \\\n  ";
  right += labels("4", "$5") + "\n";

  Figure f;
  f.name = "fit_quality";
  f.title = "Parametric fit quality";
  f.caption = fmt::format(
      "{} (fit {}) against the {} points it was fitted to: predicted against observed final loss (left) and the "
      "relative residual against compute (right), coloured by N. RMSE in log loss {:.4f}; the {} largest "
      "residuals are circled and labelled.",
      pf->label, pf->id, rows.size(), std::sqrt(ss / rows.size()), n_out);
  f.data = b.str();
  f.panels = {left, right};
  f.panel_titles = {"predicted vs observed loss", "residual (%) vs compute"};
  return f;
}

}  // namespace scalelab::reports
