#pragma once
// What `scalelab plan` shows: a sweep's runs with measured time estimates, on
// the pool `scalelab sweep` would use, in the order a reader scans them.
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "store/store.h"
#include "sweep/launch.h"
#include "sweep/plan.h"
#include "sweep/sweep_config.h"

namespace scalelab::sweep {

// Hears progress lines meant for stderr (e.g. one per shape calibrated).
using Say = std::function<void(const std::string&)>;

struct PlanRequest {
  std::string config, db;  // db: the throughput calibration cache
  std::string device;      // "": the config's first device
  std::string show;        // a run's id prefix or name: only its resolved config
  int threads = 0;         // 0: as the sweep would use
  bool calibrate = true;
};

struct PlanView {
  SweepConfig config;
  Plan plan;
  PoolOptions pool;        // resolved as the sweep would resolve it
  std::string shown_toml;  // with PlanRequest::show: the run's canonical TOML, and nothing else is filled
};

PlanView view_plan(const PlanRequest& r, const Say& say);

// The pool a sweep config asks for, before command-line overrides and resolve_pool.
PoolOptions pool_options(const SweepConfig& sc);

// Estimates every run from a measured, cached calibration of its shape.
void add_estimates(Plan& plan, const SweepConfig& sc, store::Store& st, const std::string& device, int threads,
                   const Say& say);

// By budget, then size, then tokens, lr and seed.
std::vector<const PlannedRun*> display_order(const std::vector<PlannedRun>& runs);

// The plan as `scalelab plan` prints it: a header line, a table of the runs in
// display order, totals, skipped runs and notes.
std::vector<std::string> render_plan(const PlanView& v);

// `scalelab plan --json`.
nlohmann::json plan_json(const PlanView& v);

}  // namespace scalelab::sweep
