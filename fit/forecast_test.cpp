#include <doctest/doctest.h>

#include <cmath>

#include "common/error.h"
#include "fit/forecast.h"

using namespace scalelab::fit;

namespace {
// Hoffmann et al.'s published law; expected values computed by hand (python,
// double precision) from the formulas in docs/fits.md.
const Model hoffmann{"chinchilla", "", {1.69, 406.4, 410.7, 0.34, 0.28}};

double get(const std::vector<Value>& vs, const std::string& name) {
  for (auto& v : vs)
    if (v.name == name) return v.v;
  FAIL("no quantity " << name);
  return NAN;
}
}  // namespace

TEST_CASE("forecast: loss of N params on D tokens, memory and GPU time") {
  Query q;
  q.params = 1e9;
  q.tokens = 2e10;
  auto v = evaluate(hoffmann, q);
  CHECK(get(v, "loss") == doctest::Approx(2.5800478722379934).epsilon(1e-12));
  CHECK(get(v, "tokens per param") == doctest::Approx(20));
  CHECK(get(v, "compute") == doctest::Approx(1.2e20));
  CHECK(get(v, "training memory") == doctest::Approx(16e9));  // 16 B/param
  CHECK(get(v, "GPUs for memory") == 1);
  CHECK(get(v, "GPU-hours") == doctest::Approx(84.26019548365352));  // 1.2e20 / (989e12 * 0.4) / 3600
}

TEST_CASE("forecast: compute-optimal allocation at 1e21 FLOPs") {
  Query q;
  q.compute = 1e21;
  auto v = evaluate(hoffmann, q);
  CHECK(get(v, "N") == doctest::Approx(1824217696.8955524).epsilon(1e-10));
  CHECK(get(v, "D") == doctest::Approx(91363364663.27403).epsilon(1e-10));
  CHECK(get(v, "tokens per param") == doctest::Approx(50.083586415566465).epsilon(1e-10));
  CHECK(get(v, "loss") == doctest::Approx(2.3288829401543194).epsilon(1e-12));
  CHECK(6 * get(v, "N") * get(v, "D") == doctest::Approx(1e21));
  auto c = Chinchilla::from(hoffmann.p);
  CHECK(c.G() == doctest::Approx(1.34471064277253).epsilon(1e-12));
  CHECK(c.a() == doctest::Approx(0.28 / 0.62));
}

TEST_CASE("forecast: GPU-hours to FLOPs, and wall time on K GPUs") {
  Query q;
  q.gpu_hours = 1000;
  q.gpu = "a100";
  q.gpus = 8;
  q.mfu = 0.5;
  auto v = evaluate(hoffmann, q);
  CHECK(get(v, "compute") == doctest::Approx(1000 * 3600 * 312e12 * 0.5));
  CHECK(get(v, "wall time") == doctest::Approx(1000.0 * 3600 / 8));
  q.peak_tflops = 100;
  CHECK(get(evaluate(hoffmann, q), "compute") == doctest::Approx(1000 * 3600 * 100e12 * 0.5));
}

TEST_CASE("forecast: target loss and tokens to reach a loss invert the forward law") {
  Query q;
  q.target_loss = 2.3288829401543194;
  auto v = evaluate(hoffmann, q);
  CHECK(get(v, "compute") == doctest::Approx(1e21).epsilon(1e-8));
  Query r;
  r.params = 1e9;
  r.target_loss = 2.5;
  auto w = evaluate(hoffmann, r);
  CHECK(get(w, "D to reach target") == doctest::Approx(35633796796.648026).epsilon(1e-10));
  Query s;  // fixed N, no D: the compute-optimal D for that N and the infinite-data limit
  s.params = 1824217696.8955524;
  auto x = evaluate(hoffmann, s);
  CHECK(get(x, "compute-optimal D") == doctest::Approx(91363364663.27403).epsilon(1e-8));
  CHECK(get(x, "loss limit (D -> inf)") == doctest::Approx(1.69 + 406.4 * std::pow(1824217696.8955524, -0.34)));
}

TEST_CASE("forecast: inference-aware allocation (Sardana et al.) holds the loss and saves FLOPs") {
  Query q;
  q.compute = 1e21;
  q.inference_tokens = 1e12;
  auto v = evaluate(hoffmann, q);
  const double N = get(v, "N"), D = get(v, "D"), L = get(v, "target loss");
  CHECK(L == doctest::Approx(2.3288829401543194).epsilon(1e-10));
  CHECK(hoffmann.loss(N, D) == doctest::Approx(L).epsilon(1e-10));
  CHECK(N < 1824217696.8955524);  // smaller and longer-trained than compute-optimal
  CHECK(get(v, "total FLOPs") < get(v, "compute-optimal total FLOPs"));
  // Stationarity: moving along the iso-loss curve cannot lower the total.
  for (double f : {0.9, 1.1}) {
    double n = N * f, d = hoffmann.tokens_for_loss(n, L);
    CHECK(6 * n * d + 2 * n * 1e12 >= get(v, "total FLOPs") * (1 - 1e-9));
  }
}

