// `scalelab fit` and `scalelab forecast`: scaling-law fits stored in the fits
// table, and the decisions they imply (docs/fits.md).
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <sstream>

#include "app/commands.h"
#include "common/error.h"
#include "common/table.h"
#include "fit/analysis.h"
#include "fit/csv.h"
#include "fit/forecast.h"
#include "store/store.h"

namespace scalelab::app {

namespace {

using json = nlohmann::ordered_json;

struct FitArgs {
  std::string db, sweep, csv, n_col, c_col, d_col, loss_col, unique_col, epochs_col, se_col;
  int drop_highest = 0, folds = 2;
  bool no_filter = false;
  std::optional<double> min_tpp, near_optimal, max_epochs;
  std::string approaches = "3", law = "auto", x = "c", holdout = "largest", weights = "none", solver = "auto";
  std::string params = "total", flops = "6nd", split = "train";
  int bootstrap = 1000, threads = 0, max_iterations = 2000, grid_starts = 24;
  std::uint64_t seed = 1;
  double budget_tolerance = 0.1, delta = 1e-3;
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

void run_fit_command(const FitArgs& a) {
  if (a.sweep.empty() == a.csv.empty()) user_error("give a SWEEP (name or id) or --csv PATH, exactly one");
  if (a.bootstrap < 0) user_error("--bootstrap must be >= 0, got {}", a.bootstrap);
  if (a.max_iterations < 1) user_error("--max-iterations must be >= 1, got {}", a.max_iterations);
  if (!(a.delta > 0)) user_error("--delta must be positive, got {}", a.delta);
  auto approaches = parse_approaches(a.approaches);
  if (a.folds < 1) user_error("--backtest-folds must be >= 1, got {}", a.folds);
  fit::FitOptions o;
  if (a.law != "auto") o.law = fit::law_from_name(a.law, a.x);
  o.filter = parse_filter(a);
  o.weights = a.weights;
  o.folds = a.folds;
  o.solve.solver = fit::solver_from_name(a.solver);
  o.boot.resamples = a.bootstrap;
  o.boot.seed = a.seed;
  o.boot.threads = a.threads;
  o.boot.grid_starts = a.grid_starts;
  o.solve.threads = a.threads;
  o.solve.max_iterations = a.max_iterations;
  o.solve.delta = a.delta;
  o.holdout = a.holdout;
  o.budget_tolerance = a.budget_tolerance;

  fit::Dataset ds;
  if (!a.csv.empty()) {
    if (std::find(approaches.begin(), approaches.end(), 1) != approaches.end())
      user_error("--approach 1 needs training curves, which a CSV of final losses does not have; fit a sweep");
    auto cp = fit::read_csv_points(
        a.csv, {a.n_col, a.c_col, a.d_col, a.loss_col, a.unique_col, a.epochs_col, a.se_col}, a.drop_highest);
    ds.source = "csv:" + a.csv;
    ds.points = std::move(cp.points);
    json dropped = json::array();
    for (auto& p : cp.dropped) dropped.push_back({{"id", p.id}, {"loss", p.L}});
    ds.selection = {{"csv", a.csv},
                    {"columns", {{"n", a.n_col}, {"c", a.c_col}, {"d", a.d_col}, {"loss", a.loss_col},
                                 {"unique", a.unique_col}, {"epochs", a.epochs_col}, {"se", a.se_col}}},
                    {"rows", ds.points.size() + cp.dropped.size()},
                    {"used", ds.points.size()},
                    {"drop_highest", a.drop_highest},
                    {"dropped", dropped}};
    ds.conventions = {{"params", "column " + a.n_col},
                      {"flops", a.c_col.empty() ? "C = 6 N D" : "column " + a.c_col},
                      {"tokens", a.d_col.empty() ? "D = C / (6 N)" : "column " + a.d_col}};
  }
  auto st = store::Store::open(a.db);
  if (!a.sweep.empty()) {
    auto sw = st->sweep(a.sweep);
    if (!sw) user_error("{}: no sweep '{}' (see `scalelab runs`)", a.db, a.sweep);
    const bool curves = std::find(approaches.begin(), approaches.end(), 1) != approaches.end();
    ds = fit::dataset_from_runs(
        sw->id, st->runs(sw->id), {a.params, a.flops, a.split},
        curves ? std::function<std::vector<store::Metric>(const std::string&)>(
                     [&](const std::string& id) { return st->metrics(id); })
               : nullptr);
    ds.selection["sweep_name"] = sw->name;
    ds.sweep = true;
    if (ds.points.empty()) user_error("sweep '{}' has no finished runs with a final loss to fit", a.sweep);
  }
  json all = json::array();
  for (int ap : approaches) {
    o.approach = ap;
    auto rec = fit::run_fit(ds, o);
    auto row = fit::to_store(rec);
    row.created_at = store::now_iso8601();
    rec["id"] = st->add_fit(row);
    rec["created_at"] = row.created_at;
    if (a.json) {
      all.push_back(rec);
    } else {
      fmt::print("fit {} stored in {}\n{}\n", rec["id"].get<std::int64_t>(), a.db, fit::render_fit(rec));
    }
  }
  if (a.json) fmt::print("{}\n", (all.size() == 1 ? all[0] : all).dump(2));
}

struct ForecastArgs {
  std::string db, fit = "latest", gpu = "h100";
  std::optional<double> compute, gpu_hours, target_loss, params, tokens, inference_tokens, peak_tflops, gpu_memory_gb;
  std::optional<double> unique_tokens;
  std::optional<int> gpus;
  double mfu = 0.4, bytes_per_param = 16, level = 0.95;
  bool json = false;
};

std::string show(const fit::Quantity& q, double v) {
  if (std::isnan(v)) return "-";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (q.unit == "nats/token") return fmt::format("{:.4f}", v);
  if (q.unit == "bytes") return si(v) + "B";
  if (q.unit == "s") {
    if (v < 2 * 86400) return duration(v);
    if (v < 2 * 365.25 * 86400) return fmt::format("{:.1f} days", v / 86400);
    return fmt::format("{:.1f} years", v / (365.25 * 86400));
  }
  if (q.unit == "GPUs") return fmt::format("{:.0f}", v);
  if (q.unit == "%") return fmt::format("{:.1f}%", v);
  if (q.unit == "h") return si(v) + " h";
  if (q.unit.empty()) return v >= 100 ? si(v) : fmt::format("{:.2f}", v);
  return si(v);
}

std::string confidence_text(const fit::Quantity& x) {
  if (!x.interval) return "-";
  if (x.hi - x.lo <= 1e-12 * std::fabs(x.value)) return "(fixed)";
  std::string iv = show(x, x.lo) + " .. " + show(x, x.hi);
  if (x.undefined) iv += fmt::format(" ({} draws undefined)", x.undefined);
  return iv;
}

void print_forecast_table(const std::vector<fit::Quantity>& qs, double level) {
  const bool any_pi = std::any_of(qs.begin(), qs.end(), [](auto& x) { return x.prediction; });
  std::vector<std::string> head{"quantity", ">value", fmt::format(">{:.0f}% confidence", 100 * level)};
  if (any_pi) head.push_back(fmt::format(">{:.0f}% prediction", 100 * level));
  head.push_back("unit");
  Table t(head);
  for (auto& x : qs) {
    // Durations, sizes and hours carry their unit in the value ("29.3 days", "44.7GB").
    const bool unit_in_value = x.unit == "s" || x.unit == "bytes" || x.unit == "h" || x.unit == "%";
    std::vector<std::string> row{x.name, show(x, x.value), confidence_text(x)};
    if (any_pi) row.push_back(x.prediction ? show(x, x.pred_lo) + " .. " + show(x, x.pred_hi) : "");
    row.push_back(unit_in_value ? "" : x.unit);
    t.add(row);
  }
  fmt::print("{}", t.render());
}

void print_forecast_notes(const fit::Model& m, const std::optional<fit::Horizon>& reg, double level) {
  if (reg) {
    fmt::print("regime: {}\n", reg->verdict);
    if (!reg->inside)
      fmt::print("warning: this query lies outside the fitted data ({:.2f} decades); the prediction interval widens "
                 "with that distance, as calibrated by the backtest\n", reg->decades);
  }
  if (m.has_frontier() && !m.pi.available)
    fmt::print("prediction interval: none: {}; the confidence interval covers the law's own uncertainty only, not "
               "the scatter of a new run or the error of extrapolating\n", m.pi.why);
  else if (m.pi.available && std::fabs(m.pi.level - level) > 1e-9)
    fmt::print("note: the prediction interval is calibrated at {:.0f}%, the level the fit was stored with\n",
               100 * m.pi.level);
  for (auto& p : m.not_identified)
    fmt::print("warning: {} is not identified by the data; the prediction interval spans every bootstrap draw\n", p);
}

void print_forecast_json(const ForecastArgs& a, const json& rec, const fit::Model& m,
                         const std::vector<fit::Quantity>& qs, const std::optional<fit::Horizon>& reg,
                         const json& assumptions) {
  json quantities = json::object();
  for (auto& x : qs) {
    json j = {{"value", x.value}, {"unit", x.unit}};
    j["lo"] = x.interval ? json(x.lo) : json();
    j["hi"] = x.interval ? json(x.hi) : json();
    j["confidence"] = x.interval ? json{{"lo", x.lo}, {"hi", x.hi}} : json();
    if (x.unit == "nats/token") j["prediction"] = x.prediction ? json{{"lo", x.pred_lo}, {"hi", x.pred_hi}} : json();
    if (x.undefined) j["undefined_draws"] = x.undefined;
    quantities[x.name] = j;
  }
  json query = json::object();
  auto put = [&](const char* k, const std::optional<double>& v) {
    if (v) query[k] = *v;
  };
  put("compute", a.compute), put("gpu_hours", a.gpu_hours), put("target_loss", a.target_loss);
  put("params", a.params), put("tokens", a.tokens), put("inference_tokens", a.inference_tokens);
  put("unique_tokens", a.unique_tokens);
  if (a.gpus) query["gpus"] = *a.gpus;
  json pi = {{"available", m.pi.available}, {"level", m.pi.level}};
  if (m.pi.available) pi.update({{"noise", m.pi.noise}, {"kappa", m.pi.kappa}, {"q", m.pi.q}, {"n", m.pi.n}});
  else pi["why"] = m.pi.why;
  json out = {{"fit", rec["id"]},       {"law", rec["law"]},   {"approach", rec["approach"]},
              {"source", rec["source"]}, {"query", query},     {"assumptions", assumptions},
              {"quantities", quantities}, {"prediction_interval", pi}, {"not_identified", m.not_identified}};
  out["regime"] = reg ? json{{"verdict", reg->verdict}, {"decades", reg->decades}, {"inside", reg->inside}} : json();
  fmt::print("{}\n", out.dump(2));
}

void run_forecast(const ForecastArgs& a) {
  auto st = store::Store::open(a.db);
  std::optional<store::Fit> row;
  if (a.fit == "latest") {
    // The newest loss law: `scalelab emergence` records share the table but forecast nothing.
    for (auto& f : st->fits())
      if (f.law != "emergence" && (!row || f.id > row->id)) row = f;
    if (!row) user_error("{}: no fits yet; run `scalelab fit` first", a.db);
  } else {
    char* end = nullptr;
    long long id = std::strtoll(a.fit.c_str(), &end, 10);
    if (end == a.fit.c_str() || *end != '\0' || id <= 0) user_error("--fit must be a fit id or 'latest', got '{}'", a.fit);
    row = st->fit(id);
    if (!row) user_error("{}: no fit {}", a.db, id);
  }
  auto rec = fit::from_store(*row);
  auto model = fit::model_of(rec);
  auto draws = fit::draws_of(rec);
  fit::Query q;
  q.compute = a.compute, q.gpu_hours = a.gpu_hours, q.target_loss = a.target_loss, q.params = a.params;
  q.tokens = a.tokens, q.inference_tokens = a.inference_tokens, q.peak_tflops = a.peak_tflops;
  q.unique_tokens = a.unique_tokens;
  q.gpu_memory_gb = a.gpu_memory_gb, q.gpus = a.gpus, q.gpu = a.gpu, q.mfu = a.mfu, q.bytes_per_param = a.bytes_per_param;
  if (!(a.level > 0 && a.level < 1)) user_error("--level must be in (0, 1), got {}", a.level);
  auto qs = fit::forecast(model, draws, q, a.level);
  const auto& acc = fit::find_accelerator(a.gpu);
  const double peak = a.peak_tflops.value_or(acc.peak_tflops);
  const double mem = a.gpu_memory_gb.value_or(acc.memory_gb);
  json assumptions = {{"compute_convention", "C = 6 N D"},
                      {"gpu", acc.name},
                      {"peak_tflops", peak},
                      {"gpu_memory_gb", mem},
                      {"mfu", a.mfu},
                      {"bytes_per_param", a.bytes_per_param},
                      {"memory_note", "weights, gradients and AdamW state only; activations not counted"},
                      {"interval", fmt::format("confidence: {:.0f}% bootstrap percentile over {} draws; prediction: "
                                               "calibrated on the fit's backtest (docs/fits.md)",
                                               100 * a.level, draws.size())}};
  auto reg = fit::regime(model, q, qs);
  if (a.json) {
    print_forecast_json(a, rec, model, qs, reg, assumptions);
    return;
  }
  fmt::print("fit {}: {} (approach {}) from {}, {}\n", rec["id"].get<std::int64_t>(), rec["law"].get<std::string>(),
             rec["approach"].get<std::string>(), rec["source"].get<std::string>(), rec["created_at"].get<std::string>());
  print_forecast_table(qs, a.level);
  print_forecast_notes(model, reg, a.level);
  fmt::print("assumptions: C = 6ND; {} at {} TFLOP/s dense bf16, {} GB; MFU {:.2f}; {} bytes/param for weights, "
             "gradients and AdamW state (activations not counted); confidence intervals from {} bootstrap draws\n",
             acc.name, peak, mem, a.mfu, a.bytes_per_param, draws.size());
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
                  "kaplan | power")
      ->default_str("auto");
  fit->add_option("--min-tokens-per-param", fa->min_tpp, "Fit only points with D/N >= X (default: the backtest chooses)");
  fit->add_option("--near-optimal", fa->near_optimal,
                  "Fit only points within Kx of their budget's best N (default: the backtest chooses)");
  fit->add_option("--exclude-epochs-over", fa->max_epochs, "Fit only points with at most R epochs");
  fit->add_flag("--no-filter", fa->no_filter, "Fit every point (no filter is searched)");
  fit->add_option("--weights", fa->weights, "Point weights: none | se (1/se^2)")->default_str("none");
  fit->add_option("--unique-col", fa->unique_col, "CSV column with unique tokens U (data-constrained law)");
  fit->add_option("--epochs-col", fa->epochs_col, "CSV column with epochs (U = D / epochs)");
  fit->add_option("--se-col", fa->se_col, "CSV column with the loss's standard error (--weights se)");
  fit->add_option("--solver", fa->solver, "auto | multistart | varpro (variable projection)")->default_str("auto");
  fit->add_option("--backtest-folds", fa->folds, "Rolling-origin folds: the largest K budgets")->default_str("2");
  fit->add_option("--x", fa->x, "Variable of --law power: n | d | c (the compute frontier)")->default_str("c");
  fit->add_option("--bootstrap", fa->bootstrap, "Bootstrap resamples (0 = off)")->default_str("1000");
  fit->add_option("--seed", fa->seed, "Bootstrap seed")->default_str("1");
  fit->add_option("--grid-starts", fa->grid_starts, "Approach 3 bootstrap: grid starts per resample besides the warm start")
      ->default_str("24");
  fit->add_option("--holdout", fa->holdout, "largest | none | a FLOP threshold: refit below it, predict the rest")
      ->default_str("largest");
  fit->add_option("--params", fa->params, "Parameter convention for sweeps: total | non_embedding")->default_str("total");
  fit->add_option("--flops", fa->flops, "FLOP convention for sweeps: 6nd | exact (the run's FLOPs per token)")
      ->default_str("6nd");
  fit->add_option("--split", fa->split, "Approach 1 curves: train | val")->default_str("train");
  fit->add_option("--budget-tolerance", fa->budget_tolerance, "Runs within this many decades of C share a budget")
      ->default_str("0.1");
  fit->add_option("--threads", fa->threads, "Threads (0 = all cores)")->default_str("0");
  fit->add_option("--max-iterations", fa->max_iterations, "Ceres iteration cap per start")->default_str("2000");
  fit->add_option("--delta", fa->delta, "Huber delta on log-loss residuals")->default_str("1e-3");
  fit->add_flag("--json", fa->json, "Print the stored record as JSON");
  fit->callback([fa] { run_fit_command(*fa); });

