// `scalelab fit` and `scalelab forecast`: scaling-law fits stored in the fits
// table, and the decisions they imply (docs/fits.md).
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <sstream>

#include "app/commands.h"
#include "common/error.h"
#include "fit/agreement.h"
#include "fit/analysis.h"
#include "fit/forecast_report.h"
#include "store/store.h"

namespace scalelab::app {

namespace {

using json = nlohmann::ordered_json;

struct FitArgs {
  fit::FitOptions o;  // the flags bind straight into it
  std::string db, sweep, csv, n_col, c_col, d_col, loss_col, unique_col, epochs_col, se_col;
  int drop_highest = 0, threads = 0;
  bool no_filter = false;
  std::optional<double> min_tpp, near_optimal, max_epochs;
  std::string approaches, law = "auto", x = "c", solver = "auto";  // approaches "": 3
  std::string params;          // --params; "": total, or non_embedding for --law lr
  fit::SweepConventions conv;  // --flops, --split, --allow-mixed-schedules
  bool json = false;
};

std::vector<int> parse_approaches(const std::string& s) {
  std::vector<int> out;
  std::stringstream ss(s);
  for (std::string tok; std::getline(ss, tok, ',');) {
    if (tok != "1" && tok != "2" && tok != "3") user_error("--approach takes 1, 2 and/or 3 (e.g. 1,2,3), got '{}'", s);
    int a = std::stoi(tok);
    if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
  }
  if (out.empty()) user_error("--approach takes 1, 2 and/or 3 (e.g. 1,2,3), got '{}'", s);
  return out;
}

// Filters given on the command line are fixed; without any, the backtest chooses.
std::optional<fit::Filter> parse_filter(const FitArgs& a) {
  const bool given = a.min_tpp || a.near_optimal || a.max_epochs;
  if (a.no_filter && given) user_error("--no-filter fits every point; it cannot go with a filter flag");
  if (a.no_filter) return fit::Filter{};
  if (!given) return std::nullopt;
  fit::Filter f;
  auto positive = [](const std::optional<double>& v, const char* flag, double lo) {
    if (v && !(*v > lo && std::isfinite(*v))) user_error("{} must be a number > {:g}, got {}", flag, lo, *v);
    return v.value_or(0);
  };
  f.min_tokens_per_param = positive(a.min_tpp, "--min-tokens-per-param", 0);
  f.near_optimal = positive(a.near_optimal, "--near-optimal", 1);
  f.max_epochs = positive(a.max_epochs, "--exclude-epochs-over", 0);
  return f;
}

// --law lr fits a rule for a sweep's planner, not a loss law: one sweep, no approaches.
// Its N defaults to non-embedding parameters, the flops.params default a sweep applies it under.
void check_lr_law(FitArgs& a) {
  if (!a.csv.empty())
    user_error("--law lr needs a sweep with an LR axis (axes.lr); a CSV of final losses has no learning rates");
  if (!a.approaches.empty())
    user_error("--law lr fits a learning-rate rule, not a loss law: it takes no --approach (got '{}')", a.approaches);
  a.o.lr_rule = true;
  if (a.params.empty()) a.params = "non_embedding";
}

void run_fit_command(FitArgs& a) {
  auto& o = a.o;
  if (a.sweep.empty() == a.csv.empty()) user_error("give a SWEEP (name or id) or --csv PATH, exactly one");
  if (a.law == "lr") check_lr_law(a);
  a.conv.params = a.params.empty() ? "total" : a.params;
  if (a.approaches.empty()) a.approaches = "3";
  if (o.boot.resamples < 0) user_error("--bootstrap must be >= 0, got {}", o.boot.resamples);
  if (o.solve.max_iterations < 1) user_error("--max-iterations must be >= 1, got {}", o.solve.max_iterations);
  if (!(o.solve.delta > 0)) user_error("--delta must be positive, got {}", o.solve.delta);
  auto approaches = parse_approaches(a.approaches);
  if (o.folds < 1) user_error("--backtest-folds must be >= 1, got {}", o.folds);
  if (!(o.budget_tolerance > 0 && std::isfinite(o.budget_tolerance)))
    user_error("--budget-tolerance must be a positive number of decades, got {}", o.budget_tolerance);
  if (o.boot.grid_starts < 0) user_error("--grid-starts must be >= 0, got {}", o.boot.grid_starts);
  if (a.law != "auto" && a.law != "lr") o.law = fit::law_from_name(a.law, a.x);
  o.filter = parse_filter(a);
  o.solve.solver = fit::solver_from_name(a.solver);
  o.boot.threads = o.solve.threads = a.threads;

  if (a.conv.loss != "nats" && a.conv.loss != "bpb") user_error("--loss must be nats or bpb, got '{}'", a.conv.loss);
  if (!a.csv.empty() && a.conv.loss != "nats")
    user_error("--loss bpb converts a sweep's losses through its runs' bytes per token; a CSV's --loss-col is fitted "
               "as given (convert the column instead)");
  fit::Dataset ds;
  if (!a.csv.empty()) {
    if (std::find(approaches.begin(), approaches.end(), 1) != approaches.end())
      user_error("--approach 1 needs training curves, which a CSV of final losses does not have; fit a sweep");
    ds = fit::dataset_from_csv(
        {a.csv, {a.n_col, a.c_col, a.d_col, a.loss_col, a.unique_col, a.epochs_col, a.se_col}, a.drop_highest});
  }
  // A sweep must be in the database already; a CSV's fit may start a new one.
  auto st = a.csv.empty() ? store::Store::open_existing(a.db) : store::Store::open(a.db);
  if (!a.sweep.empty()) {
    auto sw = st->sweep(a.sweep);
    if (!sw) user_error("{}: no sweep '{}' (see `scalelab runs`)", a.db, a.sweep);
    const bool curves = std::find(approaches.begin(), approaches.end(), 1) != approaches.end();
    ds = fit::dataset_from_runs(
        sw->id, st->runs(sw->id), a.conv,
        curves ? std::function<std::vector<store::Metric>(const std::string&)>(
                     [&](const std::string& id) { return st->metrics(id); })
               : nullptr);
    ds.selection["sweep_name"] = sw->name;
    ds.sweep = true;
    if (ds.points.empty()) user_error("sweep '{}' has no finished runs with a final loss to fit", a.sweep);
  }
  json all = json::array();
  std::vector<fit::FitRecord> records;
  if (o.lr_rule) approaches = {3};  // one record
  for (int ap : approaches) {
    o.approach = ap;
    auto rec = fit::fit_record(ds, o);
    auto row = fit::to_store(rec);
    row.created_at = store::now_iso8601();
    rec.id = st->add_fit(row);
    rec.created_at = row.created_at;
    if (a.json) all.push_back(rec.to_json());
    else fmt::print("fit {} stored in {}\n{}\n", rec.id, a.db, fit::render_fit(rec));
    records.push_back(std::move(rec));
  }
  if (!a.json)
    for (auto& line : fit::allocation_agreement(records).lines) fmt::print("{}\n", line);
  if (a.json) fmt::print("{}\n", (all.size() == 1 ? all[0] : all).dump(2));
}

struct ForecastArgs {
  fit::Query q;  // the flags bind straight into it
  std::string db, fit = "latest";
  double level = 0.95;
  bool json = false;
};

store::Fit forecast_row(const store::Store& st, const ForecastArgs& a) {
  if (a.fit == "latest") {
    auto row = fit::latest_loss_law(st.fits());
    if (!row) user_error("{}: no fits yet; run `scalelab fit` first", a.db);
    return *row;
  }
  char* end = nullptr;
  long long id = std::strtoll(a.fit.c_str(), &end, 10);
  if (end == a.fit.c_str() || *end != '\0' || id <= 0) user_error("--fit must be a fit id or 'latest', got '{}'", a.fit);
  auto row = st.fit(id);
  if (!row) user_error("{}: no fit {}", a.db, id);
  return *row;
}

void run_forecast(const ForecastArgs& a) {
  auto st = store::Store::open_existing(a.db, "; run `scalelab fit` first");
  auto rec = fit::loss_law_record(forecast_row(*st, a));
  if (!(a.level > 0 && a.level < 1)) user_error("--level must be in (0, 1), got {}", a.level);
  const auto report = fit::run_forecast(std::move(rec), a.q, a.level);
  if (a.json) fmt::print("{}\n", fit::forecast_json(report).dump(2));
  else fmt::print("{}", fit::render_forecast(report));
}

}  // namespace

void add_fit_commands(CLI::App& root) {
  auto fa = std::make_shared<FitArgs>();
  auto* fit = root.add_subcommand("fit", "Fit a scaling law to a sweep's runs or to a CSV, and store it");
  fit->add_option("sweep", fa->sweep, "Sweep name or id (or use --csv)");
  add_db_option(fit, fa->db);
  fit->add_option("--csv", fa->csv, "Fit points from a CSV file instead of a sweep");
  fit->add_option("--n-col", fa->n_col, "CSV column with N (parameters)");
  fit->add_option("--c-col", fa->c_col, "CSV column with C (training FLOPs)");
  fit->add_option("--d-col", fa->d_col, "CSV column with D (tokens); default D = C/(6N)");
  fit->add_option("--loss-col", fa->loss_col, "CSV column with the final loss");
  fit->add_option("--drop-highest", fa->drop_highest, "Drop the K highest-loss rows (Epoch drops 5)");
  fit->add_option("--approach", fa->approaches, "Chinchilla approaches to run: 1, 2, 3 or a list like 1,2,3")
      ->default_str("3");
  fit->add_option("--law", fa->law,
                  "Approach 3 law: auto (chosen by backtest) | chinchilla | chinchilla-tied | data-constrained | "
                  "kaplan | power; or lr: the learning-rate rule lr = c N^-k of a sweep's LR axis")
      ->default_str("auto");
  fit->add_option("--min-tokens-per-param", fa->min_tpp, "Fit only points with D/N >= X (default: the backtest chooses)");
  fit->add_option("--near-optimal", fa->near_optimal,
                  "Fit only points within Kx of their budget's best N (default: the backtest chooses)");
  fit->add_option("--exclude-epochs-over", fa->max_epochs, "Fit only points with at most R epochs");
  fit->add_flag("--no-filter", fa->no_filter, "Fit every point (no filter is searched)");
  fit->add_option("--weights", fa->o.weights, "Point weights: none | se (1/se^2)")->default_str("none");
  fit->add_option("--unique-col", fa->unique_col, "CSV column with unique tokens U (data-constrained law)");
  fit->add_option("--epochs-col", fa->epochs_col, "CSV column with epochs (U = D / epochs)");
  fit->add_option("--se-col", fa->se_col, "CSV column with the loss's standard error (--weights se)");
  fit->add_option("--solver", fa->solver, "auto | multistart | varpro (variable projection)")->default_str("auto");
  fit->add_option("--backtest-folds", fa->o.folds, "Rolling-origin folds: the largest K budgets")->default_str("2");
  fit->add_option("--x", fa->x, "Variable of --law power: n | d | c (the compute frontier)")->default_str("c");
  fit->add_option("--bootstrap", fa->o.boot.resamples, "Bootstrap resamples (0 = off)")->default_str("1000");
  fit->add_option("--seed", fa->o.boot.seed, "Bootstrap seed")->default_str("1");
  fit->add_option("--grid-starts", fa->o.boot.grid_starts, "Approach 3 bootstrap: grid starts per resample besides the warm start")
      ->default_str("24");
  fit->add_option("--holdout", fa->o.holdout, "largest | none | a FLOP threshold: refit below it, predict the rest")
      ->default_str("largest");
  fit->add_option("--params", fa->params, "Parameter convention for sweeps: total | non_embedding")
      ->default_str("total; non_embedding for --law lr");
  fit->add_option("--flops", fa->conv.flops, "FLOP convention for sweeps: 6nd | exact (the run's FLOPs per token)")
      ->default_str("6nd");
  fit->add_option("--split", fa->conv.split, "Approach 1 curves: train | val")->default_str("train");
  fit->add_option("--loss", fa->conv.loss,
                  "Loss unit of sweep fits: nats (per token) | bpb (bits per byte; needed when runs mix tokenizers)")
      ->default_str("nats");
  fit->add_flag("--allow-mixed-schedules", fa->conv.allow_mixed_schedules,
                "Fit runs of different LR schedules (or WSD cooldown fractions) together; refused by default");
  fit->add_option("--budget-tolerance", fa->o.budget_tolerance, "Runs within this many decades of C share a budget")
      ->default_str("0.1");
  fit->add_option("--threads", fa->threads, "Threads (0 = all cores)")->default_str("0");
  fit->add_option("--max-iterations", fa->o.solve.max_iterations, "Ceres iteration cap per start")->default_str("2000");
  fit->add_option("--delta", fa->o.solve.delta, "Huber delta on log-loss residuals")->default_str("1e-3");
  fit->add_flag("--json", fa->json, "Print the stored record as JSON");
  fit->callback([fa] { run_fit_command(*fa); });

  auto ga = std::make_shared<ForecastArgs>();
  auto* fc = root.add_subcommand("forecast", "Turn a budget into N, D, loss, GPUs and time, from a stored fit");
  add_db_option(fc, ga->db);
  fc->add_option("--fit", ga->fit, "Fit id, or 'latest'")->default_str("latest");
  fc->add_option("--compute", ga->q.compute, "Training compute in FLOPs, e.g. 1e24");
  fc->add_option("--gpu-hours", ga->q.gpu_hours, "Total GPU-hours: C = GPU-hours x 3600 x peak x MFU");
  fc->add_option("--gpu", ga->q.gpu, "Accelerator (h100, h200, a100, b200, mi300x, tpu-v5p, ...)")->default_str("h100");
  fc->add_option("--gpus", ga->q.gpus, "GPUs to run on, for the wall time (at least what the memory needs)");
  fc->add_option("--mfu", ga->q.mfu, "Model FLOPs utilisation")->default_str("0.4");
  fc->add_option("--peak-tflops", ga->q.peak_tflops, "Override the accelerator's dense bf16 peak");
  fc->add_option("--gpu-memory-gb", ga->q.gpu_memory_gb, "Override the accelerator's memory");
  fc->add_option("--bytes-per-param", ga->q.bytes_per_param, "Training memory per parameter")->default_str("16");
  fc->add_option("--target-loss", ga->q.target_loss, "Loss to reach");
  fc->add_option("--params", ga->q.params, "Model size N (over-training: with --tokens, or --target-loss)");
  fc->add_option("--tokens", ga->q.tokens, "Training tokens D, with --params");
  fc->add_option("--unique-tokens", ga->q.unique_tokens, "Unique tokens behind --tokens (data-constrained fits)");
  fc->add_option("--inference-tokens", ga->q.inference_tokens, "Expected inference tokens (Sardana et al. 2023)");
  fc->add_option("--level", ga->level, "Interval level")->default_str("0.95");
  fc->add_flag("--json", ga->json, "JSON output");
  fc->callback([ga] { run_forecast(*ga); });
}

}  // namespace scalelab::app
