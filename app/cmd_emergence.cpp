// `scalelab emergence SWEEP --task T`: where a task's discrete metric jumps,
// whether the jump is a mirage of a smooth trend, and what the small models
// predicted (docs/emergence-analysis.md). The record goes into the fits table
// as law "emergence", where the report finds it.
#include <fmt/format.h>

#include <memory>
#include <optional>

#include "app/commands.h"
#include "common/error.h"
#include "fit/analysis.h"
#include "fit/emergence.h"
#include "store/store.h"

namespace scalelab::app {

namespace {

struct EmergenceArgs {
  std::string db, sweep, task, x = "params", metric = "exact_match";
  int bootstrap = 1000, threads = 0;
  std::uint64_t seed = 1;
  std::optional<double> chance, predict_below;
  bool json = false;
};

void run_emergence(const EmergenceArgs& a) {
  if (a.bootstrap < 0) user_error("--bootstrap must be >= 0, got {}", a.bootstrap);
  if (a.chance && !(*a.chance >= 0 && *a.chance < 1)) user_error("--chance must be in [0, 1), got {}", *a.chance);
  if (a.predict_below && !(*a.predict_below > 0)) user_error("--predict-below must be positive, got {}", *a.predict_below);
  auto st = store::Store::open(a.db);
  auto sw = st->sweep(a.sweep);
  if (!sw) user_error("{}: no sweep '{}' (see `scalelab runs`)", a.db, a.sweep);
  fit::emergence::Request q;
  q.sweep_id = sw->id;
  q.sweep_name = sw->name;
  q.task = a.task;
  q.x = a.x;
  q.metric = a.metric;
  q.chance = a.chance;
  q.predict_below = a.predict_below;
  q.threshold.resamples = a.bootstrap;
  q.threshold.seed = a.seed;
  q.threshold.threads = a.threads;
  // Runs in launch order, members of the sweep (a run may be shared with another sweep).
  std::vector<store::Run> runs;
  for (auto& m : st->sweep_runs(sw->id))
    if (auto r = st->run(m.id)) runs.push_back(*r);
  if (runs.empty()) runs = st->runs(sw->id);
  if (runs.empty()) user_error("sweep '{}' has no runs", a.sweep);
  auto rec = fit::emergence::analyze(q, runs, [&](const std::string& id) { return st->evals(id); });
  rec["result"]["bootstrap_seed"] = a.seed;
  auto row = fit::to_store(rec);
  row.created_at = store::now_iso8601();
  rec["id"] = st->add_fit(row);
  rec["created_at"] = row.created_at;
  if (a.json) {
    fmt::print("{}\n", rec.dump(2));
    return;
  }
  fmt::print("emergence fit {} stored in {}\n{}", rec["id"].get<std::int64_t>(), a.db, fit::emergence::render(rec));
}

}  // namespace

void add_emergence_command(CLI::App& root) {
  auto a = std::make_shared<EmergenceArgs>();
  auto* c = root.add_subcommand(
      "emergence", "Threshold fit, mirage diagnostics and small-model prediction for a task's evals in a sweep");
  c->add_option("sweep", a->sweep, "Sweep name or id")->required();
  add_db_option(c, a->db);
  c->add_option("--task", a->task, "Task name as in the evals table (e.g. addition)")->required();
  c->add_option("--x", a->x, "Against: params | compute | tokens | step (over training)")->default_str("params");
  c->add_option("--metric", a->metric, "Discrete metric to fit")->default_str("exact_match");
  c->add_option("--chance", a->chance, "Chance level: the lowest floor a rate may have (default 0)");
  c->add_option("--predict-below", a->predict_below,
                "Predict from runs with x at or below this (default: the geometric middle of the scales)");
  c->add_option("--bootstrap", a->bootstrap, "Bootstrap resamples (0 = off)")->default_str("1000");
  c->add_option("--seed", a->seed, "Bootstrap seed")->default_str("1");
  c->add_option("--threads", a->threads, "Threads (0 = all cores)")->default_str("0");
  c->add_flag("--json", a->json, "Print the stored record as JSON");
  c->callback([a] { run_emergence(*a); });
}

}  // namespace scalelab::app
