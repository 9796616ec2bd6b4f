#pragma once
// The typed fit record: what `scalelab fit` builds, what the fits table keeps
// as JSON text, and what forecast, render_fit and the reports read (layout:
// docs/fits.md, "Stored fits"). Each part of the stored JSON is one struct, so
// each key is spelled once, in record_json.cpp. FitRecord::from_json is strict:
// a missing or mistyped key is a UserError naming the fit and the key. Only
// the parts that fits of older releases lack are std::optional.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "fit/backtest.h"
#include "fit/forecast.h"
#include "store/store.h"

namespace scalelab::fit {

using json = nlohmann::ordered_json;

// A value and its bootstrap percentile interval; no bounds without draws.
// Stored as NAME: {value, lo, hi}, lo and hi null without an interval.
struct Estimate {
  std::string name;
  double value = 0;
  std::optional<double> lo, hi;
};
using Estimates = std::vector<Estimate>;  // in the order fitted
const Estimate* find(const Estimates&, const std::string& name);

// result.model: what forecast rebuilds (see fit::Model).
struct ModelSpec {
  std::string kind;      // a law's name, power or allocation
  std::string variable;  // power: N | D | C; allocation: C; "" for L(N, D) laws
  std::vector<double> p;
};

// result.bootstrap
struct BootstrapRecord {
  int resamples = 0;  // 0: no bootstrap, no intervals
  int ok = 0, failed = 0;
  std::vector<std::string> failures;  // the first few reasons
  std::uint64_t seed = 1;
  double level = 0.95;
  std::optional<std::string> method;  // Approach 3: how resamples are refitted
  std::optional<int> grid_start_won;  // Approach 3: resamples a grid start won over the warm start
  double seconds = 0;
  std::vector<std::vector<double>> draws;  // model.p of each successful resample
};

// |predicted - observed| / observed over the held-out points.
struct ErrorStats {
  double mean = 0, max = 0;
};
struct HeldPoint {  // Approach 3: a held-out run (the first 10 are kept)
  std::string id;
  double C = 0, loss = 0, predicted = 0;
};
struct HeldBudget {  // Approach 2: a held-out budget's vertex
  double C = 0, n_opt = 0, predicted_n_opt = 0;
  std::optional<double> l_opt, predicted_l_opt;  // with an L(C) law
};

// result.holdout: refit below a compute threshold, predict above it. Each
// approach fills its parts; `skipped` says why there is no check (set beside
// rule and threshold when the refit failed).
struct Holdout {
  std::optional<std::string> rule;  // "largest compute budget" | "compute threshold"
  std::optional<double> threshold;
  std::optional<int> train_points, test_points;  // Approach 3
  std::optional<ErrorStats> n_opt;               // Approaches 1 and 2: N_opt at the held-out C
  std::optional<ErrorStats> loss;                // Approach 2 with L(C): L* of the held-out budgets
  std::optional<ErrorStats> error;               // the headline figure (loss, or N_opt for Approach 1)
  std::optional<std::string> quantity;           // Approach 1: what `error` measures
  std::vector<HeldPoint> points;                 // Approach 3
  std::vector<HeldBudget> budgets;               // Approach 2
  std::vector<double> params;                    // Approach 3: the refitted law
  std::optional<std::string> skipped;
};

// result.backtest (Approach 3; docs/fits.md, "Backtest").
struct BacktestFold {
  int train_points = 0, test_points = 0;
  double c_test = 0, c_train_max = 0;
};
struct BacktestCandidate {
  std::string law, filter;
  int params = 0, tested = 0;
  std::optional<double> mean_abs_rel_error, max_abs_rel_error, coverage;  // none when not scored
  std::string failed;  // why it could not be scored; "" when it was
};
struct BacktestRecord {
  std::optional<std::string> method;  // none for a frontier fit
  std::vector<BacktestFold> folds;
  std::vector<BacktestCandidate> candidates;
  int chosen = -1;  // index into candidates
  std::optional<std::string> why;          // why the chosen one (none for a frontier fit)
  std::optional<std::string> unavailable;  // why there is no backtest
  const BacktestCandidate* chosen_candidate() const;
};

// result.prediction_interval: the backtest's calibration (fit::Calibration).
struct PredictionInterval {
  bool available = false;
  double level = 0.95;
  std::optional<double> noise;  // none for a frontier fit, which has no residual model
  std::string why;              // when not available
  double kappa = 0, q = 0;      // when available
  int n = 0;
  std::string method;
  static PredictionInterval of(const Calibration&);
  Calibration calibration() const;
};

// result.identification: parameters the data do not pin down.
struct ParamVerdict {
  std::string name;
  bool identified = true;
  std::string why;
};
struct Identification {
  std::vector<ParamVerdict> params;  // judged parameters (those with an interval)
  std::vector<std::string> not_identified;
  const ParamVerdict* find(const std::string& name) const;
};

// result.residuals: log L-hat - log L of the fitted points.
struct Residual {
  std::string id;
  double N = 0, D = 0, C = 0, loss = 0, predicted = 0, residual_log = 0;
};
struct Residuals {
  double rmse_log = 0;
  std::vector<Residual> largest;  // the 5 largest in magnitude
};

// convergence, Approach 3: the solve of fit::Convergence with its settings.
struct SolverConvergence {
  int starts = 0, converged = 0, reached_best = 0, best_start = -1;
  std::vector<double> best_start_x;
  bool best_start_on_grid_boundary = false;
  std::vector<std::string> optimum_outside_grid;
  int best_iterations = 0;
  std::int64_t total_iterations = 0;
  int max_iterations = 0, threads = 1;
  double seconds = 0;
  std::string solver;  // in words
  int polished = 0;
  double function_tolerance = 0, gradient_tolerance = 0, parameter_tolerance = 0, delta = 0;
  bool variable_projection() const { return solver.rfind("variable projection", 0) == 0; }
};

// Approach 3, an L(N, D) law chosen by the backtest.
struct LawPart {
  SolverConvergence convergence;
  Residuals residuals;
  // Absent from fits stored before backtests: their forecasts say there is no prediction interval.
  std::optional<BacktestRecord> backtest;
  std::optional<PredictionInterval> prediction_interval;
  std::optional<Range> range;                    // the fitted region, for the regime verdict
  std::optional<Identification> identification;  // with a bootstrap only
};

// Approach 3, a power law L(x) fitted to the Pareto frontier: not backtested.
struct FrontierPart {
  SolverConvergence convergence;
  std::optional<BacktestRecord> backtest;  // says why there is none
  std::optional<PredictionInterval> prediction_interval;
};

// Approach 2: IsoFLOP parabolas per compute budget.
struct BudgetRecord {
  double C = 0;
  int runs = 0;
  double n_lo = 0, n_hi = 0;
  std::vector<double> parabola;  // c0, c1, c2 in ln N
  bool has_minimum = false, bracketed = false;
  double n_opt = 0, d_opt = 0, l_opt = 0;
  std::string note;
  std::vector<double> suggest_sizes;
};
struct IsoflopPart {
  int budget_count = 0, used = 0;  // convergence: budgets found; bracketed and used
  double tolerance_decades = 0.1;
  std::vector<BudgetRecord> budgets;  // result.budgets
};

// Approach 1: the envelope of training curves.
struct EnvelopeSample {
  double C = 0, N = 0, D = 0, loss = 0;
  std::string run;
  bool edge = false;  // won by an extreme size: kept, not fitted
};
struct EnvelopePart {
  int envelope_points = 0, edge_points = 0, winners = 0;  // convergence
  double smooth_frac = 0;
  std::vector<EnvelopeSample> envelope;  // result.envelope
};

// --law lr: the learning-rate rule lr*(N) = c N^-k (docs/fits.md, "Fitting a
// learning-rate rule"). One scan per (N, D), one row per size.
struct LrScanRecord {
  double N = 0, D = 0;
  std::string shape;
  std::vector<double> lrs, losses;  // the LR grid, and each LR's mean final loss over its seeds
  int runs = 0;
  double grid_lr = 0;  // the LR of the lowest mean loss
  double lr_opt = 0;   // refined by the parabola in ln lr; grid_lr where there is none
  bool bracketed = false;  // the lowest loss has a neighbour on each side
  std::string note;        // why not, in words
};
struct LrSizeRecord {
  double N = 0;
  int scans = 0, bracketed = 0;
  double lr_opt = 0;  // geometric mean of its bracketed scans' lr_opt; 0 when none is
  bool used = false;
};
struct LrPart {
  int sizes = 0, used = 0;  // convergence: sizes seen, sizes fitted
  std::vector<LrScanRecord> scans;     // result.scans
  std::vector<LrSizeRecord> size_rows; // result.sizes
  Identification identification;
};

struct FitRecord {
  // The fits table's columns.
  std::int64_t id = 0;     // 0 until stored
  std::string created_at;  // "" until stored
  std::string source;      // sweep id or csv:PATH
  std::string law;         // a law's name, power or allocation
  std::string approach;    // "1" | "2" | "3"
  json selection = json::object();    // free-form: what went in, what was skipped
  json conventions = json::object();  // free-form: what N, D and C mean
  Estimates params;
  double objective = 0;
  std::int64_t n_points = 0;
  // result: the parts every kind has ...
  Estimates derived;
  ModelSpec model;
  Holdout holdout;
  BootstrapRecord bootstrap;
  std::vector<std::string> warnings;
  double seconds = 0;
  // ... and those of one kind (with its convergence column).
  std::variant<LawPart, FrontierPart, IsoflopPart, EnvelopePart, LrPart> part;

