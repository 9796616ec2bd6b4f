#pragma once
// Nonparametric bootstrap: resample points (runs) with replacement, refit,
// report percentile intervals. Seeded and independent of thread scheduling:
// resample i always draws from its own generator, seeded from (seed, i).
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "fit/laws.h"

namespace scalelab::fit {

struct BootstrapSettings {
  int resamples = 1000;
  std::uint64_t seed = 1;
  int threads = 0;
  // Approach 3: each resample starts from the full-data optimum and from this
  // many starts drawn from the law's grid (docs/fits.md, "Bootstrap"); Kaplan
  // and power laws use at most 8.
  int grid_starts = 24;
};

struct Draws {
  std::vector<std::vector<double>> values;  // successful resamples only, in index order
  int failed = 0;
  std::vector<std::string> failures;  // first few reasons
  double seconds = 0;
  // Approach 3: resamples whose best came from a grid start, not the warm start.
  int grid_start_won = 0;
};

struct Interval {
  double lo = 0, hi = 0;
};

// The generator of resample `index`.
std::mt19937_64 resample_rng(std::uint64_t seed, int index);
// Multiplicities of n points drawn with replacement (sum = n).
std::vector<double> resample_weights(std::size_t n, std::mt19937_64& rng);
// Within each group, draw as many members as the group has (stratified).
std::vector<double> resample_weights_grouped(const std::vector<int>& group, std::mt19937_64& rng);

// Runs fn(i, rng) for every resample, in parallel; fn returns the statistics of
// one resample, or nullopt / throws UserError when the resample is degenerate.
Draws bootstrap(const BootstrapSettings&,
                const std::function<std::optional<std::vector<double>>(int, std::mt19937_64&)>& fn);

// Grid starts per resample besides the warm start: grid_starts for Chinchilla's
// L-BFGS kernel; at most 4 for the laws refitted by LM (slower per start).
int bootstrap_grid_starts(Law, const BootstrapSettings&);
// Refits a parametric law on each resample (warm start + grid_starts grid starts).
// base: per-point weights the multiplicities multiply (empty = ones).
Draws bootstrap_law(Law, const std::vector<Point>&, const ParamFit& best, const SolveSettings&,
                    const BootstrapSettings&, const std::vector<double>& base = {});

// Percentile with linear interpolation between order statistics (numpy's default).
double percentile(std::vector<double> v, double q);
Interval percentile_interval(const std::vector<double>& v, double level = 0.95);
// Column k of a draws matrix.
std::vector<double> column(const std::vector<std::vector<double>>& m, std::size_t k);

}  // namespace scalelab::fit