TEST_CASE("forecast: intervals are percentiles over the draws; clear errors otherwise") {
  std::vector<std::vector<double>> draws;
  for (int i = 0; i < 101; ++i) draws.push_back({1.69 + 0.001 * (i - 50), 406.4, 410.7, 0.34, 0.28});
  Query q;
  q.params = 1e9;
  q.tokens = 2e10;
  auto qs = forecast(hoffmann, draws, q);
  REQUIRE(qs[0].name == "loss");
  CHECK(qs[0].lo == doctest::Approx(2.5800478722379934 - 0.0475));
  CHECK(qs[0].hi == doctest::Approx(2.5800478722379934 + 0.0475));
  Query bad;
  bad.target_loss = 1.5;
  CHECK_THROWS_AS(forecast(hoffmann, {}, bad), scalelab::UserError);
  Query none;
  CHECK_THROWS_AS(forecast(hoffmann, {}, none), scalelab::UserError);
  Query gpu;
  gpu.compute = 1e21;
  gpu.gpu = "h9000";
  CHECK_THROWS_AS(forecast(hoffmann, {}, gpu), scalelab::UserError);
  Query pw;
  pw.params = 1e9;
  pw.tokens = 1e10;
  CHECK_THROWS_AS(forecast(Model{"power", "C", {1.7, 50, 0.05}}, {}, pw), scalelab::UserError);
  CHECK(find_accelerator("H100").peak_tflops == 989);
  CHECK(find_accelerator("a100").peak_tflops == 312);
  CHECK(find_accelerator("h200").peak_tflops == 989);
}

namespace {
Model calibrated() {
  Model m = hoffmann;
  m.pi.available = true;
  m.pi.noise = 0.01, m.pi.kappa = 0.02, m.pi.q = 2, m.pi.level = 0.95;
  m.range = Range{1e18, 1e20, 1e7, 1e9, 1e9, 1e11, 1, 100};
  return m;
}
const Quantity& loss_of(const std::vector<Quantity>& qs) {
  for (auto& x : qs)
    if (x.name == "loss") return x;
  FAIL("no loss");
  return qs.front();
}
}  // namespace

TEST_CASE("forecast: the prediction interval is q sd(h) around the loss and widens beyond the data") {
  const Model m = calibrated();
  Query inside, beyond;
  inside.params = 1e8, inside.tokens = 2e9;     // C = 1.2e18, inside the range
  beyond.params = 1e10, beyond.tokens = 2e11;   // C = 1.2e22: 2.08 decades beyond C, 1 beyond N
  auto a = loss_of(forecast(m, {}, inside)), b = loss_of(forecast(m, {}, beyond));
  REQUIRE(a.prediction);
  CHECK(std::log(a.pred_hi / a.value) == doctest::Approx(2 * 0.01));  // no draws: sd = noise
  const double h = std::log10(1.2e22 / 1e20);
  CHECK(std::log(b.pred_hi / b.value) == doctest::Approx(2 * std::sqrt(1e-4 + 4e-4 * h * h)));
  CHECK(std::log(b.value / b.pred_lo) == doctest::Approx(2 * std::sqrt(1e-4 + 4e-4 * h * h)));
  auto reg = regime(m, beyond, forecast(m, {}, beyond));
  REQUIRE(reg);
  CHECK(reg->verdict == "extrapolating x120 beyond the largest fitted C");
}

TEST_CASE("forecast: no calibration, no prediction interval; an unidentified parameter widens it to every draw") {
  Model plain = hoffmann;  // as model_of gives for a record stored before backtests
  Query q;
  q.params = 1e8, q.tokens = 2e9;
  CHECK_FALSE(loss_of(forecast(plain, {}, q)).prediction);
  Model m = calibrated();
  m.not_identified = {"E"};
  std::vector<std::vector<double>> draws = {{0.5, 406.4, 410.7, 0.34, 0.28}, {1.69, 406.4, 410.7, 0.34, 0.28}};
  auto x = loss_of(forecast(m, draws, q));
  REQUIRE(x.prediction);
  CHECK(x.pred_lo <= evaluate(Model{"chinchilla", "", draws[0]}, q)[0].v);
}
