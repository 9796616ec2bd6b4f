#pragma once
// Chinchilla's Approaches 1 (envelope of training curves) and 2 (IsoFLOP
// parabolas): compute-optimal N_opt(C) = kN C^a and D_opt(C) = kD C^b.
#include <optional>
#include <string>
#include <vector>

#include "fit/laws.h"

namespace scalelab::fit {

// Groups points into compute budgets: sorted by C, a new budget starts where
// consecutive C differ by more than `tolerance_decades` (default: a factor 1.26).
// Returns each point's budget index (0 = smallest budget).
std::vector<int> cluster_budgets(const std::vector<Point>&, double tolerance_decades = 0.1);

struct BudgetFit {
  double C = 0;  // geometric mean of the budget's C
  int runs = 0;
  double n_lo = 0, n_hi = 0;           // sampled size range
  double c0 = 0, c1 = 0, c2 = 0;       // L = c0 + c1 x + c2 x^2, x = ln N
  double n_opt = 0, d_opt = 0, l_opt = 0;
  bool has_minimum = false;            // c2 > 0
  bool bracketed = false;              // the vertex lies within the sampled sizes
  std::string note;                    // plain words when not bracketed
  std::vector<double> suggest;         // sizes to add
};

struct Allocation {
  LogLine n_opt, d_opt;               // N_opt = kN C^a, D_opt = kD C^b
  std::optional<std::vector<double>> frontier;  // L(C) = E + G C^-gamma: {E, G, gamma}
  std::vector<std::string> warnings;
};

struct IsoflopFit : Allocation {
  std::vector<BudgetFit> budgets;
  int used = 0;  // budgets in the power-law fits
};

// Approach 2. groups from cluster_budgets; weights are bootstrap multiplicities.
// Budgets with fewer than 3 distinct sizes are skipped; unbracketed ones are
// reported and left out of the power laws. Throws UserError if fewer than 2 remain.
IsoflopFit fit_isoflop(const std::vector<Point>&, const std::vector<int>& groups,
                       const std::vector<double>& weights = {}, bool fit_frontier = true);

// A training curve: a run's (tokens, loss) in order.
struct Curve {
  std::string id;
  double N = 0;
  double flops_per_token = 0;  // C = tokens * flops_per_token, per the FLOP convention
  std::vector<double> tokens, loss;
};

struct EnvelopePoint {
  double C = 0, N = 0, D = 0, L = 0;
  std::string id;
  bool edge = false;  // won by the smallest or largest size: the optimum may lie beyond, not fitted
};

struct EnvelopeFit : Allocation {
  std::vector<EnvelopePoint> points;
  int winners = 0;  // distinct runs on the envelope (excluding edge sizes)
  int edge_points = 0;
};

struct EnvelopeOptions {
  int points = 200;          // log-spaced FLOP values
  double smooth_frac = 0.05; // moving-average half-window, as a fraction of a curve's points
};

// Approach 1. Curves with multiplicity 0 (bootstrap) are skipped.
EnvelopeFit fit_envelope(const std::vector<Curve>&, const EnvelopeOptions& = {},
                         const std::vector<double>& weights = {}, bool fit_frontier = true);
// The centred moving average used to smooth curves, its window shrinking
// symmetrically at both ends (exposed for tests).
std::vector<double> smooth(const std::vector<double>& y, int half_window);

}  // namespace scalelab::fit
