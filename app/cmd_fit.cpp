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
  std::string db, sweep, csv, n_col, c_col, d_col, loss_col;
  int drop_highest = 0;
  std::string approaches = "3", law = "chinchilla", x = "c", holdout = "largest";
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

fit::Law parse_law(const std::string& law, const std::string& x) {
  if (law == "chinchilla") return fit::Law::chinchilla;
  if (law == "kaplan") return fit::Law::kaplan;
  if (law == "power") {
    if (x == "n") return fit::Law::power_n;
    if (x == "d") return fit::Law::power_d;
    if (x == "c") return fit::Law::power_c;
    user_error("--x must be n, d or c (the power law's variable), got '{}'", x);
  }
  user_error("--law must be chinchilla, kaplan or power, got '{}'", law);
}

void run_fit_command(const FitArgs& a) {
  if (a.sweep.empty() == a.csv.empty()) user_error("give a SWEEP (name or id) or --csv PATH, exactly one");
  if (a.bootstrap < 0) user_error("--bootstrap must be >= 0, got {}", a.bootstrap);
  if (a.max_iterations < 1) user_error("--max-iterations must be >= 1, got {}", a.max_iterations);
  if (!(a.delta > 0)) user_error("--delta must be positive, got {}", a.delta);
  auto approaches = parse_approaches(a.approaches);
  fit::FitOptions o;
  o.law = parse_law(a.law, a.x);
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
    auto cp = fit::read_csv_points(a.csv, {a.n_col, a.c_col, a.d_col, a.loss_col}, a.drop_highest);
    ds.source = "csv:" + a.csv;
    ds.points = std::move(cp.points);
    json dropped = json::array();
    for (auto& p : cp.dropped) dropped.push_back({{"id", p.id}, {"loss", p.L}});
    ds.selection = {{"csv", a.csv},
                    {"columns", {{"n", a.n_col}, {"c", a.c_col}, {"d", a.d_col}, {"loss", a.loss_col}}},
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
                      {"interval", fmt::format("{:.0f}% bootstrap percentile over {} draws", 100 * a.level, draws.size())}};
  if (a.json) {
    json quantities = json::object();
    for (auto& x : qs) {
      json j = {{"value", x.value}, {"unit", x.unit}};
      j["lo"] = x.interval ? json(x.lo) : json();
      j["hi"] = x.interval ? json(x.hi) : json();
      if (x.undefined) j["undefined_draws"] = x.undefined;
      quantities[x.name] = j;
    }
    json query = json::object();
    auto put = [&](const char* k, const std::optional<double>& v) {
      if (v) query[k] = *v;
    };
    put("compute", a.compute), put("gpu_hours", a.gpu_hours), put("target_loss", a.target_loss);
    put("params", a.params), put("tokens", a.tokens), put("inference_tokens", a.inference_tokens);
    if (a.gpus) query["gpus"] = *a.gpus;
    json out = {{"fit", rec["id"]},   {"law", rec["law"]},           {"approach", rec["approach"]},
                {"source", rec["source"]}, {"query", query}, {"assumptions", assumptions},
                {"quantities", quantities}};
    fmt::print("{}\n", out.dump(2));
    return;
  }
  fmt::print("fit {}: {} (approach {}) from {}, {}\n", rec["id"].get<std::int64_t>(), rec["law"].get<std::string>(),
             rec["approach"].get<std::string>(), rec["source"].get<std::string>(), rec["created_at"].get<std::string>());
  Table t({"quantity", ">value", fmt::format(">{:.0f}% interval", 100 * a.level), "unit"});
  for (auto& x : qs) {
    std::string iv = !x.interval ? "-"
                     : x.hi - x.lo <= 1e-12 * std::fabs(x.value) ? "(fixed)"
                                                                 : show(x, x.lo) + " .. " + show(x, x.hi);
    if (x.undefined) iv += fmt::format(" ({} draws undefined)", x.undefined);
    // Durations, sizes and hours carry their unit in the value ("29.3 days", "44.7GB").
    const bool unit_in_value = x.unit == "s" || x.unit == "bytes" || x.unit == "h" || x.unit == "%";
    t.add({x.name, show(x, x.value), iv, unit_in_value ? "" : x.unit});
  }
  fmt::print("{}", t.render());
  fmt::print("assumptions: C = 6ND; {} at {} TFLOP/s dense bf16, {} GB; MFU {:.2f}; {} bytes/param for weights, "
             "gradients and AdamW state (activations not counted); intervals from {} bootstrap draws\n",
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
  fit->add_option("--law", fa->law, "Approach 3 law: chinchilla | kaplan | power")->default_str("chinchilla");
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
  fc->add_option("--inference-tokens", ga->inference_tokens, "Expected inference tokens (Sardana et al. 2023)");
  fc->add_option("--level", ga->level, "Interval level")->default_str("0.95");
  fc->add_flag("--json", ga->json, "JSON output");
  fc->callback([ga] { run_forecast(*ga); });
}

}  // namespace scalelab::app
