#pragma once
// Emergence analysis (docs/emergence-analysis.md): where a task's discrete
// metric jumps, whether that jump is real or a mirage of a smooth continuous
// trend, and whether the small models could have predicted it.
//
// Everything takes plain observations; analyze() turns a sweep's runs and
// evals rows into them and into one record for the fits table
// (fit/emergence_record.h).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "fit/bootstrap.h"
#include "fit/emergence_record.h"
#include "store/store.h"

namespace scalelab::fit::emergence {

// One measured value: a run's metric at scale (or step) x.
struct Obs {
  double x = 0;
  double y = 0;
  double n = 0;        // items behind y when y is a rate (binomial resampling); 0 for continuous metrics
  int unit = 0;        // bootstrap unit (a run); all of a unit's observations are drawn together
  int stratum = 0;     // units are resampled within their stratum (the scale level, or one stratum over steps)
};

struct ThresholdOptions {
  bool rate = true;         // y is a fraction correct: bounded by [chance, 1], binomial noise
  double chance = 0;        // lower bound of a rate's floor
  double bic_margin = 10;   // the sigmoid must beat constant and linear-in-log x by this much BIC
  double rise_se = 3;       // and rise by this many standard errors
  int resamples = 1000;
  std::uint64_t seed = 1;
  int threads = 0;
};

struct ThresholdFit {
  bool transition = false;
  std::vector<std::string> why_not;  // the rules that failed, in words
  Sigmoid best;
  double rss = 0;                    // weighted residual sum of squares of the sigmoid
  double bic_sigmoid = 0, bic_linear = 0, bic_constant = 0;
  double rise = 0, rise_se = 0;      // |right - left| and its standard error
  double x_lo = 0, x_hi = 0;         // the data's range of x
  int points = 0, levels = 0;
  bool k_at_bound = false;
  // Bootstrap over units (runs) within strata, and binomial resampling of each rate.
  int resamples = 0, failed = 0;
  double transition_share = 0;       // resamples in which the rules still find a transition
  Interval threshold{NAN, NAN}, k{NAN, NAN}, left{NAN, NAN}, right{NAN, NAN};
  std::vector<std::vector<double>> draws;  // (left, right, k, m) per resample, for bands
};

// Fits the sigmoid (multistart over m across the data and k, Ceres with
// bounds), applies the no-transition rules, and bootstraps intervals.
// Throws UserError when there are too few points or scales to say anything.
ThresholdFit fit_threshold(const std::vector<Obs>&, const ThresholdOptions&);

// The sigmoid alone (no rules, no bootstrap): for the tests and the loss ->
// accuracy step of a prediction. Starts from `warm` when given.
Sigmoid fit_sigmoid(const std::vector<Obs>&, const ThresholdOptions&, const Sigmoid* warm = nullptr,
                    double* rss = nullptr, bool* k_at_bound = nullptr);

// BIG-bench's scaling-shape scores (Shape); ys at the same x are averaged first.
Shape shape_scores(const std::vector<double>& x, const std::vector<double>& y);

// The power law (PowerTrend) through a continuous metric.
std::optional<PowerTrend> fit_trend(const std::string& metric, const std::vector<double>& x,
                                    const std::vector<double>& y);

// Everything `scalelab emergence` reports for one sweep and task.
struct Request {
  std::string sweep_id, sweep_name, task;
  std::string x = "params";           // params | compute | tokens | step
  std::string metric = "exact_match";
  std::optional<double> chance;       // default: 0
  std::optional<double> predict_below;  // default: the geometric middle of the scales
  ThresholdOptions threshold;
};

// Runs with their evals; the runs are the sweep's, in launch order.
// UserError for a request the data cannot answer (unknown task or metric, bad flags).
Record analyze(const Request&, const std::vector<store::Run>&,
               const std::function<std::vector<store::Eval>(const std::string& run_id)>& evals);

// The x of a run for --x params|compute|tokens (UserError otherwise).
double run_x(const store::Run&, const std::string& x);

// Human-readable summary of a record.
std::string render(const Record&);

}  // namespace scalelab::fit::emergence
