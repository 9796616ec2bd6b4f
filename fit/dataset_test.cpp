// dataset_from_runs' choices: schedules are never mixed silently, ladder
// trunks are no points, seeds are averaged and the best LR of each (N, D) kept.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "common/error.h"
#include "fit/analysis.h"

using namespace scalelab;
using namespace scalelab::fit;

namespace {
struct Spec {
  std::string id;
  double N, D, L;
  double lr = 1e-3;
  int seed = 1;
  std::string schedule = "cosine";
  double decay = 0.2;
};

// A finished run whose config_toml holds the [train] keys a fit reads, written
// as canonical_toml writes them (17 digits).
store::Run run(const Spec& s) {
  store::Run r;
  r.id = s.id;
  r.name = s.id;
  r.shape = "N" + std::to_string(static_cast<long long>(s.N));
  r.params_total = r.params_non_embedding = static_cast<std::int64_t>(s.N);
  r.flops_per_token = 6 * s.N;
  r.flop_convention = "6N";
  r.status = "done";
  r.tokens_done = s.D;
  r.final_val_loss = s.L;
  r.config_toml = fmt::format("[model]\nn_layer = 2\n\n[train]\ntokens = {:.17g}\nlr = {:.17g}\nseed = {}\n"
                              "schedule = \"{}\"\ndecay_fraction = {:.17g}\n",
                              s.D, s.lr, s.seed, s.schedule, s.decay);
  return r;
}

std::vector<store::Run> runs(const std::vector<Spec>& specs) {
  std::vector<store::Run> out;
  for (auto& s : specs) out.push_back(run(s));
  return out;
}

Dataset of(const std::vector<store::Run>& rs, bool allow_mixed = false) {
  SweepConventions conv;
  conv.allow_mixed_schedules = allow_mixed;
  return dataset_from_runs("sw", rs, conv, nullptr);
}

std::string refusal(const std::vector<store::Run>& rs) {
  try {
    of(rs);
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("runs of different schedules are refused together, unless allowed, and the record says which") {
  auto rs = runs({{"a", 1e6, 2e7, 3.0, 1e-3, 1, "wsd"},
                  {"b", 2e6, 4e7, 2.9, 1e-3, 1, "wsd"},
                  {"c", 4e6, 8e7, 2.8, 1e-3, 1, "cosine"}});
  const auto why = refusal(rs);
  CHECK(why.find("wsd/0.2: 2 runs, cosine: 1 runs") != std::string::npos);
  CHECK(why.find("--allow-mixed-schedules") != std::string::npos);
  CHECK(why.find('\n') == std::string::npos);

  // WSD runs with different cooldown fractions are different schedules too.
  auto fractions = runs({{"a", 1e6, 2e7, 3.0, 1e-3, 1, "wsd", 0.2}, {"b", 2e6, 4e7, 2.9, 1e-3, 1, "wsd", 0.1}});
  CHECK(refusal(fractions).find("wsd/0.2: 1 runs, wsd/0.1: 1 runs") != std::string::npos);

  auto ds = of(rs, true);
  CHECK(ds.points.size() == 3);
  CHECK(ds.selection["schedules"] == json{{"wsd/0.2", 2}, {"cosine", 1}});
  REQUIRE(ds.warnings.size() == 1);
  CHECK(ds.warnings[0].find("allowed by --allow-mixed-schedules") != std::string::npos);
  CHECK(ds.conventions["allow_mixed_schedules"] == true);
  CHECK(sweep_conventions_of(ds.conventions).allow_mixed_schedules);
  CHECK_FALSE(sweep_conventions_of(json::object()).allow_mixed_schedules);  // fits stored before the flag

  auto one = of(runs({{"a", 1e6, 2e7, 3.0, 1e-3, 1, "wsd"}, {"b", 2e6, 4e7, 2.9, 1e-3, 1, "wsd"}}));
  CHECK(one.warnings.empty());
  CHECK(one.selection["schedules"] == json{{"wsd/0.2", 2}});
}

TEST_CASE("a mixed-schedule warning reaches the fit record") {
  std::vector<Spec> specs;
  int k = 0;
  for (double N : {1e6, 2e6, 4e6, 8e6})
    for (double D : {2e7, 8e7, 3.2e8})
      specs.push_back({"r" + std::to_string(k), N, D, 1.8 + 400 / std::pow(N, 0.34) + 2000 / std::pow(D, 0.37), 1e-3,
                       1, k++ % 2 ? "wsd" : "cosine"});
  FitOptions o;
  o.law = Law::chinchilla;
  o.filter = Filter{};
  o.holdout = "none";
  o.boot.resamples = 0;
  auto rec = fit_record(of(runs(specs), true), o);
  REQUIRE_FALSE(rec.warnings.empty());
  CHECK(rec.warnings[0].find("mix learning-rate schedules") != std::string::npos);
  CHECK(render_fit(rec).find("schedule: cosine (6 runs), wsd/0.2 (6 runs)") != std::string::npos);
}

TEST_CASE("a ladder's trunk is no point: its branches are") {
  auto rs = runs({{"trunk", 1e6, 1e8, 2.9, 1e-3, 1, "constant"},
                  {"b1", 1e6, 2e7, 3.1, 1e-3, 1, "wsd"},
                  {"b2", 1e6, 5e7, 3.0, 1e-3, 1, "wsd"}});
  rs[1].parent_id = rs[2].parent_id = "trunk";
  rs[1].fork_step = 10, rs[2].fork_step = 30;
  auto ds = of(rs);  // the trunk's "constant" does not count as a second schedule
  REQUIRE(ds.points.size() == 2);
  CHECK(ds.points[0].id == "b1");
  CHECK(ds.points[1].id == "b2");
  CHECK(ds.selection["trunks"] == 1);
  CHECK(ds.selection["used"] == 2);
  REQUIRE(ds.selection["skipped"].size() == 1);
  CHECK(ds.selection["skipped"][0]["run"] == "trunk");
  CHECK(ds.selection["skipped"][0]["why"].get<std::string>().find("trunk") != std::string::npos);

  // A constant-LR run nobody forks from is an ordinary point of its own schedule.
  auto alone = of(runs({{"c1", 1e6, 1e8, 2.9, 1e-3, 1, "constant"}, {"c2", 2e6, 1e8, 2.8, 1e-3, 1, "constant"}}));
  CHECK(alone.points.size() == 2);
  CHECK(alone.selection["trunks"] == 0);
}

TEST_CASE("per (N, D): seeds of an LR averaged, then the best LR kept, the others recorded") {
  auto rs = runs({{"small-lo", 1e6, 2e7, 3.20, 1e-3},
                  {"small-mid-s1", 1e6, 2e7, 3.02, 3e-3, 1},
                  {"small-hi", 1e6, 2e7, 3.05, 1e-2},
                  {"small-mid-s2", 1e6, 2e7, 3.06, 3e-3, 2},  // mean 3.04 at 3e-3: still the best
                  {"big-lo", 4e6, 2e7, 2.70, 1e-3},
                  {"big-hi", 4e6, 2e7, 2.80, 1e-2},
                  {"big-long", 4e6, 8e7, 2.50, 1e-3}});
  rs[1].final_val_loss_se = 0.03, rs[3].final_val_loss_se = 0.04;
  auto ds = of(rs);
  REQUIRE(ds.points.size() == 3);
  CHECK(ds.points[0].id == "small-mid-s1");
  CHECK(ds.points[0].L == doctest::Approx(3.04));
  CHECK(ds.points[0].se == doctest::Approx(0.025));  // sqrt(0.03^2 + 0.04^2) / 2
  CHECK(ds.points[1].id == "big-lo");
  CHECK(ds.points[1].L == doctest::Approx(2.70));
  CHECK(ds.points[2].id == "big-long");

  const auto& sel = ds.selection;
  CHECK(sel["used"] == 7);
  CHECK(sel["points"] == 3);
  CHECK(sel["seed_averaged_points"] == 1);
  CHECK(sel["lr_selected_points"] == 2);
  REQUIRE(sel["lr_selection"].size() == 2);
  const auto& small = sel["lr_selection"][0];
  CHECK(small["kept_lr"].get<double>() == doctest::Approx(3e-3));
  CHECK(small["kept_run"] == "small-mid-s1");
  REQUIRE(small["tried"].size() == 3);
  CHECK(small["tried"][0]["lr"].get<double>() == doctest::Approx(1e-3));
  CHECK(small["tried"][1]["loss"].get<double>() == doctest::Approx(3.04));
  CHECK(small["tried"][1]["runs"] == json{"small-mid-s1", "small-mid-s2"});
  CHECK(sel["lr_selection"][1]["kept_run"] == "big-lo");
}

TEST_CASE("Approach 1 gets the curve of the run kept for each (N, D)") {
  auto rs = runs({{"lo", 1e6, 2e7, 3.2, 1e-3}, {"hi", 1e6, 2e7, 3.0, 1e-2}, {"other", 2e6, 2e7, 2.9, 1e-3}});
  auto metrics = [](const std::string& id) {
    return std::vector<store::Metric>{{id, 1, 1e7, 0, "train", 3.5, 0, 0, 0}, {id, 2, 2e7, 0, "train", 3.1, 0, 0, 0}};
  };
  auto ds = dataset_from_runs("sw", rs, {}, metrics);
  REQUIRE(ds.curves.size() == 2);
  CHECK(ds.curves[0].id == "hi");
  CHECK(ds.curves[1].id == "other");
}

TEST_CASE("runs stored without a config are each their own point, as before") {
  auto rs = runs({{"a", 1e6, 2e7, 3.0}, {"b", 1e6, 2e7, 3.1}});
  for (auto& r : rs) r.config_toml.clear();
  auto ds = of(rs);
  CHECK(ds.points.size() == 2);
  CHECK(ds.selection["schedules"] == json{{"unrecorded", 2}});
  CHECK(ds.selection["lr_selected_points"] == 0);
}

namespace {
store::Run tokenized(const Spec& s, const std::string& tokenizer, std::optional<double> bpt) {
  auto r = run(s);
  r.tokenizer = tokenizer;
  r.bytes_per_token = r.train_bytes_per_token = bpt;
  r.final_val_loss_se = 0.01;
  return r;
}

std::string error_of(const std::vector<store::Run>& rs, const SweepConventions& conv) {
  try {
    dataset_from_runs("sw", rs, conv, nullptr);
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("runs of two tokenizers are refused in nats and fitted in bits per byte") {
  const std::vector<store::Run> rs{tokenized({"a", 1e6, 2e7, 2.0}, "bytes", 1.0),
                                   tokenized({"b", 1e6, 2e7, 6.0}, "sentencepiece:ab12ab12ab12ab12", 3.0),
                                   tokenized({"c", 2e6, 4e7, 1.8}, "bytes", 1.0)};
  SweepConventions nats;
  CHECK(error_of(rs, nats) ==
        "runs use 2 tokenizers (bytes, sentencepiece:ab12ab12ab12ab12): losses in nats per token are not comparable "
        "across them; fit in bits per byte with --loss bpb");
  SweepConventions bpb;
  bpb.loss = "bpb";
  const auto ds = dataset_from_runs("sw", rs, bpb, nullptr);
  REQUIRE(ds.points.size() == 3);
  CHECK(ds.points[0].L == doctest::Approx(2.0 / std::log(2.0)));  // bytes: nats / ln 2
  CHECK(ds.points[1].L == doctest::Approx(6.0 / (3.0 * std::log(2.0))));
  CHECK(ds.points[1].se == doctest::Approx(0.01 / (3.0 * std::log(2.0))));
  CHECK(loss_unit(ds.conventions) == "bits/byte");
  CHECK(sweep_conventions_of(ds.conventions).loss == "bpb");  // a report rebuilds the same points
  CHECK(loss_unit(dataset_from_runs("sw", {rs[0], rs[2]}, nats, nullptr).conventions) == "nats/token");
  CHECK(loss_unit(nlohmann::ordered_json::object()) == "nats/token");  // fits from before --loss
}

TEST_CASE("one tokenizer, or unrecorded ones, fit in nats; bits per byte needs every run's bytes per token") {
  const std::vector<store::Run> rs{tokenized({"a", 1e6, 2e7, 2.0}, "bytes", 1.0),
                                   tokenized({"t", 2e6, 4e7, 1.8}, "", std::nullopt)};
  CHECK(dataset_from_runs("sw", rs, SweepConventions{}, nullptr).points.size() == 2);
  SweepConventions bpb;
  bpb.loss = "bpb";
  CHECK(error_of(rs, bpb).find("--loss bpb: run t has no bytes per token") == 0);
  SweepConventions bad;
  bad.loss = "bits";
  CHECK(error_of(rs, bad) == "--loss must be nats or bpb, got 'bits'");
}
