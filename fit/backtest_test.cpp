#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "fit/analysis.h"
#include "fit/backtest.h"
#include "fit/forecast.h"
#include "fit/laws.h"

using namespace scalelab::fit;

namespace {
// Sizes x tokens-per-parameter on a grid, losses from `law` with multiplicative noise.
std::vector<Point> grid_points(Law law, const std::vector<double>& p, double sigma, unsigned seed, double n_hi = 1e9) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> eps(0, sigma);
  std::vector<Point> pts;
  for (double N = 1e6; N <= n_hi * 1.0001; N *= std::sqrt(10.0))
    for (double tpp : {2.0, 5.0, 10.0, 20.0, 50.0, 100.0}) {
      Point x{N, tpp * N, 6 * N * tpp * N, 0, "p" + std::to_string(pts.size())};
      x.L = predict(law, p, x) * std::exp(sigma > 0 ? eps(rng) : 0.0);
      pts.push_back(x);
    }
  return pts;
}
Point pt(double N, double D, double L = 3, double U = 0, double C = 0) {
  Point p;
  p.N = N, p.D = D, p.C = C, p.L = L, p.U = U;
  return p;
}
}  // namespace

TEST_CASE("registry: coordinates round-trip and each law predicts its formula") {
  const Point x{3e8, 6e9, 6 * 3e8 * 6e9, 0, "x", 2e9};
  struct Want {
    Law law;
    std::vector<double> p;
    double loss;
  };
  const double dprime = 2e9 + 2e9 * 15 * (1 - std::exp(-2.0 / 15));  // R_D = 6e9/2e9 - 1 = 2
  const double un = std::min(3e8, 2e9 / 20), nprime = un + un * 5 * (1 - std::exp(-(3e8 / un - 1) / 5));
  const std::vector<Want> cases = {
      {Law::chinchilla, {1.8, 400, 2000, 0.34, 0.37}, 1.8 + 400 * std::pow(3e8, -0.34) + 2000 * std::pow(6e9, -0.37)},
      {Law::chinchilla_tied, {1.8, 400, 2000, 0.35}, 1.8 + 400 * std::pow(3e8, -0.35) + 2000 * std::pow(6e9, -0.35)},
      {Law::data_constrained, {1.8, 400, 2000, 0.34, 0.37, 15, 5},
       1.8 + 400 * std::pow(nprime, -0.34) + 2000 * std::pow(dprime, -0.37)},
      {Law::kaplan, {8.8e13, 5.4e13, 0.076, 0.095}, std::pow(std::pow(8.8e13 / 3e8, 0.076 / 0.095) + 5.4e13 / 6e9, 0.095)},
      {Law::power_n, {1.5, 30, 0.2}, 1.5 + 30 * std::pow(3e8, -0.2)},
      {Law::power_d, {1.5, 30, 0.2}, 1.5 + 30 * std::pow(6e9, -0.2)},
      {Law::power_c, {1.5, 30, 0.1}, 1.5 + 30 * std::pow(6 * 3e8 * 6e9, -0.1)},
  };
  for (auto& c : cases) {
    CAPTURE(law_name(c.law));
    CHECK(info(c.law).params.size() == c.p.size());
    auto back = from_solver(c.law, to_solver(c.law, c.p));
    for (std::size_t k = 0; k < c.p.size(); ++k) CHECK(back[k] == doctest::Approx(c.p[k]).epsilon(1e-12));
    CHECK(predict(c.law, c.p, x) == doctest::Approx(c.loss).epsilon(1e-12));
  }
  CHECK(law_from_name("chinchilla-tied") == Law::chinchilla_tied);
  CHECK_THROWS_WITH(law_from_name("hoffmann"), doctest::Contains("--law must be auto, chinchilla"));
}

TEST_CASE("data-constrained: fresh data and no excess parameters give Chinchilla's loss") {
  const std::vector<double> dc{1.8, 400, 2000, 0.34, 0.37, 15, 5}, ch{1.8, 400, 2000, 0.34, 0.37};
  for (double N : {1e6, 1e7, 5e7}) {
    const Point fresh{N, 1e9, 6 * N * 1e9, 0, "", 1e9};  // one epoch, N <= U/20
    CHECK(predict(Law::data_constrained, dc, fresh) == doctest::Approx(predict(Law::chinchilla, ch, fresh)).epsilon(1e-12));
  }
  const Point repeated{1e7, 8e9, 0, 0, "", 1e9};  // 8 epochs: worth less than 8e9 fresh tokens
  CHECK(predict(Law::data_constrained, dc, repeated) > predict(Law::chinchilla, ch, repeated));
}

