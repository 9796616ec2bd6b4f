#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <filesystem>

#include "common/error.h"
#include "reports/fixture.h"
#include "reports/report.h"
#include "reports/test_util.h"
#include "store/store.h"

using namespace scalelab;
using namespace scalelab::reports;
using scalelab::reports::testing::count;
using scalelab::reports::testing::slurp;
using scalelab::reports::testing::TempDir;

TEST_CASE("export writes every row, as CSV and as JSON") {
  TempDir dir;
  auto st = store::Store::open(dir.file("x.db"));
  fixture::SweepSpec s;
  s.name = "a, \"quoted\" sweep";
  s.budgets = {1e15, 1e16};
  s.sizes = 4;
  s.curve_rows = 250;
  s.evals = true;
  s.pending = 1;
  auto made = fixture::make_sweep(*st, s);
  fixture::fit_sweep(*st, made.sweep_id, {2}, 10);
  ExportOptions o;
  o.out_dir = dir.file("out");
  o.csv = o.json = true;
  auto files = export_data(*st, o);
  CHECK(files.size() == 9);

  auto runs = slurp(dir.file("out/runs.csv"));
  CHECK(count(runs, "\n") == 1 + 9);
  CHECK(runs.rfind("id,sweep_id,name,status,", 0) == 0);
  // A name with a comma and quotes is one RFC 4180 field.
  CHECK(runs.find("\"a, \"\"quoted\"\" sweep/") != std::string::npos);
  auto metrics = slurp(dir.file("out/metrics.csv"));
  CHECK(count(metrics, "\n") == 1 + made.metric_rows);  // nothing downsampled
  CHECK(count(slurp(dir.file("out/evals.csv")), "\n") == 1 + 8 * 5);
  auto params = slurp(dir.file("out/fit_params.csv"));
  CHECK(params.find(",params,a,") != std::string::npos);
  CHECK(params.find(",derived,") != std::string::npos);

  auto mj = nlohmann::json::parse(slurp(dir.file("out/metrics.json")));
  REQUIRE(mj.is_array());
  CHECK(static_cast<std::int64_t>(mj.size()) == made.metric_rows);
  CHECK(mj[0].contains("loss"));
  auto rj = nlohmann::json::parse(slurp(dir.file("out/runs.json")));
  CHECK(rj.size() == 9);
  int pending = 0;
  for (auto& r : rj) pending += r["status"] == "pending" && r["final_val_loss"].is_null();
  CHECK(pending == 1);
  auto fj = nlohmann::json::parse(slurp(dir.file("out/fits.json")));
  REQUIRE(fj.size() == 1);
  CHECK(fj[0]["approach"] == "2");
  CHECK(fj[0]["result"].contains("budgets"));
}

TEST_CASE("export needs a format") {
  TempDir dir;
  auto st = store::Store::open(dir.file("x.db"));
  ExportOptions o;
  CHECK_THROWS_AS(export_data(*st, o), UserError);
}
