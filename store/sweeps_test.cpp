// Sweep execution state: membership, leases, failures, cancellation, the cache.
#include "store/schema.h"
#include "store/sqlite.h"
#include "store/store.h"
#include "store/test_util.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <set>

using namespace scalelab::store;
using scalelab::store::testing::exited_ok;
using scalelab::store::testing::make_metric;
using scalelab::store::testing::make_run;
using scalelab::store::testing::run_children;
using scalelab::store::testing::TempDir;

namespace {

Sweep make_sweep(const std::string& id) { return Sweep{id, "sweep-" + id, "[axes]\n", ""}; }

std::vector<Run> make_runs(int n, const std::string& prefix = "r") {
  std::vector<Run> rs;
  for (int i = 0; i < n; ++i) rs.push_back(make_run(prefix + std::to_string(1000 + i)));
  return rs;
}

Lease lease_for(const std::string& owner, double expires = 1e12) {
  Lease l;
  l.owner = owner;
  l.host = "host";
  l.pid = 42;
  l.expires_at = expires;
  return l;
}

std::string status_of(Store& s, const std::string& id) { return s.run(id)->status; }

}  // namespace

TEST_CASE("registering a sweep twice adds nothing; an edit adds only new runs") {
  TempDir dir;
  auto s = Store::open(dir.file("s.db"));
  CHECK(s->schema_version() >= 2);
  auto runs = make_runs(5);
  CHECK(s->register_sweep(make_sweep("sw1"), runs) == 5);
  CHECK(s->register_sweep(make_sweep("sw1"), runs) == 0);
  CHECK(s->runs().size() == 5);
  // A finished run stays finished when the edited config is submitted again.
  s->mark_running(runs[0].id);
  Run done = *s->run(runs[0].id);
  done.status = "done";
  s->finish_run(done);
  auto edited = make_runs(7);
  edited.erase(edited.begin() + 4);  // drop one point, add two
  CHECK(s->register_sweep(make_sweep("sw1"), edited) == 2);
  auto members = s->sweep_runs("sw1");
  REQUIRE(members.size() == 6);
  CHECK(members[0].status == "done");
  CHECK(std::none_of(members.begin(), members.end(), [](auto& m) { return m.id == "r1004"; }));
  CHECK(s->runs().size() == 7);  // the dropped run keeps its row
  // One run may belong to two sweeps.
  CHECK(s->register_sweep(make_sweep("sw2"), {runs[0], make_run("other")}) == 1);
  CHECK(s->sweep_runs("sw2").size() == 2);
  CHECK(s->sweep_runs("sw2")[0].status == "done");
}

TEST_CASE("claims follow launch order, skip leased and finished runs, and never hand a run out twice") {
  TempDir dir;
  auto s = Store::open(dir.file("s.db"));
  auto runs = make_runs(3);
  s->register_sweep(make_sweep("sw"), runs);
  auto a = s->claim_run("sw", lease_for("a:1"));
  auto b = s->claim_run("sw", lease_for("b:2"));
  REQUIRE(a);
  REQUIRE(b);
  CHECK(*a == "r1000");
  CHECK(*b == "r1001");
  s->set_worker(*a, "a:1", 777, "/tmp/log");
  auto ls = s->leases("sw");
  REQUIRE(ls.size() == 2);
  CHECK(ls[0].worker_pid == 777);
  CHECK(s->sweep_runs("sw")[0].log_path == "/tmp/log");
  CHECK(s->sweep_runs("sw")[0].lease->owner == "a:1");
  CHECK(s->renew_leases("a:1", 2e12) == 1);
  CHECK(s->leases("sw")[0].expires_at == 2e12);
  // Another owner cannot release a lease it does not hold.
  s->release_lease(*a, "b:2");
  CHECK(s->leases("sw").size() == 2);
  s->release_lease(*a, "a:1");
  CHECK(s->leases("sw").size() == 1);
  CHECK(*s->claim_run("sw", lease_for("c:3")) == "r1000");
  CHECK(*s->claim_run("sw", lease_for("c:3")) == "r1002");
  CHECK(!s->claim_run("sw", lease_for("c:3")));
}

