// Times `scalelab report` on a large synthetic sweep: 1,000 runs and 1,000,000
// metric rows by default (the target: under 10 s). The database is built
// once (runs, curves, evals, and fits by fit/'s own code) and reused.
//
//   build/bench/report_bench [--db PATH] [--out DIR] [--runs-per-budget 100] [--rows 1000] [--rounds 3]
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "reports/fixture.h"
#include "reports/report.h"
#include "store/store.h"

using namespace scalelab;
namespace fs = std::filesystem;

int main(int argc, char** argv) {
  std::string db = (fs::temp_directory_path() / "scalelab-report-bench.db").string();
  std::string out = (fs::temp_directory_path() / "scalelab-report-bench").string();
  int per_budget = 100, rows = 1000, rounds = 3;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] {
      if (i + 1 >= argc) {
        fmt::print(stderr, "{} needs a value\n", a);
        std::exit(2);
      }
      return std::string(argv[++i]);
    };
    if (a == "--db") db = next();
    else if (a == "--out") out = next();
    else if (a == "--runs-per-budget") per_budget = std::stoi(next());
    else if (a == "--rows") rows = std::stoi(next());
    else if (a == "--rounds") rounds = std::stoi(next());
    else {
      fmt::print(stderr,
                 "usage: report_bench [--db PATH] [--out DIR] [--runs-per-budget 100] [--rows 1000] [--rounds 3]\n");
      return a == "--help" ? 0 : 2;
    }
  }
  using clock = std::chrono::steady_clock;
  auto secs = [](clock::time_point t0) { return std::chrono::duration<double>(clock::now() - t0).count(); };
  if (!fs::exists(db)) {
    auto t0 = clock::now();
    auto st = store::Store::open(db);
    reports::fixture::SweepSpec s;
    s.name = "bench";
    s.budgets = {1e15, 2.15e15, 4.64e15, 1e16, 2.15e16, 4.64e16, 1e17, 2.15e17, 4.64e17, 1e18};
    s.sizes = 10;
    s.seeds = std::max(1, per_budget / s.sizes);
    s.curve_rows = rows;
    s.evals = true;
    auto made = reports::fixture::make_sweep(*st, s);
    fmt::print("built {}: {} runs, {} metric rows in {:.1f} s\n", db, made.runs, made.metric_rows, secs(t0));
    t0 = clock::now();
    reports::fixture::fit_sweep(*st, made.sweep_id, {1, 2, 3}, 100, true);
    fmt::print("fitted Approaches 1, 2, 3 and L(C) (100 bootstrap resamples each) in {:.1f} s\n", secs(t0));
  }
  auto st = store::Store::open(db);
  fmt::print("database {}: {} runs, {} metric rows, {} fits\n", db, st->runs().size(), st->metric_count(),
             st->fits().size());
  for (auto formats : {std::vector<std::string>{"svg", "png"}, std::vector<std::string>{"svg", "png", "pdf"}}) {
    double best = INFINITY;
    reports::ReportResult r;
    for (int k = 0; k < rounds; ++k) {
      reports::ReportOptions o;
      o.out_dir = out;
      o.formats = formats;
      auto t0 = clock::now();
      r = reports::write_report(*st, o);
      best = std::min(best, secs(t0));
    }
    std::string f;
    for (auto& x : formats) f += (f.empty() ? "" : ",") + x;
    fmt::print("report --format {}: {} figure files, best of {}: {:.2f} s (target < 10 s)\n", f, r.files.size(),
               rounds, best);
  }
  fmt::print("open {}/index.html; the same from the CLI: scalelab report --db {} --out DIR\n", out, db);
  return 0;
}
