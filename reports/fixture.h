#pragma once
// Synthetic sweeps for the report tests and benchmark: an IsoFLOP grid whose
// final losses follow a known Chinchilla law, validation curves that end at
// those losses, optional emergence evals, and fits made by fit/'s own code
// exactly as `scalelab fit` makes them.
#include <cstdint>
#include <string>
#include <vector>

#include "store/store.h"

namespace scalelab::reports::fixture {

struct SweepSpec {
  std::string name = "synthetic";
  std::vector<double> budgets = {1e15, 3e15, 1e16, 3e16, 1e17};  // FLOPs, C = 6ND
  int sizes = 7;        // model sizes per budget, log-spaced around the law's optimum
  double span = 30;     // largest / smallest size of a budget
  int seeds = 1;        // repeats of every (budget, size), with different noise
  int curve_rows = 100; // validation rows per run
  std::string curve_split = "val";  // "train": the curves are training rows instead (a run without evaluations)
  double noise = 0.01;  // multiplicative noise on every loss
  std::uint64_t seed = 7;
  // E, A, B, alpha, beta: Besiroglu et al. 2024's refit of Chinchilla's data.
  std::vector<double> law = {1.82, 482.0, 2085.0, 0.348, 0.366};
  bool evals = false;   // an "addition" task: exact_match, token_logprob, edit_distance, answer_len
  int pending = 0;      // extra runs left pending (no curve, no final loss)
};

struct Made {
  std::string sweep_id;
  int runs = 0;
  std::int64_t metric_rows = 0;
};

Made make_sweep(store::Store&, const SweepSpec&);

// A cooldown ladder of one size (docs/ladders.md): a constant-LR trunk and one
// WSD branch per D, each forked at its cooldown's start, with the trunk's rows
// before the fork copied to it as the trainer's store does.
struct LadderSpec {
  std::string name = "ladder";
  double N = 1e5;
  std::vector<double> tokens = {2e6, 4e6};  // each branch's D
  double tokens_per_step = 1000;
  int every = 40;  // a validation row every this many steps
  double decay_fraction = 0.2;
  std::vector<double> law = {1.82, 482.0, 2085.0, 0.348, 0.366};
};

struct MadeLadder {
  std::string sweep_id, trunk_id;
  std::vector<std::string> branch_ids;
  std::vector<std::int64_t> fork_steps;
};

MadeLadder make_ladder(store::Store&, const LadderSpec&);

// Fits the sweep with each approach (1, 2, 3) and, with power_c, the L(C) power
// law, and stores every fit; returns their ids.
std::vector<std::int64_t> fit_sweep(store::Store&, const std::string& sweep_id, const std::vector<int>& approaches,
                                    int bootstrap, bool power_c = false);

}  // namespace scalelab::reports::fixture