TEST_CASE("8 orchestrator processes claiming at once share the runs without overlap") {
  constexpr int kProcs = 8, kRuns = 64;
  TempDir dir;
  const auto path = dir.file("claims.db");
  {
    auto s = Store::open(path);
    s->register_sweep(make_sweep("sw"), make_runs(kRuns));
  }
  auto statuses = run_children(kProcs, [&](int i) {
    auto s = Store::open(path);
    const std::string owner = "host:" + std::to_string(i);
    while (auto id = s->claim_run("sw", lease_for(owner))) {
      s->mark_running(*id);
      s->write_metrics({make_metric(*id, 1, "train", 2.0), make_metric(*id, 2, "train", 1.9)});
      Run r = *s->run(*id);
      r.status = "done";
      s->finish_run(r);
      s->release_lease(*id, owner);
    }
  });
  for (int st : statuses) CHECK(exited_ok(st));
  auto s = Store::open(path);
  for (auto& r : s->sweep_runs("sw")) {
    CHECK(r.status == "done");
    CHECK(r.attempts == 1);  // trained exactly once
  }
  CHECK(s->metric_count() == 2 * kRuns);
  CHECK(s->leases("sw").empty());
}

TEST_CASE("failures are retried within the budget, then the run fails") {
  TempDir dir;
  auto s = Store::open(dir.file("s.db"));
  auto runs = make_runs(1);
  s->register_sweep(make_sweep("sw"), runs);
  const auto id = runs[0].id;
  s->mark_running(id);
  CHECK(s->record_failure(id, "killed by SIGKILL", 2) == "pending");
  CHECK(s->run(id)->error == "killed by SIGKILL");
  s->mark_running(id);
  CHECK(s->record_failure(id, "killed", 2) == "pending");
  s->mark_running(id);
  CHECK(s->record_failure(id, "killed", 2) == "failed");
  CHECK(s->sweep_runs("sw")[0].failures == 3);
  CHECK(!s->run(id)->finished_at.empty());
  CHECK(!s->claim_run("sw", lease_for("a:1")));
  CHECK(s->retry_sweep("sw", true) == 1);
  CHECK(status_of(*s, id) == "pending");
  CHECK(s->sweep_runs("sw")[0].failures == 0);
}

TEST_CASE("a dead owner's lease is broken once; a run it left running counts a failure") {
  TempDir dir;
  auto s = Store::open(dir.file("s.db"));
  auto runs = make_runs(2);
  s->register_sweep(make_sweep("sw"), runs);
  auto a = *s->claim_run("sw", lease_for("dead:1"));
  auto b = *s->claim_run("sw", lease_for("dead:1"));
  s->mark_running(a);  // b was claimed but its worker never started
  CHECK(s->break_lease(a, "dead:1", "lost", 2) == "pending");
  CHECK(s->break_lease(a, "dead:1", "lost", 2) == "");  // already broken
  CHECK(s->break_lease(b, "dead:1", "lost", 2) == "pending");
  CHECK(s->sweep_runs("sw")[0].failures == 1);
  CHECK(s->sweep_runs("sw")[1].failures == 0);
  CHECK(s->leases("sw").empty());
}

TEST_CASE("orphans: running, no lease, no recent heartbeat") {
  TempDir dir;
  auto s = Store::open(dir.file("s.db"));
  auto runs = make_runs(2);
  s->register_sweep(make_sweep("sw"), runs);
  s->mark_running(runs[0].id);
  s->mark_running(runs[1].id);
  CHECK(s->fail_orphans("sw", 60, "lost", 2).empty());  // fresh heartbeats
  CHECK(s->fail_orphans("sw", -120, "lost", 2).size() == 2);
  CHECK(status_of(*s, runs[0].id) == "pending");
}

