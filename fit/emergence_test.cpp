// Emergence fits on synthetic evals with a planted threshold and planted
// noise, written through the real store where the analysis reads a sweep.
#include "fit/emergence.h"

#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "common/error.h"
#include "fit/analysis.h"
#include "store/test_util.h"

using namespace scalelab;
using namespace scalelab::fit::emergence;

namespace {

// Planted: floor 0.02, ceiling 0.98, k 4 per decade, threshold 10^5, over
// 8 scales from 10^4 to 10^6 with 3 seeds each. Noise: each seed shifts the
// logit by N(0, 0.15) (seed-to-seed variation), then 1000 binomial items.
const Sigmoid kPlanted{0.02, 0.98, 4.0, 5.0};

std::vector<Obs> planted(const std::function<double(double u)>& p_of_u, std::uint64_t seed, int items = 1000) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> logit_noise(0, 0.15);
  std::vector<Obs> obs;
  int unit = 0;
  for (int i = 0; i < 8; ++i) {
    const double u = 4 + 2.0 * i / 7;
    for (int s = 0; s < 3; ++s) {
      double p = std::clamp(p_of_u(u), 1e-6, 1 - 1e-6);
      p = 1 / (1 + std::exp(-(std::log(p / (1 - p)) + logit_noise(rng))));
      std::binomial_distribution<int> k(items, p);
      obs.push_back({std::pow(10.0, u), k(rng) / double(items), double(items), unit++, i});
    }
  }
  return obs;
}

ThresholdOptions quick(int resamples = 200) {
  ThresholdOptions o;
  o.resamples = resamples;
  o.threads = 2;
  return o;
}

}  // namespace

TEST_CASE("a planted threshold is recovered, with an interval that covers it") {
  // Tolerance: at the midpoint the planted curve rises 0.96 k ln10 / 4 = 2.2
  // per decade; 24 points of ~0.02 noise (seed logit noise dominates binomial)
  // pin the midpoint to about 0.01 decades. 0.05 decades (12% in x) is five
  // times that, and far below the 0.29-decade spacing of the scales.
  for (std::uint64_t seed : {1, 2, 3}) {
    auto obs = planted([](double u) { return kPlanted.at(std::pow(10.0, u)); }, seed);
    auto f = fit_threshold(obs, quick());
    CAPTURE(seed);
    REQUIRE(f.transition);
    CHECK(std::fabs(f.best.m - 5.0) < 0.05);
    CHECK(f.best.k == doctest::Approx(4.0).epsilon(0.35));
    CHECK(f.best.left == doctest::Approx(0.02).epsilon(1.5));  // near 0: absolute error ~0.03
    CHECK(std::fabs(f.best.left - 0.02) < 0.03);
    CHECK(std::fabs(f.best.right - 0.98) < 0.03);
    CHECK(std::log10(f.threshold.hi / f.threshold.lo) < 0.2);
    CHECK(f.transition_share > 0.9);
    CHECK(f.resamples == 200);
  }
}

TEST_CASE("the threshold interval covers the planted value at about its nominal rate") {
  // 95% intervals from 3 seeds per scale: resampling 3 of 3 runs understates
  // the seed variance by (n-1)/n, so coverage is a little under 95%. Demand
  // 16 of 20; a broken bootstrap (binomial noise only, or none) covers far fewer.
  int covered = 0;
  for (std::uint64_t seed = 100; seed < 120; ++seed) {
    auto f = fit_threshold(planted([](double u) { return kPlanted.at(std::pow(10.0, u)); }, seed), quick(100));
    covered += f.threshold.lo <= 1e5 && f.threshold.hi >= 1e5;
    MESSAGE("seed " << seed << ": m " << f.best.m << " interval " << std::log10(f.threshold.lo) << " .. "
                    << std::log10(f.threshold.hi));
  }
  CHECK(covered >= 16);
}

TEST_CASE("a sharp step between two adjacent scales is a transition with k at its bound or large") {
  auto obs = planted([](double u) { return u < 4.9 ? 0.01 : 0.99; }, 4);
  auto f = fit_threshold(obs, quick(50));
  REQUIRE(f.transition);
  // The step lies between the scales at 10^4.86 and 10^5.14: m must be between them.
  CHECK(f.best.m > 4.85);
  CHECK(f.best.m < 5.15);
  CHECK(f.best.k > 10);
}