  auto ga = std::make_shared<ForecastArgs>();
  auto* fc = root.add_subcommand("forecast", "Turn a budget into N, D, loss, GPUs and time, from a stored fit");
  add_db_option(fc, ga->db);
  fc->add_option("--fit", ga->fit, "Fit id, or 'latest'")->default_str("latest");
  fc->add_option("--compute", ga->compute, "Training compute in FLOPs, e.g. 1e24");
  fc->add_option("--gpu-hours", ga->gpu_hours, "Total GPU-hours: C = GPU-hours x 3600 x peak x MFU");
  fc->add_option("--gpu", ga->gpu, "Accelerator (h100, h200, a100, b200, mi300x, tpu-v5p, ...)")->default_str("h100");
  fc->add_option("--gpus", ga->gpus, "GPUs to run on, for the wall time (at least what the memory needs)");
  fc->add_option("--mfu", ga->mfu, "Model FLOPs utilisation")->default_str("0.4");
  fc->add_option("--peak-tflops", ga->peak_tflops, "Override the accelerator's dense bf16 peak");
  fc->add_option("--gpu-memory-gb", ga->gpu_memory_gb, "Override the accelerator's memory");
  fc->add_option("--bytes-per-param", ga->bytes_per_param, "Training memory per parameter")->default_str("16");
  fc->add_option("--target-loss", ga->target_loss, "Loss to reach");
  fc->add_option("--params", ga->params, "Model size N (over-training: with --tokens, or --target-loss)");
  fc->add_option("--tokens", ga->tokens, "Training tokens D, with --params");
  fc->add_option("--unique-tokens", ga->unique_tokens, "Unique tokens behind --tokens (data-constrained fits)");
  fc->add_option("--inference-tokens", ga->inference_tokens, "Expected inference tokens (Sardana et al. 2023)");
  fc->add_option("--level", ga->level, "Interval level")->default_str("0.95");
  fc->add_flag("--json", ga->json, "JSON output");
  fc->callback([ga] { run_forecast(*ga); });
}

}  // namespace scalelab::app
