#pragma once
// The emergence record: what `scalelab emergence` stores in the fits table
// (law "emergence") and what the report draws, as types. Its JSON is the
// stored format of the 0.1.0 release, key for key and in the same order, so
// old databases read back unchanged (tests/e2e/store_release_db.sh).
//
// from_json is strict: a required key that is missing or of the wrong type is
// a UserError naming the key's path (and the fit id when the record has one),
// never a silent default. Optional parts are std::optional. Keys that are
// copies of other fields are written but not read: law (always "emergence"),
// approach (task:metric:x), params (the over-scale threshold's estimates when
// it found a transition), convergence (empty) and a power law's "law" text.
// A number stored as null reads as NaN: nlohmann writes NaN and infinity as null.
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace scalelab::fit::emergence {

using json = nlohmann::ordered_json;
using XY = std::pair<double, double>;

// y = left + (right - left) / (1 + exp(-k (log10 x - m))): `left` is the
// value far below the threshold, `right` far above it (floor and ceiling for
// an accuracy that rises). Threshold 10^m, sharpness k per decade.
struct Sigmoid {
  double left = 0, right = 1, k = 1, m = 0;
  double at(double x) const;
  double threshold() const;
};

// BIG-bench's scaling-shape scores of y against x (Srivastava et al. 2022,
// appendix B; see emergence_scores.cpp for the formulas).
struct Shape {
  double I = 0;                // sign(argmax y - argmin y) (max y - min y)
  double breakthroughness = 0; // B
  double linearity = 0;        // L
  int points = 0;              // distinct x ("scales" in the record)
};

// A smooth power law through a continuous metric: t(y) = A x^b fitted in
// log-log space, where t makes the metric positive (nats -> -logprob,
// accuracy -> 1 - accuracy). R^2 on the metric's own scale and in log space.
struct PowerTrend {
  std::string metric, transform;  // transform: "-y", "1-y" or "y"
  double A = 0, b = 0;
  double r2 = NAN, r2_log = NAN, max_abs_residual = NAN;
  std::vector<XY> residuals;  // (x, y - fit) per observation
  double at(double x) const;  // back on the metric's own scale
};

// A fitted value and its 95% bootstrap interval (lo, hi NaN: no bootstrap).
struct Estimate {
  double value = NAN, lo = NAN, hi = NAN;
};

struct Point {  // one observation: x, value, items behind it (0: continuous)
  double x = 0, y = 0, n = 0;
};

// The sigmoid a threshold fit found (absent when there were too few scales to fit one).
struct SigmoidFit {
  Sigmoid best;
  Estimate threshold, k, left, right;
  bool k_at_bound = false;
  double bic_sigmoid = 0, bic_linear = 0, bic_constant = 0;
  double rise = 0, rise_se = 0;
  double x_lo = 0, x_hi = 0;
  double rss = 0;
  int resamples = 0, failed = 0;
  double transition_share = 0;
  std::vector<Sigmoid> draws;  // at most 200 bootstrap draws, for the figure's band
};

struct Threshold {
  bool transition = false;
  std::vector<std::string> why_not;  // the rules that failed, in words
  std::optional<SigmoidFit> fit;
  int points = 0, levels = 0;
  std::vector<Point> observations;
};

struct Agreement {  // a prediction against observed values
  double r2 = NAN, max_abs_error = 0;
};

// The composition p^L of a per-token metric against the discrete one.
struct Composition {
  std::string source;  // e.g. "exp(token_logprob)^answer_len"
  Agreement per_run;   // each run's own per-token value
  struct Smooth {      // the per-token power law at each run's x
    Agreement agreement;
    std::string from;  // which power law
    bool explained = false;
  };
  std::optional<Smooth> smooth;
};

struct Mirage {
  std::optional<Composition> composition;  // absent without answer_len and a per-token metric
  std::string verdict;
};

// One way of predicting the discrete metric from the small models.
struct Method {
  std::string name;                     // composition | loss_sigmoid
  std::optional<std::string> why_not;   // set: the method could not run, and nothing below is stored
  std::string how;
  std::optional<Sigmoid> sigmoid;       // loss_sigmoid: loss -> accuracy
  std::optional<XY> fitted_accuracy_range;  // loss_sigmoid
  double predicted_crossing = NAN;      // NaN: the prediction never crosses the level
  std::optional<double> error_decades;  // against the observed threshold
  std::optional<Agreement> large_models;
  std::vector<XY> curve;
};

// The small models' per-token trend, extrapolated.
struct Extrapolation {
  double answer_len = 0;
  PowerTrend trend;  // only metric, transform, A and b are stored
  std::vector<Method> methods;
};

struct Prediction {
  double below = 0;  // the small models are the runs with x <= below
  int small_runs = 0, large_runs = 0;
  double level = 0;                 // the value whose crossing is predicted
  double observed_crossing = NAN;   // NaN: no transition observed
  std::optional<Extrapolation> extrapolation;
  std::string why_not;              // when there is no extrapolation
};

struct OverScale {
  Threshold threshold;
  std::vector<std::pair<std::string, Shape>> shape_scores;  // the discrete metric first
  struct Continuous {
    PowerTrend trend;
    std::vector<XY> observations;
  };
  std::vector<Continuous> continuous;  // the continuous metrics with a power law
  Mirage mirage;
  Prediction prediction;

  const PowerTrend* trend(const std::string& metric) const;
};

struct RunRecord {  // a run as the scale analysis used it
  std::string run, name;
  double x = 0;
  std::int64_t step = 0;
  std::vector<std::pair<std::string, double>> metrics;
};

struct RunGroup {  // runs that differ only in their seed
  std::vector<std::pair<std::string, std::string>> runs;  // (id, name)
  std::string label, shape;
  std::int64_t params = 0;
  std::optional<Threshold> test, train;
  std::optional<double> delay;  // test / train transition step, when both switch on
};

struct OverTraining {
  std::vector<RunGroup> groups;
  int transitions = 0;  // groups whose test metric switches on
};

struct Result {
  std::string task, metric, x;
  std::optional<OverScale> over_scale;        // x = params | compute | tokens
  std::vector<RunRecord> runs;                // with over_scale
  std::optional<OverTraining> over_training;  // x = step
  std::optional<std::uint64_t> bootstrap_seed;  // set by `scalelab emergence`
};

struct Conventions {
  std::string x, x_label;
  double chance = 0;
  bool rate = true;
  std::string interval;
};

struct Skipped {
  std::string run, why;
};

struct Selection {
  std::string sweep_name, task, metric;
  int runs = 0, used = 0;
  std::vector<Skipped> skipped;
};

struct Record {
  std::optional<std::int64_t> id;       // once stored
  std::optional<std::string> created_at;
  std::string source;                   // the sweep id
  Conventions conventions;
  int n_points = 0;
  double objective = 0;
  Selection selection;
  Result result;

  std::string approach() const { return result.task + ":" + result.metric + ":" + result.x; }
};

json to_json(const Record&);
// Throws UserError naming the first missing or mistyped key.
Record record_from_json(const json&);

// nlohmann's hooks, so that a Record converts where a json is expected (fit::to_store).
void to_json(json&, const Record&);
void from_json(const json&, Record&);

}  // namespace scalelab::fit::emergence
