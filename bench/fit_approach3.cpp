// Benchmark: the full 4,500-start Chinchilla Approach-3 fit on Epoch's 240
// points, and a 1,000-resample bootstrap. Not a test: prints timings.
//   fit_approach3 [CSV] [--threads T] [--resamples R] [--check K]
// --check K also refits K bootstrap resamples from the full grid and reports how
// far the warm-started bootstrap fits (full-data optimum + 24 grid starts) are
// from them: the honesty check for the bootstrap's shortcut.
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <string>

#include "fit/bootstrap.h"
#include "fit/csv.h"
#include "fit/laws.h"

using namespace scalelab::fit;

int main(int argc, char** argv) {
  std::string csv = SCALELAB_SOURCE_DIR "/tests/data/svg_extracted_data.csv";
  int threads = 0, resamples = 1000, check = 0, repeats = 3;
  for (int i = 1; i < argc; ++i) {
    auto next = [&] { return i + 1 < argc ? std::atoi(argv[++i]) : 0; };
    if (!std::strcmp(argv[i], "--threads")) threads = next();
    else if (!std::strcmp(argv[i], "--resamples")) resamples = next();
    else if (!std::strcmp(argv[i], "--check")) check = next();
    else if (!std::strcmp(argv[i], "--repeats")) repeats = next();
    else csv = argv[i];
  }
  auto pts = read_csv_points(csv, {"Model Size", "Training FLOP", "", "loss"}, 5).points;
  SolveSettings s;
  s.threads = threads;
  ParamFit best;
  double fastest = INFINITY;
  for (int r = 0; r < repeats; ++r) {  // best of `repeats`, as timeit does
    auto t0 = std::chrono::steady_clock::now();
    best = fit_law(Law::chinchilla, pts, s);
    fastest = std::min(fastest, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  auto c = Chinchilla::from(best.p);
  fmt::print("full_grid_seconds={:.3f} threads={} starts={} converged={} reached_best={} iterations={}\n", fastest,
             best.conv.threads, best.conv.starts, best.conv.converged, best.conv.reached_best,
             best.conv.total_iterations);
  fmt::print("objective={:.10f} A={:.2f} B={:.1f} E={:.4f} alpha={:.4f} beta={:.4f}\n", best.objective, c.A, c.B,
             c.E, c.alpha, c.beta);

  BootstrapSettings bs;
  bs.resamples = resamples;
  bs.threads = threads;
  auto d = bootstrap_law(Law::chinchilla, pts, best, s, bs);
  auto alpha = percentile_interval(column(d.values, 3));
  fmt::print("bootstrap_seconds={:.3f} resamples={} ok={} grid_start_won={} alpha_95=[{:.4f}, {:.4f}]\n", d.seconds,
             resamples, d.values.size(), d.grid_start_won, alpha.lo, alpha.hi);

  if (check > 0) {
    double worst_gap = 0, worst_alpha = 0;
    for (int i = 0; i < check; ++i) {
      auto rng = resample_rng(bs.seed, i);
      auto w = resample_weights(pts.size(), rng);
      auto full = fit_law(Law::chinchilla, pts, s, w);
      const double warm = objective(Law::chinchilla, d.values[i], pts, s.delta, w);
      worst_gap = std::max(worst_gap, (warm - full.objective) / full.objective);
      worst_alpha = std::max(worst_alpha, std::fabs(d.values[i][3] - full.p[3]));
    }
    fmt::print("check: {} resamples refitted from the full grid; worst relative objective gap {:.2e}, "
               "worst |alpha difference| {:.2e}\n",
               check, worst_gap, worst_alpha);
  }
}
