// Schema v5: branches of a WSD cooldown ladder, the rows they inherit from their
// trunk, and the upgrade of a database the 0.1.0 release wrote (schema v4).
#include "common/error.h"
#include "store/schema.h"
#include "store/sqlite.h"
#include "store/store.h"
#include "store/test_util.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <map>
#include <tuple>

using namespace scalelab;
using namespace scalelab::store;
using scalelab::store::testing::make_metric;
using scalelab::store::testing::make_run;
using scalelab::store::testing::TempDir;

namespace {

Run make_branch(const std::string& id, const std::string& trunk_id, std::int64_t fork_step) {
  Run r = make_run(id);
  r.parent_id = trunk_id;
  r.fork_step = fork_step;
  return r;
}

Eval make_eval(const std::string& run_id, std::int64_t step, double value) {
  return Eval{run_id, step, "addition", "exact_match", value, 64};
}

std::vector<std::string> ids(const std::vector<Run>& rs) {
  std::vector<std::string> out;
  for (const auto& r : rs) out.push_back(r.id);
  return out;
}

// A run's metric rows as {(split, step): loss}, and its evals as {step: value}.
std::map<std::pair<std::string, std::int64_t>, double> losses(const Store& s, const std::string& run_id) {
  std::map<std::pair<std::string, std::int64_t>, double> out;
  for (const auto& m : s.metrics(run_id)) out[{m.split, m.step}] = m.loss;
  return out;
}

std::map<std::int64_t, double> eval_values(const Store& s, const std::string& run_id) {
  std::map<std::int64_t, double> out;
  for (const auto& e : s.evals(run_id)) out[e.step] = e.value;
  return out;
}

std::string user_error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const UserError& e) {
    return e.what();
  }
  return "(no UserError)";
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "(no error)";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

constexpr const char* kTrunk = "7700000000000000";

}  // namespace

TEST_CASE("a branch reads back its parent and fork step; an ordinary run has neither") {
  TempDir dir;
  auto s = Store::open(dir.file("l.db"));
  REQUIRE(s->add_run(make_run(kTrunk)));
  // Added out of fork order, two at step 100: branches() sorts by fork step,
  // then keeps the order they were added in.
  REQUIRE(s->add_runs({make_branch("b200", kTrunk, 200), make_branch("b100a", kTrunk, 100),
                       make_branch("b100b", kTrunk, 100)}) == 3);

  const auto b = s->run("b200");
  REQUIRE(b);
  CHECK(b->parent_id == kTrunk);
  CHECK(b->fork_step == 200);
  const auto trunk = s->run(kTrunk);
  REQUIRE(trunk);
  CHECK(trunk->parent_id.empty());
  CHECK_FALSE(trunk->fork_step.has_value());

  CHECK(ids(s->branches(kTrunk)) == std::vector<std::string>{"b100a", "b100b", "b200"});
  CHECK(s->branches(kTrunk)[2].fork_step == 200);  // full rows, as run() reads them
  CHECK(s->branches("b200").empty());
  CHECK(s->branches("no-such-run").empty());
  CHECK(s->runs().size() == 4);
}

TEST_CASE("a ladder sweep registers its branches in any order, and an unknown parent is refused") {
  TempDir dir;
  auto s = Store::open(dir.file("l.db"));
  // Launch order need not put the trunk first: the parent key is checked at commit.
  CHECK(s->register_sweep(Sweep{"sw01", "ladder", "", ""},
                          {make_branch("b50", kTrunk, 50), make_run(kTrunk), make_branch("b90", kTrunk, 90)}) == 3);
  CHECK(ids(s->branches(kTrunk)) == std::vector<std::string>{"b50", "b90"});
  CHECK(s->run("b90")->sweep_id == "sw01");

  const auto msg = error_of([&] { s->add_run(make_branch("orphan", "no-such-trunk", 10)); });
  CHECK(contains(msg, "FOREIGN KEY"));
  CHECK_FALSE(s->run("orphan"));
  CHECK(s->runs().size() == 3);
}

