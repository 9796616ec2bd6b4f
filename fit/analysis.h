#pragma once
// A whole `scalelab fit`: the chosen approach, bootstrap intervals, hold-out
// check and residual summary, as one JSON record. The record is what the store
// keeps (split into the fits table's columns), what --json prints, and what
// `forecast` rebuilds the law from. Layout: docs/fits.md, "Stored fits".
#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

#include "fit/approaches.h"
#include "fit/backtest.h"
#include "fit/bootstrap.h"
#include "fit/forecast.h"
#include "fit/laws.h"
#include "store/store.h"

namespace scalelab::fit {

struct Dataset {
  std::string source;          // "csv:PATH" or the sweep id
  bool sweep = false;          // budgets are the sweep's clusters of C (else 0.1-decade bins)
  std::vector<Point> points;   // final losses (Approaches 2 and 3)
  std::vector<Curve> curves;   // training curves (Approach 1)
  nlohmann::ordered_json selection = nlohmann::ordered_json::object();    // what went in, what was skipped
  nlohmann::ordered_json conventions = nlohmann::ordered_json::object();  // FLOP and parameter conventions
};

struct FitOptions {
  int approach = 3;
  std::optional<Law> law;        // Approach 3; unset = auto, chosen by the backtest
  std::optional<Filter> filter;  // unset = chosen by the backtest
  std::string weights = "none";  // none | se (1/se^2, relative to the median se)
  int folds = 2;                 // rolling-origin backtest folds (the largest K budgets)
  SolveSettings solve;
  BootstrapSettings boot;     // resamples = 0 turns the bootstrap off
  std::string holdout = "largest";  // largest | none | a FLOP threshold such as 1e21
  double budget_tolerance = 0.1;    // decades; see cluster_budgets
  EnvelopeOptions envelope;
  double level = 0.95;
};

nlohmann::ordered_json run_fit(const Dataset&, const FitOptions&);

// Record <-> the fits table.
store::Fit to_store(const nlohmann::ordered_json& record);
nlohmann::ordered_json from_store(const store::Fit&);  // adds "id" and "created_at"
Model model_of(const nlohmann::ordered_json& record);
std::vector<std::vector<double>> draws_of(const nlohmann::ordered_json& record);

// Human-readable report of a record.
std::string render_fit(const nlohmann::ordered_json& record);

// Sweep runs -> points and curves (store structs only; the caller reads the store).
struct SweepConventions {
  std::string params = "total";  // total | non_embedding
  std::string flops = "6nd";     // 6nd | exact (tokens x the run's FLOPs per token)
  std::string split = "train";   // curves for Approach 1: train | val
};
Dataset dataset_from_runs(const std::string& sweep_id, const std::vector<store::Run>&, const SweepConventions&,
                          const std::function<std::vector<store::Metric>(const std::string& run_id)>& metrics);

}  // namespace scalelab::fit
