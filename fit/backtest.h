#pragma once
// Law selection by how laws extrapolate (docs/fits.md, "Backtest"): point
// filters, rolling-origin backtests over compute budgets, the choice among
// candidates (law x filter), and the prediction interval calibrated on the
// backtests' out-of-sample errors.
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "fit/laws.h"

namespace scalelab::fit {

struct Filter {
  double min_tokens_per_param = 0;  // keep D/N >= X (0 = off)
  double near_optimal = 0;          // keep N within K x of its budget's lowest-loss N (0 = off)
  double max_epochs = 0;            // keep epochs <= R (0 = off)
  bool any() const { return min_tokens_per_param > 0 || near_optimal > 0 || max_epochs > 0; }
  std::string label() const;  // "none", or e.g. "D/N >= 1, near-optimal 3x"
};
// Indices of the points a filter keeps; budgets give each point's budget (near_optimal).
std::vector<std::size_t> apply_filter(const Filter&, const std::vector<Point>&, const std::vector<int>& budgets);
// The same, judged among the points at `among` only (a fold's training set); indices into pts.
std::vector<std::size_t> apply_filter(const Filter&, const std::vector<Point>&, const std::vector<int>& budgets,
                                      const std::vector<std::size_t>& among);
// The elements of v at idx (empty stays empty: no weights means unit weights).
template <typename T>
std::vector<T> select(const std::vector<T>& v, const std::vector<std::size_t>& idx) {
  std::vector<T> out;
  if (v.empty()) return out;
  for (auto i : idx) out.push_back(v[i]);
  return out;
}

// Compute budgets for the backtest: clusters of C as Approach 2 groups a sweep
// (tolerance in decades), or for a CSV bins of 0.1 decade in C.
std::vector<int> backtest_budgets(const std::vector<Point>&, bool sweep, double tolerance);

struct Fold {
  std::vector<std::size_t> train, test;  // indices into the points
  double c_test = 0;                     // smallest C held out
};
// Rolling origin: for each of the largest K budgets, fit on every budget below
// it and predict it. Top budgets are merged until a fold holds at least
// max(3, n/20) points; folds need at least 2 budgets to train on.
std::vector<Fold> rolling_folds(const std::vector<Point>&, const std::vector<int>& budgets, int K);
int budget_count(const std::vector<int>& budgets);

// The fitted region, and how far a query lies outside it.
struct Range {
  double c_lo = 0, c_hi = 0, n_lo = 0, n_hi = 0, d_lo = 0, d_hi = 0, r_lo = 0, r_hi = 0;  // r = D/N
  static Range of(const std::vector<Point>&);
};
struct Horizon {
  double decades = 0;   // the largest distance outside the range, in decades (0 inside)
  std::string verdict;  // "inside the data", "extrapolating x12 beyond the largest fitted C", ...
  bool inside = true;
};
Horizon horizon(const Range&, double N, double D);

// Prediction-interval model (docs/fits.md): the out-of-sample sd of log L at
// horizon h is sqrt(sd_boot^2 + noise^2 + (kappa h)^2), scaled by q, the
// conformal quantile of the backtest residuals normalised by that sd.
struct Calibration {
  bool available = false;
  std::string why;   // when not available
  double noise = 0;  // in-sample sd of the log residuals of the fit
  double kappa = 0;  // growth of the out-of-sample sd per decade of extrapolation
  double q = 0;      // quantile of the normalised backtest residuals at `level`
  int n = 0;         // backtest residuals it rests on
  double level = 0.95;
  double sd(double sd_boot, double h) const;
  double half_width(double sd_boot, double h) const { return q * sd(sd_boot, h); }
};

struct Candidate {
  Law law;
  Filter filter;
};

struct CandidateResult {
  Candidate cand;
  int n_params = 0;
  double mean_rel = NAN, max_rel = NAN;  // over every fold's held-out points
  double coverage = NAN;                 // of the `level` PI, each fold calibrated on the others
  int tested = 0;
  std::string failed;  // why it could not be scored
  std::vector<double> residual, horizon, noise;  // per held-out point: log L - log L-hat, decades, fold noise
  std::vector<int> fold;                         // per held-out point
};

struct BacktestOptions {
  int folds = 2;
  double level = 0.95;
  double tie = 0.05;  // candidates within this relative margin (+ 0.01 points) of the best count as tied
  SolveSettings solve;
  std::vector<double> weights;  // per point (empty = ones)
};

struct Selection {
  std::vector<Fold> folds;
  std::vector<CandidateResult> rows;
  int chosen = -1;
  std::string why;
  std::string unavailable;  // why there is no backtest
};

// The candidate list: `law` (or every L(N, D) law the data allow, for auto) x
// the filters (or the one given); a filter that keeps every point is left out.
std::vector<Candidate> candidates(std::optional<Law> law, const std::vector<Point>&, const std::vector<int>& budgets,
                                  std::optional<Filter> fixed);
Selection backtest(const std::vector<Point>&, const std::vector<int>& budgets, const std::vector<Candidate>&,
                   const BacktestOptions&);
// In-sample noise of a fit: sqrt(sum r^2 / (n - params)) over log residuals.
double residual_noise(Law, const std::vector<double>& p, const std::vector<Point>&);
// kappa and q from a candidate's backtest residuals (all folds, or all but `skip_fold`).
Calibration calibrate(const CandidateResult&, double noise, double level, int skip_fold = -1);

}  // namespace scalelab::fit
