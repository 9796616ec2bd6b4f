#pragma once
// Runs and metric rows as `scalelab runs --json`, `curves --json` and `export`
// write them. The keys are part of the CLI's contract: scripts read them.
#include <nlohmann/json.hpp>

#include "store/store.h"

namespace scalelab::store {

// Every column of a run, in the order of the table (runs.csv's columns).
nlohmann::ordered_json run_fields(const Run& r);

// nlohmann's conversion hooks, so `nlohmann::json(runs)` is the array `runs --json` prints.
void to_json(nlohmann::json& j, const Run& r);
// Without run_id: `curves --json` prints it once, beside the rows.
void to_json(nlohmann::json& j, const Metric& m);

}  // namespace scalelab::store
