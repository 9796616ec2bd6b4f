// `scalelab report --term`: the report's story in the terminal. Fit tables in
// the same form `scalelab fit` prints them, the CLI's one table style, and each
// figure's panels drawn by gnuplot's dumb terminal at the terminal's size.
#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "common/error.h"
#include "common/table.h"
#include "fit/analysis.h"
#include "reports/figures.h"
#include "reports/report.h"
#include "reports/summary.h"

namespace scalelab::reports {

namespace {

int env_int(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::atoi(v) : 0;
}

// $COLUMNS/$LINES first (what the user asked for), then the terminal itself.
std::pair<int, int> terminal_size(const TermOptions& o, std::FILE* out) {
  int cols = o.columns > 0 ? o.columns : env_int("COLUMNS");
  int rows = o.rows > 0 ? o.rows : env_int("LINES");
  winsize ws{};
  for (int fd : {fileno(out), STDOUT_FILENO, STDERR_FILENO}) {
    if ((cols > 0 && rows > 0) || ioctl(fd, TIOCGWINSZ, &ws) != 0 || ws.ws_col == 0) continue;
    if (cols <= 0) cols = ws.ws_col;
    if (rows <= 0) rows = ws.ws_row;
  }
  return {cols > 0 ? cols : 100, rows > 0 ? rows : 30};
}

std::string table_text(const Rows& r) {
  if (r.rows.empty()) return "";
  Table t(r.headers);
  for (auto& row : r.rows) t.add(row);
  return t.render();
}

// The run table in the terminal is already wider than most terminals: epochs
// and the val loss's standard error join it only with a ladder's columns, which
// also keeps the view of a database without ladders as the 0.1.0 release printed it.
Rows terminal_run_rows(const ReportData& d) {
  Rows r = run_rows(d);
  if (std::find(r.headers.begin(), r.headers.end(), "parent") != r.headers.end()) return r;
  for (const char* name : {">val loss SE", ">epochs"}) {
    auto at = std::find(r.headers.begin(), r.headers.end(), name);
    if (at == r.headers.end()) continue;
    const auto i = at - r.headers.begin();
    r.headers.erase(at);
    for (auto& row : r.rows) row.erase(row.begin() + i);
  }
  return r;
}

}  // namespace

void print_terminal(const store::Store& st, const TermOptions& o, std::FILE* out) {
  const std::string gnuplot = o.gnuplot.empty() ? find_gnuplot() : o.gnuplot;
  if (!(o.extrapolate_to >= 0))
    user_error("--extrapolate-to must be a positive number of FLOPs, got {}", o.extrapolate_to);
  ReportData d = load_report_data(st, o.sweep);
  if (d.runs.empty() && d.fits.empty())
    user_error("{}: nothing to report: {} has no runs and no fits", st.path(), d.scope);
  auto [cols, rows] = terminal_size(o, out);
  const int width = std::clamp(cols, 40, 300);
  const int height = std::clamp(rows * 2 / 3, 16, 50);

  std::vector<std::string> notes = d.notes;
  FigureContext cx{d, extrapolation_target(d, o.extrapolate_to), notes, true};
  // A terminal plot has a few hundred columns: a few points per run are plenty.
  const auto curves = load_curves(st, d.runs, width * 8);
  const auto figures = all_figures(curves, load_evals(st, d.runs), cx);

  fmt::print(out, "{}: {} runs ({} finished), {} fit(s), database {}\n", d.scope, d.runs.size(), d.finished,
             d.fits.size(), d.db_path);
  if (auto m = missing_fits_text(d); !m.empty()) notes.insert(notes.begin(), m);
  for (auto& n : notes) fmt::print(out, "note: {}\n", n);

  if (!d.runs.empty()) {
    fmt::print(out, "\nruns\n");
    auto rr = terminal_run_rows(d);
    const std::size_t shown = 40;
    if (rr.rows.size() > shown) {
      const std::size_t total = rr.rows.size();
      rr.rows.resize(shown);
      fmt::print(out, "{}... and {} more (scalelab runs, or the HTML report)\n", table_text(rr), total - shown);
    } else {
      fmt::print(out, "{}", table_text(rr));
    }
  }
  for (auto& f : d.fits) {
    fmt::print(out, "\n{} (fit {})\n{}", f.label, f.id, fit::render_fit(f.rec));
    auto fr = forecast_rows(f);
    if (!fr.rows.empty())
      fmt::print(out, "\nforecast, compute-optimal at C = 6ND (95% bootstrap intervals):\n{}", table_text(fr));
  }
  for (auto& f : figures)
    for (std::size_t p = 0; p < f.panels.size(); ++p)
      fmt::print(out, "\n{}", render_dumb(gnuplot, f, p, width, height, o.color));
}

}  // namespace scalelab::reports
