#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <string>

#include "common/error.h"
#include "fit/analysis.h"
#include "fit/lr_rule.h"

using namespace scalelab::fit;

namespace {
const double kC = 0.3, kK = 0.35;  // the truth: lr*(N) = 0.3 N^-0.35
double truth(double N) { return kC * std::pow(N, -kK); }

// Final loss against ln lr: a bowl around ln lr*(N), a little steeper above
// the optimum than below (as measured LR scans are), plus seed noise.
double loss(double N, double D, double lr, double skew, double noise) {
  const double u = std::log(lr / truth(N));
  return 2.0 + 1e4 / std::sqrt(N * D) + 0.02 * u * u * (1 + skew * u) + noise;
}

// One scan per (N, D): 5 LRs a factor 2 apart, placed so the optimum falls between grid points.
LrScan scan(double N, double D, double offset, int seeds, double sigma, std::mt19937_64& rng, double skew = 0) {
  std::normal_distribution<double> eps(0, sigma);
  LrScan s{N, D, "L2-D16", "wsd/0.2", {}};
  for (int i = -2; i <= 2; ++i) {
    LrTrial t{truth(N) * std::pow(2.0, i + offset), {}, {}};
    for (int k = 0; k < seeds; ++k) {
      t.losses.push_back(loss(N, D, t.lr, skew, sigma > 0 ? eps(rng) : 0));
      t.runs.push_back("run" + std::to_string(k));
    }
    s.trials.push_back(t);
  }
  return s;
}

Dataset dataset(const std::vector<double>& sizes, int budgets, int seeds, double sigma, double skew = 0) {
  std::mt19937_64 rng(7);
  Dataset ds;
  ds.source = "sweep-id";
  ds.sweep = true;
  ds.selection = {{"sweep_name", "synthetic"}};
  ds.conventions = {{"params", "non_embedding"}};
  int j = 0;
  for (double N : sizes)
    for (int b = 0; b < budgets; ++b) ds.lr_scans.push_back(scan(N, 20 * N * (1 << b), 0.3 - 0.2 * (j++ % 3), seeds, sigma, rng, skew));
  return ds;
}

FitOptions lr_options(int resamples) {
  FitOptions o;
  o.lr_rule = true;
  o.boot.resamples = resamples;
  o.boot.threads = 2;
  return o;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const scalelab::UserError& e) {
    return e.what();
  }
  return "accepted";
}
}  // namespace

TEST_CASE("best_lr: the grid's minimum refined by a parabola in ln lr through it and its neighbours") {
  std::mt19937_64 rng(1);
  const auto s = scan(1e4, 2e5, 0.3, 1, 0, rng);  // lr* lies 0.3 grid steps below the middle LR
  const auto r = best_lr(s);
  CHECK(r.bracketed);
  CHECK(r.grid_lr == doctest::Approx(truth(1e4) * std::pow(2.0, 0.3)));
  // The bowl is exactly quadratic in ln lr, so the parabola's vertex is the truth.
  CHECK(r.lr_opt == doctest::Approx(truth(1e4)).epsilon(1e-6));
  CHECK(r.lrs.size() == 5);
  CHECK(r.runs == 5);

  // A minimum at either end of the grid is not bracketed, and says which way to extend.
  const auto low = scan(1e4, 2e5, 2.2, 1, 0, rng);  // every LR above lr*: the smallest wins
  const auto e = best_lr(low);
  CHECK_FALSE(e.bracketed);
  CHECK(e.lr_opt == e.lrs.front());
  CHECK(e.note.find("smallest learning rate tried") != std::string::npos);
  CHECK(e.note.find("extend axes.lr downwards") != std::string::npos);
  CHECK_FALSE(best_lr(scan(1e4, 2e5, -2.4, 1, 0, rng)).bracketed);
}

TEST_CASE("fit_lr_rule recovers c and k, averaging each size's budgets") {
  const auto ds = dataset({3e3, 1e4, 3e4, 1e5}, 3, 1, 0, 0.3);
  const auto f = fit_lr_rule(group_by_size(ds.lr_scans));
  CHECK(f.used == 4);
  CHECK(f.sizes.size() == 4);
  CHECK(f.scans.size() == 12);
  // The skew biases each parabola a little (it is no longer exact): within 2%.
  CHECK(f.k == doctest::Approx(kK).epsilon(0.02));
  CHECK(f.c == doctest::Approx(kC).epsilon(0.1));
  for (auto& s : f.sizes) CHECK(s.lr_opt == doctest::Approx(truth(s.N)).epsilon(0.05));
}

