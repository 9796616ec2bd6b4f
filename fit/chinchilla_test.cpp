#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <random>

#include "fit/bootstrap.h"
#include "fit/chinchilla_internal.h"
#include "fit/csv.h"
#include "fit/vmath.h"
#include "fit/laws.h"

using namespace scalelab::fit;

namespace {
std::vector<Point> epoch_points() {
  return read_csv_points(SCALELAB_SOURCE_DIR "/tests/data/svg_extracted_data.csv",
                         {"Model Size", "Training FLOP", "", "loss"}, 5)
      .points;
}
}  // namespace

TEST_CASE("Epoch reference: both solvers reach the summed-Huber optimum") {
  auto pts = epoch_points();
  REQUIRE(pts.size() == 240);
  for (Solver solver : {Solver::multistart, Solver::varpro}) {
    CAPTURE(solver_name(solver));
    SolveSettings s;
    s.solver = solver;
    auto f = fit_law(Law::chinchilla, pts, s);
    MESSAGE(solver_name(solver) << ": " << f.conv.seconds << " s, " << f.conv.starts << " starts, converged "
                                << f.conv.converged << ", reached best " << f.conv.reached_best << ", objective "
                                << f.objective);
    CHECK(f.conv.solver == solver_name(solver));
    CHECK(f.objective <= 0.00101828);
    auto c = Chinchilla::from(f.p);
    CHECK(c.alpha == doctest::Approx(0.3473).epsilon(1e-3));
    CHECK(c.beta == doctest::Approx(0.3672).epsilon(1e-3));
    CHECK(c.E == doctest::Approx(1.8172).epsilon(1e-3));
    CHECK(c.A == doctest::Approx(477.8).epsilon(5e-3));
    CHECK(c.B == doctest::Approx(2143).epsilon(1e-2));
    CHECK(f.conv.outside_grid.empty());
    if (solver == Solver::multistart) {
      CHECK(f.conv.starts == 4500);
      CHECK(f.conv.converged > 4000);
    } else {
      CHECK(f.conv.polished >= 1);
      CHECK(f.conv.converged >= 1);
      CHECK_FALSE(f.conv.best_start_on_grid_boundary);
    }
  }
}

TEST_CASE("Epoch reference: bootstrap 95% interval for alpha overlaps Epoch's 0.317-0.373") {
  auto pts = epoch_points();
  auto best = fit_law(Law::chinchilla, pts);
  BootstrapSettings bs;  // 1000 resamples, seed 1
  auto d = bootstrap_law(Law::chinchilla, pts, best, {}, bs);
  MESSAGE("bootstrap: " << d.seconds << " s, " << d.values.size() << " ok, " << d.failed << " failed, "
                        << d.grid_start_won << " won by a grid start");
  CHECK(d.values.size() >= 990);
  auto alpha = percentile_interval(column(d.values, 3));
  MESSAGE("alpha 95%: " << alpha.lo << " - " << alpha.hi);
  CHECK(alpha.lo < 0.373);
  CHECK(alpha.hi > 0.317);
  CHECK(alpha.lo < best.p[3]);
  CHECK(alpha.hi > best.p[3]);
}

namespace {
// A realistic small-scale design: 10 sizes over 3 decades (1e7..1e10), each
// trained at 2..100 tokens per parameter (60 runs), losses from a known law.
std::vector<Point> synthetic(const Chinchilla& truth, double sigma, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> eps(0, sigma);
  std::vector<Point> pts;
  for (int i = 0; i < 10; ++i) {
    double N = 1e7 * std::pow(1000.0, i / 9.0);
    for (double tpp : {2.0, 5.0, 10.0, 20.0, 50.0, 100.0}) {
      double D = tpp * N;
      pts.push_back({N, D, 6 * N * D, truth.loss(N, D) * std::exp(sigma > 0 ? eps(rng) : 0.0),
                     "run" + std::to_string(pts.size())});
    }
  }
  return pts;
}
}  // namespace

TEST_CASE("synthetic ground truth: exact data is recovered exactly") {
  const Chinchilla truth{1.8, 400, 2000, 0.34, 0.37};
  auto f = fit_law(Law::chinchilla, synthetic(truth, 0, 0));
  auto c = Chinchilla::from(f.p);
  CHECK(f.objective < 1e-12);
  CHECK(c.alpha == doctest::Approx(0.34).epsilon(1e-4));
  CHECK(c.beta == doctest::Approx(0.37).epsilon(1e-4));
  CHECK(c.E == doctest::Approx(1.8).epsilon(1e-4));
  CHECK(c.A == doctest::Approx(400).epsilon(1e-3));
  CHECK(c.B == doctest::Approx(2000).epsilon(1e-3));
}