TEST_CASE("the schema refuses half a branch, and the API reports it as an error") {
  TempDir dir;
  auto s = Store::open(dir.file("l.db"));
  REQUIRE(s->add_run(make_run(kTrunk)));

  Run no_parent = make_run("np");
  no_parent.fork_step = 10;
  Run no_step = make_run("ns");
  no_step.parent_id = kTrunk;
  Run zero = make_branch("zero", kTrunk, 0);
  Run self = make_branch("self", "self", 10);
  for (const auto& bad : {no_parent, no_step, zero, self}) {
    CAPTURE(bad.id);
    const auto msg = error_of([&] { s->add_run(bad); });
    CHECK(contains(msg, "adding run '" + bad.id + "'"));
    CHECK(contains(msg, "CHECK constraint failed: branch_fork"));
    CHECK_FALSE(s->run(bad.id));
  }

  // Behind the API too: no edit can leave a branch without its fork step.
  REQUIRE(s->add_run(make_branch("ok", kTrunk, 10)));
  CHECK_THROWS_WITH_AS(sql::exec(s->handle(), "UPDATE runs SET fork_step = NULL WHERE id = 'ok'"),
                       doctest::Contains("branch_fork"), std::runtime_error);
  // A trunk with branches cannot be deleted out from under them.
  CHECK_THROWS_AS(sql::exec(s->handle(), std::string("DELETE FROM runs WHERE id = '") + kTrunk + "'"),
                  std::runtime_error);
  CHECK(s->run("ok")->fork_step == 10);  // and the store is still usable
  CHECK(s->runs().size() == 2);
}

namespace {

// A trunk that logged train every 10 steps, val and evals every 25, and stopped
// at step 50 (a checkpoint): its rows at 50 are the ones at_fork decides on.
// The branch forked at 50 has already logged steps 60 and 75 of its own.
void seed_ladder(Store& s) {
  REQUIRE(s.add_run(make_run(kTrunk)));
  REQUIRE(s.add_run(make_branch("b50", kTrunk, 50)));
  std::vector<Metric> ms;
  // Losses that say where they came from: train step + 0.5, val step + 0.25.
  for (int step = 10; step <= 100; step += 10) ms.push_back(make_metric(kTrunk, step, "train", step + 0.5));
  for (int step : {25, 50, 75, 100}) ms.push_back(make_metric(kTrunk, step, "val", step + 0.25));
  ms.push_back(make_metric("b50", 60, "train", 1.5));
  ms.push_back(make_metric("b50", 75, "val", 1.25));
  s.write_metrics(ms);
  s.write_evals({make_eval(kTrunk, 25, 0.1), make_eval(kTrunk, 50, 0.2), make_eval(kTrunk, 75, 0.3),
                 make_eval("b50", 75, 0.9)});
}

}  // namespace

TEST_CASE("copy_trunk_rows copies the trunk's rows before the fork and the splits named at it") {
  TempDir dir;
  auto s = Store::open(dir.file("l.db"));
  seed_ladder(*s);

  // train 10..40 (4) + train 50 + val 25 (1) + evals 25 and 50 (2).
  CHECK(s->copy_trunk_rows(kTrunk, "b50", 50, RowsAtFork{.train = true, .val = false, .evals = true}) == 8);
  const std::map<std::pair<std::string, std::int64_t>, double> want{
      {{"train", 10}, 10.5}, {{"train", 20}, 20.5}, {{"train", 30}, 30.5}, {{"train", 40}, 40.5},
      {{"train", 50}, 50.5}, {{"train", 60}, 1.5},  // the branch's own
      {{"val", 25}, 25.25},  {{"val", 75}, 1.25},   // no val 50: not named at the fork
  };
  CHECK(losses(*s, "b50") == want);
  CHECK(eval_values(*s, "b50") == std::map<std::int64_t, double>{{25, 0.1}, {50, 0.2}, {75, 0.9}});
  // The copies are the trunk's rows under the branch's id, every column.
  const auto copied = s->metrics("b50", "train").front();
  const auto original = s->metrics(kTrunk, "train").front();
  CHECK(copied.run_id == "b50");
  CHECK(copied.tokens == original.tokens);
  CHECK(copied.flops == original.flops);
  CHECK(copied.lr == original.lr);
  CHECK(copied.grad_norm == original.grad_norm);
  CHECK(copied.wall_s == original.wall_s);
  CHECK(s->metric_count(kTrunk) == 14);  // the trunk is read, never written

  // A repeat writes the same rows over themselves: same count, same rows.
  CHECK(s->copy_trunk_rows(kTrunk, "b50", 50, RowsAtFork{.train = true, .val = false, .evals = true}) == 8);
  CHECK(losses(*s, "b50") == want);
  CHECK(s->evals("b50").size() == 3);
}

