// Many processes on one database file: the situation of a sweep with 8+ workers.
#include "store/schema.h"
#include "store/sqlite.h"
#include "store/store.h"
#include "store/test_util.h"

#include <doctest/doctest.h>

#include <chrono>
#include <future>
#include <stdexcept>
#include <thread>

using namespace scalelab::store;
using scalelab::store::testing::exited_ok;
using scalelab::store::testing::make_metric;
using scalelab::store::testing::make_run;
using scalelab::store::testing::run_children;
using scalelab::store::testing::spawn_children;
using scalelab::store::testing::wait_children;
using scalelab::store::testing::TempDir;

namespace {
std::string worker_run(int i) { return "worker" + std::to_string(1000 + i); }
}  // namespace

TEST_CASE("8 writer processes never see 'database is locked' and lose no row") {
  constexpr int kWorkers = 8, kTransactions = 200, kRowsPerTx = 5;
  TempDir dir;
  const auto path = dir.file("shared.db");
  {
    auto s = Store::open(path);
    std::vector<Run> runs;
    for (int i = 0; i < kWorkers; ++i) runs.push_back(make_run(worker_run(i)));
    REQUIRE(s->add_runs(runs) == kWorkers);
  }  // closed before fork: a connection must not cross one

  const auto statuses = run_children(kWorkers, [&](int i) {
    auto s = Store::open(path);
    const auto id = worker_run(i);
    s->mark_running(id);
    for (int tx = 0; tx < kTransactions; ++tx) {
      std::vector<Metric> batch;
      for (int k = 0; k < kRowsPerTx; ++k)
        batch.push_back(make_metric(id, tx * kRowsPerTx + k, "train", 3.0 - 0.001 * tx));
      s->write_metrics(batch);
      if (tx % 10 == 0) s->heartbeat(id, tx * kRowsPerTx, 4096.0 * tx * kRowsPerTx, 1e5);
      if (tx % 50 == 0) s->metrics(id);  // readers run beside the writers
    }
    Run summary = *s->run(id);
    summary.status = "done";
    summary.steps_done = kTransactions * kRowsPerTx;
    s->finish_run(summary);
  });
  for (int st : statuses) CHECK(exited_ok(st));

  auto s = Store::open(path);
  CHECK(s->metric_count() == kWorkers * kTransactions * kRowsPerTx);
  for (int i = 0; i < kWorkers; ++i) {
    const auto r = s->run(worker_run(i));
    REQUIRE(r);
    CHECK(r->status == "done");
    CHECK(r->attempts == 1);
    CHECK(s->metric_count(r->id) == kTransactions * kRowsPerTx);
  }
}

TEST_CASE("processes opening a new file at the same moment create the schema once") {
  constexpr int kWorkers = 8;
  TempDir dir;
  const auto path = dir.file("fresh.db");
  int gate[2];
  REQUIRE(pipe(gate) == 0);
  const auto pids = spawn_children(kWorkers, [&](int i) {
    close(gate[1]);
    char c;
    if (read(gate[0], &c, 1) != 0) throw std::runtime_error("gate");
    auto s = Store::open(path);
    if (!s->add_run(make_run(worker_run(i)))) throw std::runtime_error("run existed");
  });
  close(gate[1]);  // every child reads EOF at once
  close(gate[0]);
  for (int st : wait_children(pids)) CHECK(exited_ok(st));
  auto s = Store::open(path);
  CHECK(s->schema_version() == schema::latest());
  CHECK(s->runs().size() == kWorkers);
}

TEST_CASE("a write retries where SQLite's busy handler gives up") {
  TempDir dir;
  const auto path = dir.file("held.db");
  auto s = Store::open(path);
  s->add_run(make_run("run00001"));
  sqlite3_busy_timeout(s->handle(), 0);  // as if the handler were never invoked

  std::promise<void> locked;
  std::thread holder([&] {
    sqlite3* db = nullptr;
    sqlite3_open(path.c_str(), &db);
    sql::exec(db, "BEGIN IMMEDIATE");
    locked.set_value();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    sql::exec(db, "COMMIT");
    sqlite3_close(db);
  });
  locked.get_future().wait();
  const auto t0 = std::chrono::steady_clock::now();
  CHECK_NOTHROW(s->write_metrics({make_metric("run00001", 1, "train", 3.0)}));
  const auto waited = std::chrono::steady_clock::now() - t0;
  holder.join();
  CHECK(waited >= std::chrono::milliseconds(200));
  CHECK(s->metric_count() == 1);
}