TEST_CASE("flat data is reported as no transition") {
  auto obs = planted([](double) { return 0.3; }, 5);
  auto f = fit_threshold(obs, quick(50));
  CHECK_FALSE(f.transition);
  REQUIRE_FALSE(f.why_not.empty());
  // Flat at chance: the floor-level case.
  auto zero = planted([](double) { return 0.0; }, 6);
  CHECK_FALSE(fit_threshold(zero, quick(0)).transition);
}

TEST_CASE("a rise that is linear in log x is not called a transition") {
  auto obs = planted([](double u) { return 0.1 + 0.35 * (u - 4); }, 7);
  auto f = fit_threshold(obs, quick(0));
  CHECK_FALSE(f.transition);
  bool bic_rule = false;
  for (auto& w : f.why_not) bic_rule |= w.find("BIC") != std::string::npos;
  CHECK(bic_rule);
}

TEST_CASE("a transition beyond the largest scale is not claimed") {
  // Midpoint at 10^6.6: the data shows only the start of the rise.
  auto obs = planted([](double u) { return 0.02 + 0.96 / (1 + std::exp(-4 * (u - 6.6))); }, 8);
  auto f = fit_threshold(obs, quick(0));
  CHECK_FALSE(f.transition);
}

TEST_CASE("too few scales is an error a user can read") {
  std::vector<Obs> obs = {{1e4, 0.1, 100, 0, 0}, {1e5, 0.5, 100, 1, 1}, {1e6, 0.9, 100, 2, 2}};
  CHECK_THROWS_AS(fit_threshold(obs, quick(0)), UserError);
}

TEST_CASE("breakthroughness and linearity on hand-computed values") {
  // y sorted by x: 0, 0, 0.1, 0.9, 1.0. Steps 0, 0.1, 0.8, 0.1; squares 0, .01, .64, .01;
  // median .01 -> root 0.1. I = +1 * (1 - 0) = 1. B = 10. L = 1 / sqrt(0.66 / 4).
  auto s = shape_scores({5, 1, 3, 2, 4}, {1.0, 0, 0.1, 0, 0.9});
  CHECK(s.points == 5);
  CHECK(s.I == doctest::Approx(1.0));
  CHECK(s.breakthroughness == doctest::Approx(10.0));
  CHECK(s.linearity == doctest::Approx(1 / std::sqrt(0.66 / 4)));
  // Falling with scale: the sign flips (argmax 0 < argmin 3, numpy's first minimum).
  auto d = shape_scores({1, 2, 3, 4, 5}, {1.0, 0.9, 0.1, 0, 0});
  CHECK(d.I == doctest::Approx(-1.0));
  CHECK(d.breakthroughness == doctest::Approx(-10.0));
  // A straight line in 4 equal steps: B = L = I / step = 4.
  auto l = shape_scores({1, 2, 3, 4, 5}, {0, 0.25, 0.5, 0.75, 1.0});
  CHECK(l.breakthroughness == doctest::Approx(4.0));
  CHECK(l.linearity == doctest::Approx(4.0));
  // Seeds at one scale are averaged first: (0.2 + 0.4) / 2 = 0.3.
  auto m = shape_scores({1, 1, 2}, {0.2, 0.4, 0.5});
  CHECK(m.points == 2);
  CHECK(m.I == doctest::Approx(0.2));
}

TEST_CASE("a power law through a continuous metric, on its own scale") {
  std::vector<double> x = {1e4, 3e4, 1e5, 3e5, 1e6}, lp, acc;
  for (double v : x) lp.push_back(-2.0 * std::pow(v, -0.3)), acc.push_back(1 - 0.5 * std::pow(v / 1e4, -0.5));
  auto t = fit_trend("token_logprob", x, lp);
  REQUIRE(t);
  CHECK(t->transform == "-y");
  CHECK(t->A == doctest::Approx(2.0).epsilon(1e-6));
  CHECK(t->b == doctest::Approx(-0.3).epsilon(1e-6));
  CHECK(t->r2 == doctest::Approx(1.0));
  CHECK(t->at(1e5) == doctest::Approx(lp[2]));
  auto a = fit_trend("token_acc", x, acc);
  REQUIRE(a);
  CHECK(a->transform == "1-y");
  CHECK(a->b == doctest::Approx(-0.5).epsilon(1e-6));
  CHECK_FALSE(fit_trend("edit_distance", {1, 1}, {2, 3}));
}

