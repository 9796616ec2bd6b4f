// `scalelab runs` and `scalelab curves`: what is in the store, as tables, CSV or JSON.
#include <fmt/format.h>

#include "app/commands.h"
#include "common/error.h"
#include "common/table.h"
#include "store/run_json.h"
#include "store/store.h"
#include "sweep/status_view.h"

namespace scalelab::app {

namespace {

struct RunsArgs {
  std::string db, sweep;
  bool json = false;
};

void list_runs(const RunsArgs& a) {
  auto st = store::Store::open_existing(a.db);
  std::string sweep_id;
  if (!a.sweep.empty()) {
    auto sw = st->sweep(a.sweep);
    if (!sw) user_error("{}: no sweep '{}'", a.db, a.sweep);
    sweep_id = sw->id;
  }
  auto runs = st->runs(sweep_id);
  if (a.json) return fmt::print("{}\n", nlohmann::json(runs).dump(2));
  if (runs.empty()) return fmt::print("no runs in {}\n", a.db);
  fmt::print("{}", sweep::render_runs(runs));
}

struct CurvesArgs {
  std::string db, run, split;
  bool csv = false, json = false;
};

void print_curves(const CurvesArgs& a) {
  auto st = store::Store::open_existing(a.db);
  auto run = st->run(a.run);
  if (!run) user_error("{}: no run '{}'; see `scalelab runs --db {}`", a.db, a.run, a.db);
  auto ms = st->metrics(run->id, a.split);
  if (a.csv) {
    fmt::print("step,tokens,flops,split,loss,lr,grad_norm,wall_s\n");
    for (auto& m : ms)
      fmt::print("{},{:.17g},{:.17g},{},{:.17g},{:.17g},{:.17g},{:.6f}\n", m.step, m.tokens, m.flops, m.split, m.loss,
                 m.lr, m.grad_norm, m.wall_s);
    return;
  }
  // Each row's loss in bits per byte, with the bytes per token of its split (docs/schema.md).
  const auto bpb = [&](const store::Metric& m) {
    return store::loss_bpb(m.loss, m.split == "val" ? run->bytes_per_token : run->train_bytes_per_token);
  };
  if (a.json) {
    nlohmann::json rows = ms;
    for (std::size_t i = 0; i < ms.size(); ++i) {
      const auto b = bpb(ms[i]);
      rows[i]["bpb"] = b ? nlohmann::json(*b) : nlohmann::json();
    }
    return fmt::print("{}\n", nlohmann::json{{"run_id", run->id}, {"metrics", rows}}.dump(2));
  }
  Table t({">step", ">tokens", ">FLOPs", "split", ">loss", ">bpb", ">lr", ">grad norm", ">wall"});
  for (auto& m : ms) {
    const auto b = bpb(m);
    t.add({fmt::format("{}", m.step), si(m.tokens), si(m.flops), m.split, fmt::format("{:.4f}", m.loss),
           b ? fmt::format("{:.4f}", *b) : "-", fmt::format("{:.3g}", m.lr),
           m.split == "train" ? fmt::format("{:.3f}", m.grad_norm) : "-", duration(m.wall_s)});
  }
  fmt::print("run {} {} ({})\n{}", run->id, run->shape, run->status, t.render());
}

}  // namespace

void add_runs_commands(CLI::App& root) {
  static std::string init_db;
  auto* init = root.add_subcommand("init", "Create an empty database (sweep, train and fit create one as needed)");
  add_db_option(init, init_db);
  init->callback([] { fmt::print("{}: schema v{}\n", init_db, store::Store::open(init_db)->schema_version()); });

  static RunsArgs ra;
  auto* runs = root.add_subcommand("runs", "List runs: id, shape, N, tokens, epochs, status, final loss (and bits per byte), tok/s");
  add_db_option(runs, ra.db);
  runs->add_option("--sweep", ra.sweep, "Only this sweep (id or name)");
  runs->add_flag("--json", ra.json, "JSON array instead of a table");
  runs->callback([] { list_runs(ra); });

  static CurvesArgs ca;
  auto* curves = root.add_subcommand("curves", "A run's loss curve: step, tokens, FLOPs, split, loss, lr, ...");
  curves->add_option("run", ca.run, "Run id or unique prefix")->required();
  add_db_option(curves, ca.db);
  curves->add_option("--split", ca.split, "train or val (default: both)")->check(CLI::IsMember({"train", "val"}));
  auto* csv = curves->add_flag("--csv", ca.csv, "CSV with a header row");
  curves->add_flag("--json", ca.json, "JSON")->excludes(csv);
  curves->callback([] { print_curves(ca); });
}

}  // namespace scalelab::app
