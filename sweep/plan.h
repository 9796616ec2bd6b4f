#pragma once
// Turns a sweep config into the list of runs it stands for. Pure arithmetic:
// nothing is measured or written here (calibrate.h adds time estimates).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "store/store.h"
#include "sweep/run_config.h"
#include "sweep/sweep_config.h"

namespace scalelab::sweep {

struct PlannedRun {
  RunConfig config;
  store::Run record;       // id, shape, N, FLOPs/token, planned tokens, as stored
  double budget = 0;       // isoflop: the budget C this run belongs to; grid: 0
  double flops = 0;        // FLOPs/token * D: the compute this run will spend
  double n = 0;            // N under the sweep's param convention (flops.params)
  double tokens_per_param = 0;  // D / n
  std::int64_t steps = 0;
  double est_s = -1;       // estimated wall time; < 0 until estimated
  std::string skipped;     // why a filter dropped it; empty for runs that go ahead
  // Ladders (docs/ladders.md): a branch forks from its trunk's state at fork_step
  // and trains only the steps after it.
  std::string parent;          // the trunk's run id; empty for trunks and ordinary runs
  std::int64_t fork_step = 0;
  double own_tokens() const { return double(steps - fork_step) * double(config.spec.batch_tokens); }
};

struct Plan {
  std::vector<PlannedRun> runs;     // in launch order, longest first once estimated
  std::vector<PlannedRun> skipped;  // dropped by a filter, with the reason
  std::vector<std::string> notes;   // e.g. a budget left with fewer than 3 sizes
  double total_tokens() const;
  double total_flops() const;
  double total_est_s() const;  // < 0 if any run lacks an estimate
};

// Every run of the sweep, filtered by the filters that need no estimate. Throws
// UserError (naming the sweep file and key) when the axes cannot be honoured.
Plan make_plan(const SweepConfig& sc);

// Ladder mode: the planned grid's points become WSD branches of one trunk per
// size (and lr, seed); adds the trunks, first, and a note comparing the ladder's
// compute with independent runs to the same points.
void make_ladders(const SweepConfig& sc, Plan& plan);

// The planned run whose id starts with `id_or_name` or whose name it is; a
// UserError when none is, or when a prefix fits several.
const PlannedRun& find_run(const Plan& plan, const std::string& id_or_name);

// Tokens per second for a run's shape on the chosen device; see calibrate.h.
using ThroughputFn = std::function<double(const PlannedRun&)>;
// Fills est_s, applies filters.max_est_runtime and puts the longest runs first,
// which shortens a pool's makespan.
void estimate(Plan& plan, const SweepConfig& sc, const ThroughputFn& tokens_per_s);

// One line for stderr when planned runs would train on their data more than
// `max_epochs` times (the data-constrained regime, where repeated tokens are worth
// less than fresh ones); "" when none would, or when no run's data size is known
// from file sizes (trainer::unique_train_tokens).
std::string epoch_warning(const Plan& plan, double max_epochs = 4);

// Wall time of the plan on `slots` parallel workers (longest first onto the
// least loaded worker).
double makespan(const Plan& plan, int slots);

}  // namespace scalelab::sweep