TEST_CASE("synthetic ground truth: 1% multiplicative noise") {
  // Tolerances: over 30 noise seeds (measured while writing this test) the
  // estimates scattered with sd(alpha) = 0.014, sd(beta) = 0.008, sd(E) = 0.020,
  // sd(a) = 0.014, max deviations 0.028, 0.022, 0.045, 0.029. We allow ~3.5 sd:
  // a fit that is right passes for any seed; one that confuses alpha and beta
  // (0.03 apart here, with a = 0.521 instead of 0.479) or stops early does not.
  const Chinchilla truth{1.8, 400, 2000, 0.34, 0.37};
  auto f = fit_law(Law::chinchilla, synthetic(truth, 0.01, 7));
  auto c = Chinchilla::from(f.p);
  CHECK(std::fabs(c.alpha - 0.34) < 0.05);
  CHECK(std::fabs(c.beta - 0.37) < 0.035);
  CHECK(std::fabs(c.E - 1.8) < 0.07);
  CHECK(std::fabs(c.a() - truth.a()) < 0.05);
  CHECK(f.conv.converged == f.conv.polished);
}

TEST_CASE("Ceres' HuberLoss cost is the summed scipy Huber; the fast kernel matches libm") {
  auto pts = epoch_points();
  SolveSettings s;
  s.max_iterations = 0;  // evaluate at the start only
  std::vector<double> x = {6.0, 7.5, 0.6, 0.35, 0.37};
  auto lsq = detail::make_chinchilla_lsq(pts, {}, s);
  auto r = lsq->solve(x);
  const double want = objective(Law::chinchilla, from_solver(Law::chinchilla, x), pts, 1e-3);
  CHECK(r.cost == doctest::Approx(want).epsilon(1e-12));
  // Fast (vectorised) objective and gradient against the libm path and central differences.
  detail::ChinchillaData d(pts, {});
  for (auto q : std::vector<std::vector<double>>{{6.0, 7.5, 0.6, 0.35, 0.37}, {0, 25, -1, 2, 0}, {12, 3, 0.5, 0.8, 0.1}}) {
    double g[5], ge[5];
    double c = detail::chinchilla_cost(d, q.data(), 1e-3, g);
    double ce = detail::chinchilla_cost_exact(d, q.data(), 1e-3, ge);
    CHECK(c == doctest::Approx(ce).epsilon(1e-12));
    double gmax = 0;
    for (double v : ge) gmax = std::max(gmax, std::fabs(v));
    for (int k = 0; k < 5; ++k) {
      CHECK(std::fabs(g[k] - ge[k]) <= 1e-10 * gmax);
      auto qp = q, qm = q;
      qp[k] += 1e-7, qm[k] -= 1e-7;
      double fd = (detail::chinchilla_cost_exact(d, qp.data(), 1e-3, nullptr) -
                   detail::chinchilla_cost_exact(d, qm.data(), 1e-3, nullptr)) / 2e-7;
      CHECK(std::fabs(g[k] - fd) <= 1e-5 * gmax + 1e-8);
    }
  }
}

TEST_CASE("vectorised exp and log agree with libm") {
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> u(-700, 700), v(0, 700);
  double worst_e = 0, worst_l = 0;
  for (int i = 0; i < 200000; ++i) {
    double x = u(rng);
    worst_e = std::max(worst_e, std::fabs(vm::exp(x) - std::exp(x)) / std::exp(x));
    double y = 1 + std::exp(v(rng)) * (i % 2 ? 1 : 1e-300);
    worst_l = std::max(worst_l, std::fabs(vm::log(y) - std::log(y)) / std::max(1e-300, std::fabs(std::log(y))));
  }
  CHECK(worst_e < 4e-16);
  CHECK(worst_l < 1e-15);
}

TEST_CASE("results do not depend on the number of threads") {
  const Chinchilla truth{1.8, 400, 2000, 0.34, 0.37};
  auto pts = synthetic(truth, 0.01, 3);
  SolveSettings one, two;
  one.threads = 1;
  two.threads = 2;
  auto a = fit_law(Law::chinchilla, pts, one), b = fit_law(Law::chinchilla, pts, two);
  CHECK(a.p == b.p);
  CHECK(a.conv.best_start == b.conv.best_start);
  BootstrapSettings s1, s2;
  s1.resamples = s2.resamples = 8;
  s1.threads = 1;
  s2.threads = 2;
  auto d1 = bootstrap_law(Law::chinchilla, pts, a, one, s1), d2 = bootstrap_law(Law::chinchilla, pts, a, one, s2);
  CHECK(d1.values == d2.values);
}
