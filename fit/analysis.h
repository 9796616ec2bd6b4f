#pragma once
// A whole `scalelab fit`: the chosen approach, bootstrap intervals, hold-out
// check and residual summary, as one typed record (fit/record.h). The record
// is what the store keeps (split into the fits table's columns), what --json
// prints, and what `forecast` rebuilds the law from. Layout: docs/fits.md,
// "Stored fits".
#include <nlohmann/json.hpp>

#include <optional>
#include <string>

#include "fit/approaches.h"
#include "fit/backtest.h"
#include "fit/bootstrap.h"
#include "fit/dataset.h"
#include "fit/forecast.h"
#include "fit/laws.h"
#include "fit/record.h"

namespace scalelab::fit {

struct FitOptions {
  int approach = 3;
  bool lr_rule = false;          // --law lr: fit lr*(N) = c N^-k instead of a loss law (fit/lr_rule.h)
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

FitRecord fit_record(const Dataset&, const FitOptions&);
// The same record as the JSON the fits table and --json hold.
nlohmann::ordered_json run_fit(const Dataset&, const FitOptions&);

}  // namespace scalelab::fit