namespace {

// A sweep in a real store: 8 widths x 3 seeds, per-token log-probability
// smooth in log N, exact match its 4th power (the mirage of Schaeffer et al.).
struct Synthetic {
  store::testing::TempDir dir;
  std::unique_ptr<store::Store> st;
  std::vector<store::Run> runs;
  Synthetic(bool with_evals = true) {
    st = store::Store::open(dir.file("s.db"));
    st->add_sweep({"sw", "addition", "name = \"addition\"", ""});
    std::mt19937_64 rng(11);
    std::vector<store::Eval> es;
    for (int i = 0; i < 8; ++i)
      for (int seed = 1; seed <= 3; ++seed) {
        auto r = store::testing::make_run("r" + std::to_string(i) + "s" + std::to_string(seed), "sw");
        r.params_total = static_cast<std::int64_t>(std::pow(10.0, 4 + 2.0 * i / 7));
        r.config_toml = "name = \"w" + std::to_string(i) + "-s" + std::to_string(seed) +
                        "\"\n[model]\nd_model = " + std::to_string(8 * (i + 1)) + "\n[train]\nseed = " +
                        std::to_string(seed) + "\n";
        runs.push_back(r);
        const double u = std::log10(static_cast<double>(r.params_total));
        const double p_token = 0.3 + 0.69 / (1 + std::exp(-2.5 * (u - 4.8)));
        std::binomial_distribution<int> k(1000, std::pow(p_token, 4));
        es.push_back({r.id, 2000, "addition", "exact_match", k(rng) / 1000.0, 1000});
        es.push_back({r.id, 2000, "addition", "token_logprob", std::log(p_token), 1000});
        es.push_back({r.id, 2000, "addition", "token_acc", p_token, 1000});
        es.push_back({r.id, 2000, "addition", "answer_len", 4, 1000});
        es.push_back({r.id, 1000, "addition", "exact_match", 0.0, 1000});
        es.push_back({r.id, 2000, "addition/train", "exact_match", 1.0, 1000});
      }
    st->register_sweep({"sw", "addition", "name = \"addition\"", ""}, runs);
    for (auto& r : runs) {
      st->mark_running(r.id);
      r.status = "done";
      r.steps_done = 2000;
      st->finish_run(r);
    }
    if (with_evals) st->write_evals(es);
  }
  Record run(Request q) {
    q.sweep_id = "sw", q.sweep_name = "addition";
    q.threshold.resamples = 100;
    q.threshold.threads = 2;
    return analyze(q, st->runs("sw"), [&](const std::string& id) { return st->evals(id); });
  }
};

}  // namespace

TEST_CASE("analyze: a sweep's evals -> threshold, mirage verdict, prediction") {
  Synthetic s;
  Request q;
  q.task = "addition";
  auto rec = s.run(q);
  CHECK(rec.approach() == "addition:exact_match:params");
  CHECK(rec.selection.used == 24);
  REQUIRE(rec.result.over_scale);
  const auto& o = *rec.result.over_scale;
  REQUIRE(o.threshold.transition);
  REQUIRE(o.threshold.fit);
  // exact = p^4 crosses its own midpoint near p = 0.8: u = 4.8 + ln(0.49/0.19)... within the data.
  const double m = o.threshold.fit->best.m;
  CHECK(m > 4.5);
  CHECK(m < 5.6);
  CHECK(to_json(rec)["params"].contains("threshold"));
  // The composition of the smooth per-token trend reproduces the jump: a mirage.
  REQUIRE(o.mirage.composition);
  CHECK(o.mirage.composition->source == "exp(token_logprob)^answer_len");
  CHECK(o.mirage.composition->per_run.max_abs_error < 0.1);
  CHECK(o.trend("token_logprob"));
  REQUIRE(o.shape_scores.size() >= 1);
  CHECK(o.shape_scores[0].first == "exact_match");
  CHECK(o.shape_scores[0].second.breakthroughness > 0);
  // The prediction uses the 12 runs at or below the geometric middle (10^5).
  CHECK(o.prediction.small_runs == 12);
  REQUIRE(o.prediction.extrapolation);
  CHECK(o.prediction.extrapolation->methods.at(0).name == "composition");
  auto store_row = fit::to_store(to_json(rec));
  CHECK(store_row.law == "emergence");
  auto id = s.st->add_fit(store_row);
  auto back = record_from_json(fit::from_store(*s.st->fit(id)));
  CHECK(back.id == id);
  CHECK(back.result.task == "addition");
  CHECK_FALSE(render(rec).empty());
  CHECK(render(back) == render(rec));
}