  const LawPart* law_fit() const { return std::get_if<LawPart>(&part); }
  const FrontierPart* frontier_fit() const { return std::get_if<FrontierPart>(&part); }
  const IsoflopPart* isoflop() const { return std::get_if<IsoflopPart>(&part); }
  const EnvelopePart* envelope() const { return std::get_if<EnvelopePart>(&part); }
  const LrPart* lr_rule() const { return std::get_if<LrPart>(&part); }
  // Approach 3's pieces, whichever law.
  const SolverConvergence* solver() const;
  const BacktestRecord* backtest() const;
  const PredictionInterval* prediction_interval() const;
  const Identification* identification() const;

  // The JSON that the fits table's columns and `--json` hold; id and created_at once stored.
  json to_json() const;
  static FitRecord from_json(const json&);  // strict; see the top of this file
};

// Record <-> the fits table. from_store is the row as JSON, for any kind of
// fit (emergence records included); record_of reads a loss-law fit, strictly.
store::Fit to_store(const FitRecord&);
store::Fit to_store(const json& record);
json from_store(const store::Fit&);  // adds "id" and "created_at"
FitRecord record_of(const store::Fit&);

// `scalelab emergence` records share the table but are not FitRecords.
bool is_loss_law(const store::Fit&);
// A learning-rate rule (`fit --law lr`) is a FitRecord, but predicts no loss.
bool is_lr_rule(const store::Fit&);
// The newest fit forecast can use: neither an emergence fit nor an LR rule.
std::optional<store::Fit> latest_loss_law(const std::vector<store::Fit>&);
// The record forecast reads: refuses an emergence fit or an LR rule with one line saying what it needs.
FitRecord loss_law_record(const store::Fit&);

Model model_of(const FitRecord&);
std::vector<std::vector<double>> draws_of(const FitRecord&);
// The same for a record as JSON (e.g. run_fit's), read strictly.
Model model_of(const json& record);
std::vector<std::vector<double>> draws_of(const json& record);

// Human-readable report of a record (the same content as --json, for people).
std::string render_fit(const FitRecord&);

}  // namespace scalelab::fit