TEST_CASE("variable projection and the multistart agree; the data-constrained law recovers R_D*") {
  const std::vector<double> tied{1.7, 300, 1500, 0.32};
  auto pts = grid_points(Law::chinchilla_tied, tied, 0, 0);
  SolveSettings vp, ms;
  vp.solver = Solver::varpro, ms.solver = Solver::multistart;
  auto a = fit_law(Law::chinchilla_tied, pts, vp), b = fit_law(Law::chinchilla_tied, pts, ms);
  CHECK(a.objective < 1e-10);
  CHECK(b.objective < 1e-10);
  for (std::size_t k = 0; k < tied.size(); ++k) {
    CHECK(a.p[k] == doctest::Approx(tied[k]).epsilon(1e-3));
    CHECK(b.p[k] == doctest::Approx(tied[k]).epsilon(1e-3));
  }
  // Repeated data: U fixed per size, 1 to 60 epochs.
  const std::vector<double> dc{1.8, 400, 2000, 0.34, 0.37, 15, 5};
  std::vector<Point> rep;
  for (double N = 1e7; N <= 1e9; N *= 2.5)
    for (double ep : {1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 60.0}) {
      Point x{N, 0, 0, 0, "", 20 * N / 4};
      x.D = x.U * ep, x.C = 6 * N * x.D;
      x.L = predict(Law::data_constrained, dc, x);
      rep.push_back(x);
    }
  auto f = fit_law(Law::data_constrained, rep);
  MESSAGE("data-constrained: R_D* " << f.p[5] << ", R_N* " << f.p[6] << ", objective " << f.objective);
  CHECK(f.objective < 1e-8);
  CHECK(f.p[5] == doctest::Approx(15).epsilon(0.05));
}

TEST_CASE("filters keep what they say") {
  // Two budgets; the lowest loss of budget 0 is at N = 2e7, of budget 1 at N = 1e8.
  std::vector<Point> pts = {pt(1e7, 5e6, 3.0), pt(2e7, 1e8, 2.5), pt(1e8, 1e9, 2.9), pt(1e8, 2e9, 2.0, 1e8),
                            pt(1e9, 2e9, 2.2)};
  const std::vector<int> b = {0, 0, 0, 1, 1};
  using V = std::vector<std::size_t>;
  CHECK(apply_filter({}, pts, b) == V{0, 1, 2, 3, 4});
  CHECK(apply_filter({1, 0, 0}, pts, b) == V{1, 2, 3, 4});  // D/N = 0.5 dropped
  CHECK(apply_filter({0, 3, 0}, pts, b) == V{0, 1, 3});     // within 3x of 2e7, or of 1e8
  CHECK(apply_filter({0, 0, 4}, pts, b) == V{0, 1, 2, 4});  // 20 epochs dropped
  CHECK(Filter{1, 3, 0}.label() == "D/N >= 1, near-optimal 3x");
  CHECK(Filter{}.label() == "none");
  // A filter that keeps every point adds nothing to the backtest.
  const std::vector<Point> fresh = {pt(1e7, 1e9, 3), pt(2e7, 1e9, 2.8), pt(4e7, 1e9, 2.9)};
  auto cs = candidates(Law::chinchilla, fresh, {0, 0, 0}, std::nullopt);
  REQUIRE(cs.size() == 1);  // D/N >= 1, near-optimal 3x and epochs <= 4 keep them all
  CHECK_FALSE(cs[0].filter.any());
}

