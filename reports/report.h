#pragma once
// Reports: publication figures (gnuplot), a self-contained HTML page, the same
// story in the terminal, and exports for pandas/R (docs/reports.md).
//
// Everything here only reads the store. Fits are read from the fits table, never
// refitted: a report shows what `scalelab fit` stored, and says so when nothing is.
#include <cstdio>
#include <string>
#include <vector>

namespace scalelab::store {
class Store;
}

namespace scalelab::reports {

// What a report covers: one sweep (name or id prefix), or, when `sweep` is
// empty, the newest sweep, or every run and fit of a database without sweeps.
struct ReportOptions {
  std::string sweep;
  std::string out_dir = "report";
  std::vector<std::string> formats = {"svg", "png"};  // any of svg, png, pdf
  double extrapolate_to = 0;  // FLOPs; 0 = 100x the largest compute in the data
  int curve_points = 60000;   // loss-curve points drawn in all (downsampled for drawing only)
  std::string gnuplot;        // "" = find_gnuplot()
};

struct ReportResult {
  std::string index;                 // .../index.html
  std::string scope;                 // "sweep 'tiny' (de52e894b697)" or "all runs in X"
  std::vector<std::string> files;    // every image written
  std::vector<std::string> notes;    // what could not be drawn or fitted, and why
  int runs = 0, fits = 0;
  double seconds = 0;
};

ReportResult write_report(const store::Store&, const ReportOptions&);

struct TermOptions {
  std::string sweep;
  double extrapolate_to = 0;
  int columns = 0, rows = 0;  // 0 = the terminal's size ($COLUMNS/$LINES or ioctl), else 100 x 30
  bool color = false;         // ANSI colours in the plots
  std::string gnuplot;
};

// Tables and ASCII plots (gnuplot's dumb terminal) on `out`.
void print_terminal(const store::Store&, const TermOptions&, std::FILE* out);

struct ExportOptions {
  std::string sweep;
  std::string out_dir = ".";
  bool csv = false, json = false;
};

// Writes runs, metrics, evals and fits; returns the files written.
std::vector<std::string> export_data(const store::Store&, const ExportOptions&);

// $SCALELAB_GNUPLOT, else `gnuplot` on PATH. Throws UserError naming Debian's
// gnuplot-nox package when there is none.
std::string find_gnuplot();

// Parses "svg,png,pdf" (any subset, any order); throws UserError on anything else.
std::vector<std::string> parse_formats(const std::string&);

}  // namespace scalelab::reports