TEST_CASE("an unbracketed size is left out; fewer than 2 bracketed sizes is an error") {
  std::mt19937_64 rng(3);
  std::vector<LrScan> scans{scan(3e3, 6e4, 0.3, 1, 0, rng), scan(1e4, 2e5, 0.1, 1, 0, rng),
                            scan(3e4, 6e5, 2.2, 1, 0, rng)};  // the largest's grid lies above its optimum
  const auto f = fit_lr_rule(group_by_size(scans));
  CHECK(f.used == 2);
  CHECK_FALSE(f.sizes[2].used);
  CHECK(f.k == doctest::Approx(kK).epsilon(1e-4));  // exact data: the two bracketed sizes give the truth
  scans.erase(scans.begin());
  CHECK(error_of([&] { fit_lr_rule(group_by_size(scans)); })
            .find("--law lr needs at least 2 sizes whose best learning rate is bracketed by axes.lr, got 1 of 2") !=
        std::string::npos);
}

TEST_CASE("the LR rule's record: bootstrap intervals that cover the truth, stored and read back") {
  auto ds = dataset({3e3, 1e4, 3e4, 1e5, 3e5}, 3, 3, 0.004);
  const auto rec = fit_record(ds, lr_options(400));
  REQUIRE(rec.lr_rule());
  CHECK(rec.law == "lr");
  CHECK(rec.n_points == 5);
  const Estimate *c = find(rec.params, "c"), *k = find(rec.params, "k");
  REQUIRE(c);
  REQUIRE(k);
  REQUIRE(k->lo);
  CHECK(*k->lo < kK);
  CHECK(*k->hi > kK);
  CHECK(*c->lo < kC);
  CHECK(*c->hi > kC);
  CHECK(k->value == doctest::Approx(kK).epsilon(0.05));
  CHECK(rec.bootstrap.ok > 350);
  CHECK(rec.identification()->not_identified.empty());
  CHECK(render_fit(rec).find("learning-rate rule lr*(N) = c N^-k through 5 of 5 sizes") != std::string::npos);

  // Stored and read back key for key; a sweep reads c and k from the row.
  auto row = to_store(rec);
  row.id = 9;
  CHECK(record_of(row).to_json().dump() == from_store(row).dump());
  const auto rule = lr_rule_of(row);
  CHECK(rule.c == c->value);
  CHECK(rule.k == k->value);
  CHECK(rule.params == "non_embedding");
  CHECK(is_lr_rule(row));
  CHECK_FALSE(latest_loss_law({row}));
  CHECK(error_of([&] { loss_law_record(row); }).find("fit 9 is a learning-rate rule") != std::string::npos);
  row.law = "chinchilla";
  row.approach = "3";
  CHECK(error_of([&] { lr_rule_of(row); }) ==
        "fit 9 is a chinchilla (approach 3) fit, not a learning-rate rule; fit one with `scalelab fit SWEEP --law lr`");
}

TEST_CASE("two sizes: k is not identified, and says why") {
  // One budget of one seed per size: nothing varies between resamples.
  auto rec = fit_record(dataset({3e3, 1e5}, 1, 1, 0), lr_options(50));
  CHECK(find(rec.params, "k")->value == doctest::Approx(kK).epsilon(1e-4));
  CHECK_FALSE(find(rec.params, "k")->lo);
  REQUIRE(rec.identification());
  CHECK(rec.identification()->not_identified.size() == 2);
  const std::string text = render_fit(rec);
  CHECK(text.find("k (and c) not identified: only 2 sizes: 2 points and 0 degrees of freedom") != std::string::npos);
  CHECK(text.find("no interval can be computed") != std::string::npos);
  // Several noisy budgets per size: an interval, still flagged.
  rec = fit_record(dataset({3e3, 1e5}, 4, 2, 0.004), lr_options(100));
  CHECK(find(rec.params, "k")->lo);
  CHECK(render_fit(rec).find("the interval shows only how each size's best LR scatters") != std::string::npos);
}

TEST_CASE("--law lr refuses a sweep with fewer than 3 learning rates per size") {
  auto ds = dataset({3e3, 1e4}, 1, 1, 0);
  ds.lr_scans[1].trials.resize(2);
  CHECK(error_of([&] { fit_record(ds, lr_options(0)); })
            .find("--law lr needs at least 3 learning rates per size (axes.lr) to bracket the best one; sweep "
                  "'synthetic' has 2 at N = 10") != std::string::npos);
  ds.lr_scans.clear();
  CHECK(error_of([&] { fit_record(ds, lr_options(0)); }).find("no finished runs with a recorded learning rate") !=
        std::string::npos);
}
