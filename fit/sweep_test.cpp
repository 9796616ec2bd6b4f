// `scalelab fit SWEEP` without the CLI: a sweep, its runs and their curves
// written through the real Store API, read back, fitted, stored, forecast.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <random>

#include "common/error.h"
#include "fit/analysis.h"
#include "store/store.h"

using namespace scalelab;
using namespace scalelab::fit;

namespace {
const Chinchilla truth{1.8, 400, 2000, 0.34, 0.37};

// An IsoFLOP sweep: 5 budgets x 7 sizes around the optimum, 0.3% noise on the
// final validation loss, a training curve per run, plus a failed and a running run.
void write_sweep(store::Store& st) {
  st.add_sweep({"sw1", "iso", "name = \"iso\"", ""});
  std::mt19937_64 rng(5);
  std::normal_distribution<double> eps(0, 0.003);
  std::vector<store::Run> runs;
  int k = 0;
  for (double C : {1e17, 3e17, 1e18, 3e18, 1e19}) {
    for (int j = -3; j <= 3; ++j) {
      store::Run r;
      r.id = "run" + std::to_string(k++);
      r.sweep_id = "sw1";
      r.name = r.id;
      const double N = truth.n_opt(C) * std::pow(2.0, j / 1.5);
      r.params_total = static_cast<std::int64_t>(N);
      r.params_non_embedding = static_cast<std::int64_t>(0.9 * N);
      r.flops_per_token = 6.3 * N;
      r.flop_convention = "6N+attn";
      r.planned_tokens = C / (6 * N);
      runs.push_back(r);
    }
  }
  runs.push_back(runs[0]);
  runs.back().id = "failed";
  runs.push_back(runs[1]);
  runs.back().id = "running";
  st.add_runs(runs);
  for (auto& r : runs) {
    if (r.id == "running") continue;
    st.mark_running(r.id);
    store::Run s = r;
    s.status = r.id == "failed" ? "failed" : "done";
    s.tokens_done = r.planned_tokens;
    const double N = static_cast<double>(r.params_total);
    s.final_val_loss = truth.loss(N, s.tokens_done) * std::exp(eps(rng));
    s.final_train_loss = *s.final_val_loss - 0.01;
    st.finish_run(s);
    std::vector<store::Metric> ms;
    for (int step = 1; step <= 60; ++step) {
      double t = s.tokens_done * step / 60.0;
      ms.push_back({r.id, step, t, t * r.flops_per_token, "train", truth.loss(N, t), 1e-3, 1, 0});
    }
    st.write_metrics(ms);
  }
}
}  // namespace

TEST_CASE("fit SWEEP: runs and curves from the store, every approach, stored and forecast") {
  auto dir = std::filesystem::temp_directory_path() / ("scalelab_fit_sweep_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto db = (dir / "s.db").string();
  {
    auto st = store::Store::open(db);
    write_sweep(*st);
    auto sw = st->sweep("iso");
    REQUIRE(sw);
    auto metrics = [&](const std::string& id) { return st->metrics(id); };
    auto ds = dataset_from_runs(sw->id, st->runs(sw->id), {}, metrics);
    CHECK(ds.points.size() == 35);
    CHECK(ds.curves.size() == 35);
    CHECK(ds.selection["skipped"].size() == 2);
    CHECK(ds.points[0].C == doctest::Approx(6 * ds.points[0].N * ds.points[0].D));

    auto exact = dataset_from_runs(sw->id, st->runs(sw->id), {"non_embedding", "exact", "train"}, nullptr);
    CHECK(exact.points[0].N == doctest::Approx(0.9 * ds.points[0].N).epsilon(1e-6));
    CHECK(exact.points[0].C == doctest::Approx(6.3 * ds.points[0].N * ds.points[0].D).epsilon(1e-6));
    CHECK_THROWS_AS(dataset_from_runs(sw->id, {}, {"everything", "6nd", "train"}, nullptr), UserError);

    FitOptions o;
    o.boot.resamples = 40;
    std::int64_t last = 0;
    for (int approach : {3, 2, 1}) {
      o.approach = approach;
      auto rec = fit_record(ds, o);
      auto row = to_store(rec);
      last = st->add_fit(row);
      auto back = record_of(*st->fit(last));
      CHECK(back.id == last);
      CHECK(back.to_json()["params"] == rec.to_json()["params"]);
      CHECK(draws_of(back).size() == static_cast<std::size_t>(rec.bootstrap.ok));
      auto m = model_of(back);
      if (approach == 3) {
        CHECK(m.kind == "chinchilla");
        CHECK(std::fabs(Chinchilla::from(m.p).a() - truth.a()) < 0.05);
        CHECK(rec.holdout.test_points == 7);
        REQUIRE(rec.holdout.error);
        CHECK(rec.holdout.error->max < 0.02);
        const Estimate* alpha = find(rec.params, "alpha");
        REQUIRE(alpha);
        CHECK(alpha->lo.value() < alpha->value);
      } else {
        CHECK(m.kind == "allocation");
        CHECK(std::fabs(m.p[1] - truth.a()) < (approach == 2 ? 0.03 : 0.08));
      }
      CHECK(render_fit(back).find("fit, approach " + std::to_string(approach)) != std::string::npos);
    }
    auto latest = st->latest_fit();
    REQUIRE(latest);
    CHECK(latest->id == last);
    Query q;
    q.compute = 1e21;
    auto qs = forecast(model_of(record_of(*latest)), draws_of(record_of(*latest)), q);
    CHECK(qs[0].name == "N");
    CHECK(qs[0].value == doctest::Approx(truth.n_opt(1e21)).epsilon(0.5));
  }
  std::filesystem::remove_all(dir);
}
