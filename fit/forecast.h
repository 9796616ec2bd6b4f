#pragma once
// Forecasts from a stored fit: budgets in, decisions out, each with the
// percentile interval of the same computation over the bootstrap draws.
// Compute convention for every forecast: C = 6 N D (docs/fits.md).
#include <optional>
#include <string>
#include <vector>

#include "common/accelerators.h"
#include "fit/backtest.h"
#include "fit/laws.h"

namespace scalelab::fit {

// What a fit can predict. Parametric laws carry their parameters; Approaches 1
// and 2 carry N_opt(C) = kN C^a, D_opt(C) = kD C^b and, when fitted, L(C).
struct Model {
  Model() = default;
  Model(std::string k, std::string var, std::vector<double> params)
      : kind(std::move(k)), variable(std::move(var)), p(std::move(params)) {}
  std::string kind;       // a law's name (chinchilla, kaplan, ...), power, or allocation
  std::string variable;   // power: N | D | C
  std::vector<double> p;  // law parameters; allocation: {kN, a, kD, b} [+ {E, G, gamma}]
  // What the fit knows about its own reach (Approach 3 L(N, D) laws only).
  Calibration pi;                          // the prediction interval; pi.why when unavailable
  std::optional<Range> range;              // the fitted region, for the regime verdict
  std::vector<std::string> not_identified;  // parameters the data do not pin down

  std::optional<Law> law() const;  // the registry law, for parametric kinds
  bool has_loss_nd() const;
  double loss(double N, double D, double U = 0) const;  // needs has_loss_nd(); U = 0: fresh data
  std::pair<double, double> optimal(double C) const;    // compute-optimal (N, D)
  bool has_frontier() const;
  double frontier_loss(double C) const;                 // loss of the compute-optimal model at C
  double tokens_for_loss(double N, double L) const;     // D with loss(N, D) = L; inf if unreachable
  double loss_limit(double N) const;                    // loss(N, D -> inf)
};

// The accelerator table lives in common/ (the MFU of `scalelab train` uses it too).
using scalelab::Accelerator;
using scalelab::accelerators;
using scalelab::find_accelerator;

struct Query {
  std::optional<double> compute, target_loss, params, tokens, inference_tokens;
  std::optional<double> unique_tokens;  // data-constrained laws: the unique tokens behind --tokens
  std::optional<double> gpu_hours;  // total GPU-hours; C = GPU-hours * 3600 * peak * mfu
  std::string gpu = "h100";
  std::optional<double> peak_tflops;  // overrides the table
  std::optional<double> gpu_memory_gb;  // overrides the table
  std::optional<int> gpus;  // for wall time (at least the GPUs the memory needs)
  double mfu = 0.4;
  double bytes_per_param = 16;  // bf16 mixed-precision AdamW, see docs/fits.md
};

struct Quantity {
  std::string name, unit;
  double value = 0, lo = 0, hi = 0;  // lo, hi: the confidence interval (the law's own uncertainty)
  int undefined = 0;  // draws where the quantity does not exist (e.g. target below E)
  bool interval = false;
  // Predicted losses: where a new run's loss will land (docs/fits.md, "Prediction interval").
  bool prediction = false;
  double pred_lo = 0, pred_hi = 0;
};

// Validates the query against the model (one clear error for a mode the law
// cannot answer), then evaluates it on the point estimate and every draw, and
// puts a prediction interval around predicted losses where the model has one.
std::vector<Quantity> forecast(const Model&, const std::vector<std::vector<double>>& draws, const Query&,
                               double level = 0.95);
// The point evaluation: ordered (name, unit, value).
struct Value {
  std::string name, unit;
  double v;
};
std::vector<Value> evaluate(const Model&, const Query&);
// Where the query's (N, D) lies against the fitted data; nullopt when the
// model has no fitted range or the query has no (N, D).
std::optional<Horizon> regime(const Model&, const Query&, const std::vector<Quantity>&);

}  // namespace scalelab::fit