TEST_CASE("copy_trunk_rows with nothing named at the fork stops before it, and resyncs stale rows") {
  TempDir dir;
  auto s = Store::open(dir.file("l.db"));
  seed_ladder(*s);
  s->write_metrics({make_metric("b50", 20, "train", 99.0)});  // a stale copy, say

  CHECK(s->copy_trunk_rows(kTrunk, "b50", 50, RowsAtFork{}) == 4 + 1 + 1);
  const auto got = losses(*s, "b50");
  CHECK(got.at({"train", 20}) == 20.5);  // the trunk's value now
  CHECK(got.count({"train", 50}) == 0);
  CHECK(got.count({"val", 50}) == 0);
  CHECK(got.at({"train", 60}) == 1.5);
  CHECK(eval_values(*s, "b50") == std::map<std::int64_t, double>{{25, 0.1}, {75, 0.9}});

  // Only val named: val 50 joins, train 50 still does not.
  CHECK(s->copy_trunk_rows(kTrunk, "b50", 50, RowsAtFork{.train = false, .val = true, .evals = false}) == 7);
  CHECK(losses(*s, "b50").at({"val", 50}) == 50.25);
  CHECK(losses(*s, "b50").count({"train", 50}) == 0);
}

TEST_CASE("copy_trunk_rows refuses a run that is not that trunk's branch at that step") {
  TempDir dir;
  auto s = Store::open(dir.file("l.db"));
  seed_ladder(*s);
  REQUIRE(s->add_run(make_run("plain")));

  CHECK(contains(user_error_of([&] { s->copy_trunk_rows(kTrunk, "plain", 50, {}); }), "not a branch of"));
  CHECK(contains(user_error_of([&] { s->copy_trunk_rows(kTrunk, "b50", 40, {}); }), "fork step 50"));
  CHECK(contains(user_error_of([&] { s->copy_trunk_rows("plain", "b50", 50, {}); }), "not a branch of"));
  CHECK(contains(user_error_of([&] { s->copy_trunk_rows(kTrunk, "nope", 50, {}); }), "no run 'nope'"));
  CHECK_THROWS_AS(s->copy_trunk_rows(kTrunk, "b50", 0, {}), std::invalid_argument);
  CHECK(s->metric_count("b50") == 2);  // nothing was copied
  CHECK(s->metric_count("plain") == 0);
}

TEST_CASE("a v4 database from the 0.1.0 release upgrades to the latest schema and reads as before") {
  TempDir dir;
  const auto path = dir.file("release.db");
  std::filesystem::copy_file(SCALELAB_SOURCE_DIR "/tests/data/release-0.1.0/release.db", path);
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    CHECK(schema::user_version(db) == 4);  // the fixture is what it says it is
    sqlite3_close(db);
  }
  auto s = Store::open(path);
  CHECK(s->schema_version() == 7);  // v5 ladders, v6 MFU, v7 tokenizers
  CHECK(schema::latest() == 7);

  const auto runs = s->runs();
  REQUIRE(runs.size() == 12);
  for (const auto& r : runs) {
    CAPTURE(r.id);
    CHECK(r.parent_id.empty());
    CHECK_FALSE(r.fork_step.has_value());
    CHECK(r.status == "done");
    CHECK(s->branches(r.id).empty());
  }
  // What the 0.1.0 release wrote, unchanged (sqlite3 on the fixture).
  CHECK(s->metric_count() == 2632);
  CHECK(s->metric_count("0c3846c8fa9b8c16") == 134);
  CHECK(s->metrics("0c3846c8fa9b8c16", "val").size() == 45);
  CHECK(s->evals("0c3846c8fa9b8c16").size() == 2);
  CHECK(s->fits().size() == 10);
  CHECK(s->run("0c38")->id == "0c3846c8fa9b8c16");

  // The upgraded file takes branches like a new one.
  const std::string trunk = "0c3846c8fa9b8c16";
  Run b = s->run(trunk).value();
  b.id = b.config_hash = "branch0000000001";
  b.parent_id = trunk;
  b.fork_step = 40;
  REQUIRE(s->add_run(b));
  CHECK(ids(s->branches(trunk)) == std::vector<std::string>{"branch0000000001"});
  CHECK(s->copy_trunk_rows(trunk, b.id, 40, {}) > 0);
  sql::Stmt fk(s->handle(), "PRAGMA foreign_key_check");
  CHECK_FALSE(fk.step());
}
