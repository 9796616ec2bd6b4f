#include "sweep/plan_view.h"

#include <doctest/doctest.h>

#include <filesystem>

#include "sweep/test_files.h"

using namespace scalelab;
using sweep::testing::Dir;

namespace {

// Four runs, listed out of display order, on two single-threaded jobs.
const std::string kGrid = sweep::testing::tiny_grid(
    "params = [1e5, 2e4]\ntokens = [2e5, 1e5]\n[execution]\njobs = 2\nthreads_per_job = 1\n");

sweep::PlanRequest request(const Dir& d) {
  sweep::PlanRequest r;
  r.config = d.write("grid.toml", kGrid);
  r.db = d.db();
  r.calibrate = false;
  return r;
}

}  // namespace

TEST_CASE("a plan without calibration has no estimates and opens no database") {
  Dir d;
  auto v = sweep::view_plan(request(d), {});
  CHECK(v.plan.runs.size() == 4);
  CHECK(v.pool.jobs == 2);
  CHECK(v.pool.threads_per_job == 1);
  CHECK(!std::filesystem::exists(d.db()));
  auto j = sweep::plan_json(v);
  CHECK(j["sweep"]["name"] == "grid");
  CHECK(j["runs"].size() == 4);
  CHECK(j["runs"][0]["est_s"].is_null());
  CHECK(j["totals"]["est_serial_s"].is_null());
  CHECK(j["totals"]["device"] == "cpu");
  auto lines = sweep::render_plan(v);
  CHECK(lines.front().rfind("sweep grid (", 0) == 0);
  CHECK(lines[1].rfind("id ", 0) == 0);  // the table's header
  CHECK(lines.size() == 8);             // title, table head, rule and 4 rows, totals
  CHECK(lines.back().find("est. - serial, - on 2 job(s) x 1 thread(s) on cpu") != std::string::npos);
}

TEST_CASE("runs show by size, then tokens") {
  Dir d;
  auto v = sweep::view_plan(request(d), {});
  auto order = sweep::display_order(v.plan.runs);
  for (std::size_t i = 1; i < order.size(); ++i)
    CHECK(std::tie(order[i - 1]->n, order[i - 1]->config.spec.tokens) <= std::tie(order[i]->n, order[i]->config.spec.tokens));
}

TEST_CASE("--show gives one run's config and nothing else; --threads overrides the pool") {
  Dir d;
  auto r = request(d);
  auto first = sweep::view_plan(r, {}).plan.runs.front();
  r.show = first.record.id.substr(0, 8);
  auto v = sweep::view_plan(r, {});
  CHECK(v.shown_toml == first.record.config_toml);
  r.show.clear();
  r.threads = 3;
  CHECK(sweep::view_plan(r, {}).pool.threads_per_job == 3);
  r.device = "tpu";
  CHECK_THROWS_WITH_AS(sweep::view_plan(r, {}), doctest::Contains("--device: "), UserError);
}
