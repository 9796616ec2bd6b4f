#include "sweep/control.h"

#include <doctest/doctest.h>

#include <filesystem>

#include "common/error.h"
#include "sweep/test_files.h"

using namespace scalelab;
using sweep::testing::Dir;
using sweep::testing::stored_run;

TEST_CASE("a missing database or sweep is a user error, and no database is created") {
  Dir d;
  const auto db = d.db();
  CHECK_THROWS_WITH_AS(store::Store::open_existing(db, "; hint"), (db + ": no such database; hint").c_str(), UserError);
  CHECK_THROWS_WITH_AS(sweep::cancel_sweep(db, "x"), (db + ": no such database").c_str(), UserError);
  CHECK(!std::filesystem::exists(db));
  auto st = store::Store::open(db);
  CHECK(sweep::find_sweeps(*st, "").empty());
  CHECK_THROWS_WITH_AS(sweep::find_sweep(*st, "x"),
                       (db + ": no sweep 'x'; `scalelab status --db " + db + "` lists them").c_str(), UserError);
}

TEST_CASE("cancel then retry requeues a sweep's pending runs") {
  Dir d;
  const auto db = d.db();
  {
    auto st = store::Store::open(db);
    st->register_sweep({"sw1", "one", "", ""}, {stored_run("run0"), stored_run("run1")});
  }
  auto c = sweep::cancel_sweep(db, "one");
  CHECK(c.sweep.id == "sw1");
  CHECK(c.cancelled == 2);
  CHECK(c.requested == 0);
  CHECK(c.slurm_jobs == 0);
  CHECK(sweep::retry_sweep(db, "one", true).runs == 0);
  CHECK(sweep::retry_sweep(db, "one", false).runs == 2);
}