TEST_CASE("cancel stops what is idle at once and flags what runs; retry undoes it") {
  TempDir dir;
  auto s = Store::open(dir.file("s.db"));
  auto runs = make_runs(4);
  s->register_sweep(make_sweep("sw"), runs);
  auto a = *s->claim_run("sw", lease_for("o:1"));
  s->set_worker(a, "o:1", 99, "");
  s->mark_running(a);
  Run done = *s->run(runs[3].id);
  done.status = "done";
  s->finish_run(done);
  auto res = s->cancel_sweep("sw");
  CHECK(res.cancelled == 2);
  CHECK(res.requested == 1);
  REQUIRE(res.live.size() == 1);
  CHECK(res.live[0].worker_pid == 99);
  CHECK(s->cancel_requested(a));
  CHECK(status_of(*s, runs[1].id) == "cancelled");
  CHECK(status_of(*s, runs[3].id) == "done");
  CHECK(!s->claim_run("sw", lease_for("o:2")));
  // The worker's exit, counted as a failure, still ends cancelled.
  CHECK(s->record_failure(a, "stopped", 2) == "cancelled");
  s->release_lease(a, "o:1");
  CHECK(s->retry_sweep("sw", true) == 0);
  CHECK(s->retry_sweep("sw", false) == 3);
  CHECK(!s->cancel_requested(a));
  std::set<std::string> claimed;
  while (auto id = s->claim_run("sw", lease_for("o:2"))) claimed.insert(*id);
  CHECK(claimed.size() == 3);
}

TEST_CASE("the newest metric row and the throughput cache") {
  TempDir dir;
  auto s = Store::open(dir.file("s.db"));
  s->add_run(make_run("r1"));
  CHECK(!s->last_metric("r1", "train"));
  s->write_metrics({make_metric("r1", 10, "train", 2.5), make_metric("r1", 20, "train", 2.4),
                    make_metric("r1", 20, "val", 2.6)});
  CHECK(s->last_metric("r1", "train")->step == 20);
  CHECK(s->last_metric("r1", "train")->loss == 2.4);
  CHECK(!s->throughput("L2-D64", "cpu", "h", 1));
  s->put_throughput("L2-D64", "cpu", "h", 1, 1234.5);
  s->put_throughput("L2-D64", "cpu", "h", 1, 2000);
  CHECK(*s->throughput("L2-D64", "cpu", "h", 1) == 2000);
  CHECK(!s->throughput("L2-D64", "cpu", "h", 2));
}

TEST_CASE("a version-1 database gains the sweep tables, with its sweeps' membership filled in") {
  TempDir dir;
  const auto path = dir.file("v1.db");
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    scalelab::store::schema::migrate(db, path, scalelab::store::schema::migrations().subspan(0, 1));
    sql::exec(db,
              "INSERT INTO sweeps VALUES ('sw', 'old', '', '2026-01-01T00:00:00Z');"
              "INSERT INTO runs (id, sweep_id, name, config_toml, config_hash, shape, n_layer, d_model, n_head, "
              "seq_len, vocab, params_total, params_non_embedding, flops_per_token, flop_convention, "
              "planned_tokens, status, created_at) VALUES "
              "('r1', 'sw', 'a', '', 'r1', 'L1', 1, 8, 1, 8, 256, 10, 5, 60, '6N', 100, 'done', 'x'),"
              "('r2', 'sw', 'b', '', 'r2', 'L1', 1, 8, 1, 8, 256, 10, 5, 60, '6N', 100, 'pending', 'x'),"
              "('r3', NULL, 'c', '', 'r3', 'L1', 1, 8, 1, 8, 256, 10, 5, 60, '6N', 100, 'pending', 'x')");
    sqlite3_close(db);
  }
  auto s = Store::open(path);
  CHECK(s->schema_version() == schema::latest());
  auto members = s->sweep_runs("sw");
  REQUIRE(members.size() == 2);
  CHECK(members[0].id == "r1");
  CHECK(members[0].failures == 0);
  CHECK(*s->claim_run("sw", lease_for("o:1")) == "r2");
}