TEST_CASE("analyze over steps: train and test transitions per run group") {
  Synthetic s;
  Request q;
  q.task = "addition";
  q.x = "step";
  auto rec = s.run(q);
  REQUIRE(rec.result.over_training);
  const auto& groups = rec.result.over_training->groups;
  CHECK(groups.size() == 8);  // 3 seeds of each width are one group
  CHECK(groups[0].runs.size() == 3);
  CHECK(groups[0].test);
  CHECK(groups[0].train);
  // Two evaluated steps: too few for a sigmoid, said so rather than fitted.
  CHECK_FALSE(groups[0].test->transition);
  CHECK_FALSE(groups[0].test->fit);
  CHECK(render(rec).find("no transition") != std::string::npos);
}

namespace {

// Struct -> JSON -> struct -> JSON: the same text. Text, not json ==, because
// NaN (a missing R^2, an unbounded interval) never equals itself.
void check_round_trip(const Record& rec) {
  const std::string once = to_json(rec).dump();
  const Record back = record_from_json(json::parse(once));
  CHECK(to_json(back).dump() == once);
  CHECK(render(back) == render(rec));
}

}  // namespace

TEST_CASE("a record round-trips through its JSON, over scale and over steps") {
  Synthetic s;
  Request q;
  q.task = "addition";
  auto scale = s.run(q);
  scale.id = 7, scale.created_at = "2026-12-01T00:00:00Z", scale.result.bootstrap_seed = 3;
  REQUIRE(scale.result.over_scale->prediction.extrapolation);
  check_round_trip(scale);
  q.predict_below = 1e7;  // no larger runs: the prediction's why_not
  check_round_trip(s.run(q));
  q.predict_below.reset();
  q.x = "step";
  check_round_trip(s.run(q));
  // The stored layout's key order is the release's: the row columns first, the id last.
  const json j = to_json(scale);
  std::vector<std::string> keys;
  for (auto& [k, v] : j.items()) keys.push_back(k);
  CHECK(keys == std::vector<std::string>{"source", "law", "approach", "conventions", "n_points", "objective", "params",
                                         "selection", "convergence", "result", "id", "created_at"});
}

TEST_CASE("a record missing a required key, or with one of the wrong type, is refused with the key named") {
  Synthetic s;
  Request q;
  q.task = "addition";
  json j = to_json(s.run(q));
  j["id"] = 12;
  auto refused = [](json bad, const std::string& want) {
    CAPTURE(want);
    CHECK_THROWS_WITH_AS(record_from_json(bad), doctest::Contains(want.c_str()), UserError);
  };
  json bad = j;
  bad["result"]["over_scale"]["threshold"].erase("points");
  refused(bad, "fit 12: emergence record: result.over_scale.threshold.points: missing");
  bad = j;
  bad["result"]["runs"][1].erase("step");
  refused(bad, "result.runs[1].step: missing");
  bad = j;
  bad["conventions"]["rate"] = "yes";
  refused(bad, "conventions.rate: expected true or false");
  bad = j;
  bad["result"]["over_scale"]["prediction"]["methods"]["composition"]["curve"][0] = json::array({1.0});
  refused(bad, "result.over_scale.prediction.methods.composition.curve: expected an array of 2 numbers");
  bad = j;
  bad["law"] = "chinchilla";
  refused(bad, "law: 'chinchilla' is not an emergence record");
  bad = j;
  bad.erase("id");
  bad["selection"].erase("used");
  CHECK_THROWS_WITH_AS(record_from_json(bad), doctest::Contains("emergence record: selection.used: missing"), UserError);
  // Optional parts may be absent: a record stored before `scalelab emergence` set the seed.
  bad = j;
  bad["result"].erase("bootstrap_seed");
  CHECK_NOTHROW(record_from_json(bad));
}

