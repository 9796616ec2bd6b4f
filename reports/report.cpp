// `scalelab report --out DIR`: figures and index.html.
#include "reports/report.h"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "reports/figures.h"
#include "reports/html.h"
#include "reports/load.h"
#include "store/store.h"

namespace scalelab::reports {

namespace fs = std::filesystem;

namespace {

// Checks what does not need the database, so a bad flag fails before any work.
void check(const ReportOptions& o) {
  if (o.formats.empty()) user_error("--format needs at least one of svg, png, pdf");
  for (auto& f : o.formats)
    if (f != "svg" && f != "png" && f != "pdf") user_error("unknown figure format '{}': use svg, png or pdf", f);
  if (!(o.extrapolate_to >= 0) || std::isinf(o.extrapolate_to))
    user_error("--extrapolate-to must be a positive number of FLOPs such as 1e24, got {}", o.extrapolate_to);
  if (o.out_dir.empty()) user_error("--out needs a directory");
}

// Writes through a temporary file, so an interrupted report never leaves half a page.
void write_atomically(const fs::path& p, const std::string& text) {
  const fs::path tmp = p.string() + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary);
    f << text;
    if (!f) user_error("cannot write {}", tmp.string());
  }
  fs::rename(tmp, p);
}

}  // namespace

ReportResult write_report(const store::Store& st, const ReportOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  check(o);
  const std::string gnuplot = o.gnuplot.empty() ? find_gnuplot() : o.gnuplot;
  ReportData d = load_report_data(st, o.sweep);
  if (d.runs.empty() && d.fits.empty())
    user_error("{}: nothing to report: {} has no runs and no fits", st.path(), d.scope);
  const Curves curves = load_curves(st, d.runs, o.curve_points);
  const auto evals = load_evals(st, d.runs);

  std::vector<std::string> notes = d.notes;
  const double cmax = max_compute(d);
  if (o.extrapolate_to > 0 && o.extrapolate_to <= cmax)
    notes.push_back(
        fmt::format("--extrapolate-to {:.3g} is not beyond the data's largest compute ({:.3g} FLOPs): "
                    "nothing is extrapolated.",
                    o.extrapolate_to, cmax));
  FigureContext cx{d, extrapolation_target(d, o.extrapolate_to), notes};
  const auto figures = all_figures(curves, evals, cx);

  const fs::path out = o.out_dir, fig_dir = out / "figures";
  std::error_code ec;
  fs::create_directories(fig_dir, ec);
  if (ec) user_error("cannot create {}: {}", fig_dir.string(), ec.message());
  const std::string generated = store::now_iso8601();
  const std::string about =
      fmt::format("Written by scalelab 0.1.0 on {} from {} in {}.", generated, d.scope, d.db_path);
  render_files(gnuplot, fig_dir.string(), figures, o.formats, about);

  ReportResult r;
  for (auto& f : figures)
    for (auto& x : o.formats) r.files.push_back((fig_dir / (f.name + "." + x)).string());
  PageInput page{d, figures, o.formats, notes, generated};
  write_atomically(out / "index.html", html_page(page));
  r.index = (out / "index.html").string();
  r.scope = d.scope;
  r.notes = notes;
  r.runs = static_cast<int>(d.runs.size());
  r.fits = static_cast<int>(d.fits.size());
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace scalelab::reports
