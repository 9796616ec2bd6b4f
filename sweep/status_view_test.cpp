#include "sweep/status_view.h"

#include <doctest/doctest.h>

#include "sweep/test_files.h"

using namespace scalelab;
using sweep::testing::Dir;
using sweep::testing::stored_run;

TEST_CASE("status JSON has one object per sweep, its runs and their SLURM jobs") {
  Dir d;
  auto st = d.open_store();
  st->register_sweep({"sw1", "one", "", ""}, {stored_run("run0"), stored_run("run1")});
  auto views = sweep::poll(*st, st->sweeps());
  REQUIRE(views.size() == 1);
  CHECK(!sweep::settled(views));
  store::ClusterJob job;
  job.run_id = "run1";
  job.job_id = "77_1";
  job.state = "RUNNING";
  views[0].jobs["run1"] = job;
  auto j = sweep::status_json(views);
  REQUIRE(j.is_array());
  CHECK(j[0]["name"] == "one");
  CHECK(j[0]["total"] == 2);
  CHECK(j[0]["eta_s"].is_null());
  CHECK(j[0]["runs"][0]["slurm"].is_null());
  CHECK(j[0]["runs"][1]["slurm"]["job_id"] == "77_1");
  CHECK(j[0]["runs"][1]["status"] == "pending");

  auto lines = sweep::render_view(views[0]);
  auto at = std::find(lines.begin(), lines.end(), "slurm: 1 job(s) pending or running");
  REQUIRE(at != lines.end());
  REQUIRE(at + 1 != lines.end());
  CHECK(at[1].find("slurm job 77_1") != std::string::npos);
  CHECK(at[1].find("s/run1 (run1)") != std::string::npos);
}

TEST_CASE("a view without live jobs is just the status block") {
  Dir d;
  auto st = d.open_store();
  st->register_sweep({"sw1", "one", "", ""}, {stored_run("run0")});
  auto views = sweep::poll(*st, st->sweeps());
  CHECK(sweep::render_view(views[0]) == sweep::render_status(views[0].status));
}
