// `scalelab emergence SWEEP --task T`: where a task's discrete metric jumps,
// whether the jump is a mirage of a smooth trend, and what the small models
// predicted (docs/emergence-analysis.md). The record goes into the fits table
// as law "emergence", where the report finds it.
#include <fmt/format.h>

#include <memory>

#include "app/commands.h"
#include "common/error.h"
#include "fit/analysis.h"
#include "fit/emergence.h"
#include "store/store.h"

namespace scalelab::app {

namespace {

struct EmergenceArgs {
  std::string db, sweep;
  fit::emergence::Request q;  // the flags fill it; analyze() checks them
  bool json = false;
};

void run_emergence(EmergenceArgs a) {
  auto st = store::Store::open_existing(a.db);
  auto sw = st->sweep(a.sweep);
  if (!sw) user_error("{}: no sweep '{}' (see `scalelab runs`)", a.db, a.sweep);
  a.q.sweep_id = sw->id, a.q.sweep_name = sw->name;
  // Runs in launch order, members of the sweep (a run may be shared with another sweep).
  std::vector<store::Run> runs;
  for (auto& m : st->sweep_runs(sw->id))
    if (auto r = st->run(m.id)) runs.push_back(*r);
  if (runs.empty()) runs = st->runs(sw->id);
  if (runs.empty()) user_error("sweep '{}' has no runs", a.sweep);
  auto rec = fit::emergence::analyze(a.q, runs, [&](const std::string& id) { return st->evals(id); });
  rec.result.bootstrap_seed = a.q.threshold.seed;
  auto row = fit::to_store(fit::emergence::to_json(rec));
  row.created_at = store::now_iso8601();
  rec.id = st->add_fit(row);
  rec.created_at = row.created_at;
  if (a.json)
    fmt::print("{}\n", fit::emergence::to_json(rec).dump(2));
  else
    fmt::print("emergence fit {} stored in {}\n{}", *rec.id, a.db, fit::emergence::render(rec));
}

}  // namespace

void add_emergence_command(CLI::App& root) {
  auto a = std::make_shared<EmergenceArgs>();
  auto& q = a->q;
  auto* c = root.add_subcommand(
      "emergence", "Threshold fit, mirage diagnostics and small-model prediction for a task's evals in a sweep");
  c->add_option("sweep", a->sweep, "Sweep name or id")->required();
  add_db_option(c, a->db);
  c->add_option("--task", q.task, "Task name as in the evals table (e.g. addition)")->required();
  c->add_option("--x", q.x, "Against: params | compute | tokens | step (over training)")->default_str("params");
  c->add_option("--metric", q.metric, "Discrete metric to fit")->default_str("exact_match");
  c->add_option("--chance", q.chance, "Chance level: the lowest floor a rate may have (default 0)");
  c->add_option("--predict-below", q.predict_below,
                "Predict from runs with x at or below this (default: the geometric middle of the scales)");
  c->add_option("--bootstrap", q.threshold.resamples, "Bootstrap resamples (0 = off)")->default_str("1000");
  c->add_option("--seed", q.threshold.seed, "Bootstrap seed")->default_str("1");
  c->add_option("--threads", q.threshold.threads, "Threads (0 = all cores)")->default_str("0");
  c->add_flag("--json", a->json, "Print the stored record as JSON");
  c->callback([a] { run_emergence(*a); });
}

}  // namespace scalelab::app