TEST_CASE("analyze: bad input is a one-line user error") {
  Synthetic s;
  Request q;
  q.task = "multiplication";
  try {
    s.run(q);
    FAIL("no error");
  } catch (const UserError& e) {
    const std::string w = e.what();
    CHECK(w.find("no evals for task 'multiplication'") != std::string::npos);
    CHECK(w.find("addition, addition/train") != std::string::npos);
    CHECK(w.find('\n') == std::string::npos);
  }
  q.task = "addition";
  q.metric = "bleu";
  CHECK_THROWS_WITH_AS(s.run(q), doctest::Contains("its metrics: answer_len, exact_match"), UserError);
  q.metric = "exact_match";
  q.x = "width";
  CHECK_THROWS_AS(s.run(q), UserError);
  Synthetic none(false);
  q.x = "params";
  CHECK_THROWS_WITH_AS(none.run(q), doctest::Contains("no task evaluations"), UserError);
}

TEST_CASE("prediction: an exact per-token power law predicts the larger models' threshold") {
  // -token_logprob = 3 x^-0.35 exactly and exact match = p^5 with no noise: the
  // small half of the scales determines the law, so the composed prediction must
  // land on the observed crossing; the loss -> accuracy sigmoid fitted on small
  // models near the floor is reported but not trusted here.
  store::testing::TempDir dir;
  auto st = store::Store::open(dir.file("p.db"));
  st->add_sweep({"sp", "pred", "name = \"pred\"", ""});
  std::vector<store::Run> runs;
  std::vector<store::Eval> es;
  for (int i = 0; i < 10; ++i) {
    auto r = store::testing::make_run(fmt::format("p{}", i), "sp");
    r.params_total = static_cast<std::int64_t>(std::pow(10.0, 3 + 4.0 * i / 9));
    r.config_toml = "[model]\nd_model = " + std::to_string(i + 1) + "\n";
    runs.push_back(r);
    const double lp = -3 * std::pow(static_cast<double>(r.params_total), -0.35);
    es.push_back({r.id, 100, "copy", "exact_match", std::exp(5 * lp), 100000});
    es.push_back({r.id, 100, "copy", "token_logprob", lp, 100000});
    es.push_back({r.id, 100, "copy", "answer_len", 5, 100000});
  }
  st->register_sweep({"sp", "pred", "name = \"pred\"", ""}, runs);
  for (auto& r : runs) {
    st->mark_running(r.id);
    r.status = "done";
    st->finish_run(r);
  }
  st->write_evals(es);
  Request q;
  q.sweep_id = "sp", q.sweep_name = "pred", q.task = "copy";
  q.threshold.resamples = 0;
  auto rec = analyze(q, st->runs("sp"), [&](const std::string& id) { return st->evals(id); });
  const auto& o = *rec.result.over_scale;
  REQUIRE(o.threshold.transition);
  const auto& p = o.prediction;
  CHECK(p.small_runs == 5);
  REQUIRE(p.extrapolation);
  const auto& c = p.extrapolation->methods.at(0);
  CHECK(c.name == "composition");
  // The crossing of the exact composition equals the fitted sigmoid's midpoint to
  // within how well a sigmoid describes exp(-15 x^-0.35): a few hundredths of a decade.
  REQUIRE(c.error_decades);
  CHECK(std::fabs(*c.error_decades) < 0.1);
  REQUIRE(c.large_models);
  CHECK(c.large_models->max_abs_error < 1e-6);
  REQUIRE(o.mirage.composition);
  REQUIRE(o.mirage.composition->smooth);
  CHECK(o.mirage.composition->smooth->explained);
  REQUIRE(o.trend("token_logprob"));
  CHECK(o.trend("token_logprob")->r2 == doctest::Approx(1.0));
  check_round_trip(rec);
}
