#include "reports/load.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <thread>

#include "common/error.h"
#include "reports/fixture.h"
#include "reports/test_util.h"

using namespace scalelab;
using namespace scalelab::reports;
using scalelab::reports::testing::TempDir;

TEST_CASE("curves are downsampled for drawing, keeping each run's final loss exactly") {
  TempDir dir;
  auto st = store::Store::open(dir.file("x.db"));
  fixture::SweepSpec s;
  s.budgets = {1e16};
  s.sizes = 3;
  s.curve_rows = 3000;
  s.noise = 0.02;
  auto made = fixture::make_sweep(*st, s);
  auto d = load_report_data(*st, "");
  auto c = load_curves(*st, d.runs, 300);  // 100 points a run
  CHECK(c.split == "val");
  CHECK(c.rows_read == made.metric_rows);
  REQUIRE(c.runs.size() == 3);
  for (auto& r : c.runs) {
    CHECK(r.tokens.size() <= 102);
    CHECK(r.tokens.size() >= 50);
    CHECK(std::is_sorted(r.tokens.begin(), r.tokens.end()));
    auto all = st->metrics(r.run_id, "val");
    CHECK(r.loss.back() == all.back().loss);
    CHECK(r.tokens.back() == all.back().tokens);
    // Validation points are real rows, drawn as they are (no smoothing).
    for (std::size_t i = 0; i < r.tokens.size(); ++i) {
      auto it = std::find_if(all.begin(), all.end(), [&](auto& m) { return m.tokens == r.tokens[i]; });
      REQUIRE(it != all.end());
      CHECK(it->loss == r.loss[i]);
    }
    // Log-spaced: the first decade of tokens keeps points, not just the last one.
    CHECK(r.tokens[1] < 20 * r.tokens[0]);
  }
  // A tiny budget still keeps a readable curve per run.
  auto few = load_curves(*st, d.runs, 10);
  for (auto& r : few.runs) CHECK(r.tokens.size() >= 20);
}

TEST_CASE("without validation rows, training loss is drawn as bin means") {
  TempDir dir;
  auto st = store::Store::open(dir.file("x.db"));
  fixture::SweepSpec s;
  s.budgets = {1e16};
  s.sizes = 3;
  s.curve_rows = 2000;
  s.noise = 0.05;
  s.curve_split = "train";
  fixture::make_sweep(*st, s);
  auto d = load_report_data(*st, "");
  auto c = load_curves(*st, d.runs, 150);
  CHECK(c.split == "train");
  REQUIRE(c.runs.size() == 3);
  for (auto& r : c.runs) {
    auto all = st->metrics(r.run_id, "train");
    double lo = INFINITY, hi = 0;
    for (auto& m : all) lo = std::min(lo, m.loss), hi = std::max(hi, m.loss);
    int averaged = 0;
    for (std::size_t i = 0; i + 1 < r.loss.size(); ++i) {
      CHECK((r.loss[i] >= lo && r.loss[i] <= hi));
      auto it = std::find_if(all.begin(), all.end(), [&](auto& m) { return m.tokens == r.tokens[i]; });
      REQUIRE(it != all.end());
      averaged += it->loss != r.loss[i];
    }
    CHECK(averaged > 10);  // late bins hold many noisy rows: their mean is not any one row
    CHECK(r.loss.back() == all.back().loss);
  }
}

TEST_CASE("the scope: a named sweep, else the newest, with its members and fits") {
  TempDir dir;
  auto st = store::Store::open(dir.file("x.db"));
  fixture::SweepSpec a;
  a.name = "first";
  a.budgets = {1e15, 1e16};
  a.sizes = 5;
  a.curve_rows = 5;
  auto ma = fixture::make_sweep(*st, a);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // created_at has second precision
  fixture::SweepSpec b = a;
  b.name = "second";
  b.seed = 8;
  b.pending = 2;
  auto mb = fixture::make_sweep(*st, b);

  auto d = load_report_data(*st, "");
  REQUIRE(d.sweep);
  CHECK(d.sweep->name == "second");
  CHECK(d.runs.size() == 12);
  CHECK(d.finished == 10);
  CHECK(d.points.size() == 10);
  REQUIRE(d.notes.size() == 1);
  CHECK(d.notes[0].find("2 sweeps") != std::string::npos);
  CHECK(load_report_data(*st, "first").runs.size() == 10);
  try {
    load_report_data(*st, "third");
    FAIL("no error");
  } catch (const UserError& e) {
    CHECK(std::string(e.what()).find("no sweep 'third'") != std::string::npos);
  }

  // Two Approach-2 fits of "first": the newer is shown, the older listed as superseded.
  auto ids1 = fixture::fit_sweep(*st, ma.sweep_id, {2}, 0);
  auto ids2 = fixture::fit_sweep(*st, ma.sweep_id, {2}, 20);
  fixture::fit_sweep(*st, mb.sweep_id, {2}, 0);
  auto f = load_report_data(*st, "first");
  REQUIRE(f.fits.size() == 1);
  CHECK(f.fits[0].id == ids2[0]);
  CHECK(f.fits[0].older == std::vector<std::int64_t>{ids1[0]});
  CHECK(f.fits[0].allocates());
  CHECK(f.fits[0].points.size() == 10);
  CHECK(f.fits[0].draws.size() >= 10);
}

TEST_CASE("a fit older than the sweep's latest runs is called stale") {
  TempDir dir;
  auto st = store::Store::open(dir.file("x.db"));
  fixture::SweepSpec s;
  s.budgets = {1e15, 1e16};
  s.sizes = 4;
  s.curve_rows = 5;
  auto made = fixture::make_sweep(*st, s);
  fixture::fit_sweep(*st, made.sweep_id, {2}, 0);
  // A run that finished after the fit.
  auto runs = st->runs(made.sweep_id);
  store::Run extra = runs.front();
  extra.id = extra.config_hash = "ffff000011112222";
  st->register_sweep(*st->sweep(made.sweep_id), [&] {
    auto all = runs;
    all.push_back(extra);
    return all;
  }());
  extra.status = "done";
  extra.tokens_done = extra.planned_tokens;
  extra.final_val_loss = 3.0;
  st->finish_run(extra);
  auto d = load_report_data(*st, "");
  bool stale = false;
  for (auto& n : d.notes) stale |= n.find("used 8 runs; the sweep now has 9 finished") != std::string::npos;
  CHECK(stale);
}

TEST_CASE("evals: each run's last step per task") {
  TempDir dir;
  auto st = store::Store::open(dir.file("x.db"));
  fixture::SweepSpec s;
  s.budgets = {1e15};
  s.sizes = 4;
  s.curve_rows = 3;
  s.evals = true;
  fixture::make_sweep(*st, s);
  auto d = load_report_data(*st, "");
  auto ev = load_evals(*st, d.runs);
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].task == "addition");
  // 4 runs x 4 metrics at the last step; the earlier exact_match rows are only in the history.
  CHECK(ev[0].final.size() == 16);
  for (auto& e : ev[0].final) CHECK(e.step == 30);
  CHECK(ev[0].history.size() == 20);
}
