// `scalelab report` and `scalelab export`: figures, the HTML report, the
// terminal view, and files for pandas/R (docs/reports.md).
#include <unistd.h>

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "app/commands.h"
#include "common/error.h"
#include "reports/report.h"
#include "store/store.h"

namespace scalelab::app {

namespace {

std::unique_ptr<store::Store> open_existing(const std::string& db) {
  return store::Store::open_existing(db, " (give --db PATH, or set SCALELAB_DB)");
}

struct ReportArgs {
  std::string db, sweep, out = "report", formats = "svg,png";
  double extrapolate_to = 0;
  bool term = false;
  int columns = 0;
};

void run_report(const ReportArgs& a) {
  if (a.term) {
    reports::TermOptions o;
    o.sweep = a.sweep;
    o.extrapolate_to = a.extrapolate_to;
    o.columns = a.columns;
    o.color = isatty(STDOUT_FILENO) && !std::getenv("NO_COLOR");
    o.gnuplot = reports::find_gnuplot();  // before the database: a missing gnuplot is the first thing to fix
    auto st = open_existing(a.db);
    reports::print_terminal(*st, o, stdout);
    return;
  }
  reports::ReportOptions o;
  o.sweep = a.sweep;
  o.out_dir = a.out;
  o.formats = reports::parse_formats(a.formats);
  o.extrapolate_to = a.extrapolate_to;
  o.gnuplot = reports::find_gnuplot();
  auto st = open_existing(a.db);
  auto r = reports::write_report(*st, o);
  for (auto& n : r.notes) fmt::print("note: {}\n", n);
  fmt::print("report of {}: {} runs, {} fit(s), {} figure files in {:.1f} s\n{}\n", r.scope, r.runs, r.fits,
             r.files.size(), r.seconds, r.index);
}

struct ExportArgs {
  std::string db, sweep, out = "export";
  bool csv = false, json = false;
};

void run_export(const ExportArgs& a) {
  if (!a.csv && !a.json) user_error("export needs --csv or --json (or both)");
  auto st = open_existing(a.db);
  reports::ExportOptions o;
  o.sweep = a.sweep;
  o.out_dir = a.out;
  o.csv = a.csv;
  o.json = a.json;
  for (auto& f : reports::export_data(*st, o)) fmt::print("{}\n", f);
}

}  // namespace

void add_report_commands(CLI::App& root) {
  auto ra = std::make_shared<ReportArgs>();
  auto* rep = root.add_subcommand("report", "Figures and a self-contained HTML report of a sweep (or --term)");
  rep->add_option("sweep", ra->sweep, "Sweep name or id (default: the newest sweep)");
  add_db_option(rep, ra->db);
  rep->add_option("--out", ra->out, "Output directory: index.html and figures/")->default_str("report");
  rep->add_option("--format", ra->formats, "Figure formats: any of svg,png,pdf")->default_str("svg,png");
  rep->add_option("--extrapolate-to", ra->extrapolate_to,
                  "Draw the fitted laws out to this compute in FLOPs, e.g. 1e24 (default: 100x the data's largest)");
  rep->add_flag("--term", ra->term, "Print tables and ASCII plots in the terminal instead of writing files");
  rep->add_option("--columns", ra->columns, "With --term: plot width in characters (default: the terminal's)");
  rep->callback([ra] { run_report(*ra); });

  auto ea = std::make_shared<ExportArgs>();
  auto* exp = root.add_subcommand("export", "Runs, metrics, evals and fits as CSV or JSON files for pandas or R");
  exp->add_option("sweep", ea->sweep, "Sweep name or id (default: the newest sweep)");
  add_db_option(exp, ea->db);
  exp->add_flag("--csv", ea->csv, "Write runs.csv, metrics.csv, evals.csv, fits.csv, fit_params.csv");
  exp->add_flag("--json", ea->json, "Write runs.json, metrics.json, evals.json, fits.json");
  exp->add_option("--out", ea->out, "Output directory")->default_str("export");
  exp->callback([ea] { run_export(*ea); });
}

}  // namespace scalelab::app