TEST_CASE("rolling origin: the largest budgets, each predicted from those below") {
  std::vector<Point> pts;
  std::vector<int> budgets;
  for (int b = 0; b < 5; ++b)
    for (int k = 0; k < 4; ++k) pts.push_back(pt(1e7 * (k + 1), 1e9, 3, 0, 6e16 * std::pow(10, b))), budgets.push_back(b);
  auto folds = rolling_folds(pts, budgets, 2);
  REQUIRE(folds.size() == 2);
  CHECK(folds[0].test.size() == 4);
  CHECK(folds[0].train.size() == 16);  // budgets 0..3 predict 4
  CHECK(folds[1].train.size() == 12);  // budgets 0..2 predict 3
  for (auto i : folds[1].test) CHECK(budgets[i] == 3);
  CHECK(rolling_folds(pts, {0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 2).empty());
  // A CSV without budgets: bins of 0.1 decade in C = 6ND.
  auto bins = backtest_budgets({pt(1e7, 1e9), pt(1.05e7, 1e9), pt(1e8, 1e9)}, false, 0.1);
  CHECK(bins == std::vector<int>{0, 0, 1});
}

TEST_CASE("horizon: inside, beyond C, outside N or D/N") {
  const Range r = Range::of({pt(1e7, 1e8), pt(1e8, 2e9), pt(1e8, 5e8)});
  CHECK(horizon(r, 5e7, 5e8).inside);
  CHECK(horizon(r, 5e7, 5e8).verdict == "inside the data");
  auto h = horizon(r, 1e9, 2e10);  // C x100, N x10
  CHECK_FALSE(h.inside);
  CHECK(h.decades == doctest::Approx(2));
  CHECK(h.verdict == "extrapolating x100 beyond the largest fitted C");
  auto under = horizon(r, 1e8, 1e7);  // D/N = 0.1 below the fitted 5
  CHECK(under.verdict.find("outside the fitted range of D/N") == 0);
}

TEST_CASE("calibration: kappa by moments, q the conformal quantile") {
  CandidateResult r;
  // Ten residuals at one decade, noise 0.01: excess variance 0.02^2 per point, so kappa = 0.02.
  for (int i = 0; i < 10; ++i) {
    r.residual.push_back(i % 2 ? std::sqrt(0.0005) : -std::sqrt(0.0005));
    r.horizon.push_back(1);
    r.noise.push_back(0.01);
    r.fold.push_back(i < 5 ? 0 : 1);
  }
  auto c = calibrate(r, 0.005, 0.9);
  REQUIRE(c.available);
  CHECK(c.kappa == doctest::Approx(0.02));
  CHECK(c.q == doctest::Approx(1.0));  // every normalised residual is 1
  CHECK(c.noise == 0.005);
  CHECK(c.sd(0.0, 2) == doctest::Approx(std::sqrt(0.005 * 0.005 + 0.04 * 0.04)));
  auto none = calibrate(r, 0.005, 0.9, 0);
  CHECK(none.n == 5);
}

TEST_CASE("backtest: a tie goes to fewer parameters; a real difference does not") {
  auto tied = grid_points(Law::chinchilla_tied, {1.7, 300, 1500, 0.32}, 0, 0);
  auto cands = candidates(std::nullopt, tied, backtest_budgets(tied, false, 0.1), Filter{});
  auto s = backtest(tied, backtest_budgets(tied, false, 0.1), cands, {});
  REQUIRE(s.chosen >= 0);
  CHECK(law_name(s.rows[s.chosen].cand.law) == "chinchilla-tied");
  auto split = grid_points(Law::chinchilla, {1.7, 300, 1500, 0.2, 0.6}, 0.002, 3);
  const auto b2 = backtest_budgets(split, false, 0.1);
  auto s2 = backtest(split, b2, candidates(Law::chinchilla, split, b2, std::nullopt), {});
  REQUIRE(s2.chosen >= 0);
  CHECK(law_name(s2.rows[s2.chosen].cand.law) == "chinchilla");
  CHECK(s2.rows[s2.chosen].mean_rel < 0.01);
}

TEST_CASE("prediction intervals cover new runs beyond the data about as often as they say") {
  // Known law, 1% noise: fit below 1e8 parameters, predict the larger sizes, over seeds.
  int covered = 0, total = 0, ci_covered = 0;
  for (unsigned seed = 1; seed <= 8; ++seed) {
    auto pts = grid_points(Law::chinchilla, {1.8, 400, 2000, 0.34, 0.37}, 0.01, seed, 1e9);
    Dataset ds;
    for (auto& p : pts)
      if (p.N < 1e8) ds.points.push_back(p);
    FitOptions o;
    o.boot.resamples = 100;
    o.holdout = "none";
    auto rec = run_fit(ds, o);
    const Model m = model_of(rec);
    REQUIRE(m.pi.available);
    const auto draws = draws_of(rec);
    for (auto& p : pts) {
      if (p.N < 1e8) continue;
      Query q;
      q.params = p.N, q.tokens = p.D;
      for (auto& x : forecast(m, draws, q))
        if (x.name == "loss") {
          ++total;
          covered += p.L >= x.pred_lo && p.L <= x.pred_hi;
          ci_covered += p.L >= x.lo && p.L <= x.hi;
        }
    }
  }
  MESSAGE("prediction interval covers " << covered << "/" << total << "; confidence interval " << ci_covered);
  CHECK(total == 8 * 18);
  CHECK(covered >= 0.85 * total);
  CHECK(ci_covered < covered);
}
