// bench/extrapolation: how each law extrapolates on public scaling data.
// For each shipped set, fit on the smaller budgets (the whole `scalelab fit`
// pipeline: backtest, choice, bootstrap, calibration), predict the held-out
// larger ones with `forecast`'s arithmetic, and print per law and for auto the
// held-out mean and max relative error, the coverage of the 95% prediction
// and confidence intervals, and the time. Usage: extrapolation [--json] [--bootstrap R]
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <optional>
#include <string>

#include "fit/analysis.h"
#include "fit/csv.h"
#include "fit/forecast.h"

using namespace scalelab::fit;
using json = nlohmann::ordered_json;

namespace {

struct Set {
  std::string name, file;
  CsvColumns cols;
  int drop_highest;
  std::string rule;
  std::function<bool(const Point&)> held_out;
  std::vector<std::optional<Law>> laws;
};

struct Score {
  int n = 0, covered = 0, ci_covered = 0, multi_n = 0, over40_n = 0;
  double sum = 0, max = 0, multi_sum = 0, over40_sum = 0, seconds = 0;
  std::string chosen;
};

Score evaluate(const Set& set, const std::vector<Point>& train, const std::vector<Point>& test, std::optional<Law> law,
               int resamples) {
  Dataset ds;
  ds.source = "csv:" + set.file;
  ds.points = train;
  FitOptions o;
  o.law = law;
  o.boot.resamples = resamples;
  o.holdout = "none";
  const auto t0 = std::chrono::steady_clock::now();
  auto rec = run_fit(ds, o);
  Score s;
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  s.chosen = rec["law"].get<std::string>() + " / " + rec["selection"]["filter"]["label"].get<std::string>();
  const Model m = model_of(rec);
  const auto draws = draws_of(rec);
  for (auto& p : test) {
    Query q;
    q.params = p.N, q.tokens = p.D;
    if (p.U > 0 && info(*m.law()).needs_unique) q.unique_tokens = p.U;
    const auto qs = forecast(m, draws, q);
    for (auto& x : qs) {
      if (x.name != "loss") continue;
      const double rel = std::fabs(x.value - p.L) / p.L;
      ++s.n, s.sum += rel, s.max = std::max(s.max, rel);
      s.covered += x.prediction && p.L >= x.pred_lo && p.L <= x.pred_hi;
      s.ci_covered += x.interval && p.L >= x.lo && p.L <= x.hi;
      if (p.epochs() > 1.01) ++s.multi_n, s.multi_sum += rel;
      if (p.epochs() > 40) ++s.over40_n, s.over40_sum += rel;
    }
  }
  return s;
}

std::vector<Set> sets() {
  const std::string dir = SCALELAB_SOURCE_DIR "/tests/data/";
  const std::vector<std::optional<Law>> base = {Law::chinchilla, Law::chinchilla_tied, Law::kaplan, std::nullopt};
  auto dc = base;
  dc.insert(dc.begin() + 2, Law::data_constrained);
  return {
      {"epoch-chinchilla", dir + "svg_extracted_data.csv", {"Model Size", "Training FLOP", "", "loss"}, 5,
       "fit C < 1e21, predict C >= 1e21", [](const Point& p) { return p.C >= 1e21; }, base},
      {"datablations", dir + "datablations_contour_losses.csv",
       {"num_params", "", "token_num", "openLM_loss", "", "epochs"}, 0, "fit N < 2e9, predict N >= 2e9",
       [](const Point& p) { return p.N >= 2e9; }, dc},
  };
}

// The whole `fit --law auto` on every point of a set, with 1,000 resamples: the speed target.
double auto_seconds(const Set& set) {
  Dataset ds;
  ds.points = read_csv_points(set.file, set.cols, set.drop_highest).points;
  FitOptions o;
  o.boot.resamples = 1000;
  const auto t0 = std::chrono::steady_clock::now();
  run_fit(ds, o);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string pct(double v, int n) { return n ? fmt::format("{:.2f}%", 100 * v) : "-"; }

}  // namespace

int main(int argc, char** argv) {
  bool as_json = false;
  int resamples = 1000;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--json")) as_json = true;
    else if (!std::strcmp(argv[i], "--bootstrap") && i + 1 < argc) resamples = std::atoi(argv[++i]);
    else {
      fmt::print(stderr, "usage: extrapolation [--json] [--bootstrap R]\n");
      return 2;
    }
  }
  json out = json::array();
  int pool_n = 0, pool_cov = 0;
  if (!as_json)
    fmt::print("{:<17} {:<17} {:<34} {:>4} {:>7} {:>7} {:>8} {:>8} {:>8} {:>8} {:>7}\n", "set", "law", "chosen",
               "n", "mean", "max", "PI cov", "CI cov", ">1 ep", ">40 ep", "time");
  for (auto& set : sets()) {
    auto pts = read_csv_points(set.file, set.cols, set.drop_highest).points;
    std::vector<Point> train, test;
    for (auto& p : pts) (set.held_out(p) ? test : train).push_back(p);
    for (auto& law : set.laws) {
      const Score s = evaluate(set, train, test, law, resamples);
      const std::string name = law ? law_name(*law) : "auto";
      if (!law) pool_n += s.n, pool_cov += s.covered;
      json j = {{"set", set.name}, {"rule", set.rule}, {"law", name}, {"chosen", s.chosen}, {"held_out", s.n},
                {"mean_abs_rel_error", s.sum / s.n}, {"max_abs_rel_error", s.max},
                {"pi_coverage", static_cast<double>(s.covered) / s.n},
                {"ci_coverage", static_cast<double>(s.ci_covered) / s.n}, {"seconds", s.seconds}};
      if (s.multi_n) j["mean_abs_rel_error_multi_epoch"] = s.multi_sum / s.multi_n;
      if (s.over40_n) j["mean_abs_rel_error_over_40_epochs"] = s.over40_sum / s.over40_n;
      out.push_back(j);
      if (!as_json)
        fmt::print("{:<17} {:<17} {:<34} {:>4} {:>7} {:>7} {:>8} {:>8} {:>8} {:>8} {:>6.1f}s\n", set.name, name,
                   s.chosen, s.n, pct(s.sum / s.n, s.n), pct(s.max, s.n),
                   pct(static_cast<double>(s.covered) / s.n, s.n), pct(static_cast<double>(s.ci_covered) / s.n, s.n),
                   pct(s.multi_sum / std::max(1, s.multi_n), s.multi_n),
                   pct(s.over40_sum / std::max(1, s.over40_n), s.over40_n), s.seconds);
    }
  }
  const double pooled = pool_n ? static_cast<double>(pool_cov) / pool_n : NAN;
  const double speed = auto_seconds(sets().front());
  if (as_json) {
    fmt::print("{}\n", json{{"rows", out}, {"auto_pooled_pi_coverage", pooled}, {"auto_pooled_n", pool_n},
                            {"auto_epoch_all_points_1000_resamples_seconds", speed}}.dump(2));
  } else {
    fmt::print("auto, pooled over the sets: 95% prediction interval covers {}/{} held-out points ({:.1f}%)\n",
               pool_cov, pool_n, 100 * pooled);
    fmt::print("speed: `fit --law auto` (backtest, choice, 1,000-resample bootstrap) on all of Epoch's points: "
               "{:.1f} s (target <= 30 s)\n", speed);
  }
  return 0;
}
