// Result shards and cluster job bookkeeping (schema v3).
#include "store/cluster.h"
#include "store/sqlite.h"
#include "store/test_util.h"

#include <doctest/doctest.h>

using namespace scalelab::store;
using scalelab::store::testing::make_metric;
using scalelab::store::testing::make_run;
using scalelab::store::testing::TempDir;

TEST_CASE("a shard is a DELETE-journal store, ingested idempotently") {
  TempDir dir;
  auto main = Store::open(dir.file("main.db"));
  auto run = make_run("aaaa000000000001");
  REQUIRE(main->add_run(run));
  const auto shard_file = shard_path(dir.file("runs"), run.id);
  CHECK(!ingest_shard(*main, run.id, shard_file));  // nothing yet
  seed_shard(run, shard_file);
  {
    auto shard = Store::open(shard_file, Store::Journal::Delete);
    {
      sql::Stmt mode(shard->handle(), "PRAGMA journal_mode");
      REQUIRE(mode.step());
      CHECK(mode.col_text(0) == "delete");
    }
    // The task: metrics, an eval, progress, then done.
    shard->mark_running(run.id);
    shard->write_metrics({make_metric(run.id, 0, "train", 5.0), make_metric(run.id, 10, "train", 4.0),
                          make_metric(run.id, 10, "val", 4.5)});
    shard->write_evals({Eval{run.id, 10, "copy", "acc", 0.25, 100}});
    shard->heartbeat(run.id, 10, 40960, 1234);
  }
  auto got = ingest_shard(*main, run.id, shard_file);
  REQUIRE(got);
  CHECK(got->status == "running");
  CHECK(main->metric_count(run.id) == 3);
  CHECK(main->evals(run.id).size() == 1);
  auto r = main->run(run.id);
  CHECK(r->steps_done == 10);
  CHECK(r->attempts == 1);
  CHECK(r->status == "pending");  // the status is the caller's decision
  // Again, and after a resumed task rewrote a row with the same value: nothing changes.
  ingest_shard(*main, run.id, shard_file);
  {
    auto shard = Store::open(shard_file, Store::Journal::Delete);
    shard->write_metrics({make_metric(run.id, 10, "train", 4.0), make_metric(run.id, 20, "train", 3.0)});
  }
  ingest_shard(*main, run.id, shard_file);
  CHECK(main->metric_count(run.id) == 4);
  CHECK(main->metrics(run.id, "train").back().loss == 3.0);
  CHECK(main->evals(run.id).size() == 1);
  {
    auto shard = Store::open(shard_file, Store::Journal::Delete);
    Run done = *shard->run(run.id);
    done.status = "done";
    done.final_val_loss = 3.5;
    done.unique_tokens = 1e5;
    done.epochs = 0.8192;
    done.final_val_loss_se = 0.02;
    shard->finish_run(done);
  }
  ingest_shard(*main, run.id, shard_file);
  r = main->run(run.id);
  CHECK(r->unique_tokens == 1e5);
  CHECK(r->epochs == 0.8192);
  CHECK(r->final_val_loss_se == 0.02);
  // Seeding again keeps the shard's history.
  seed_shard(run, shard_file);
  CHECK(Store::open(shard_file, Store::Journal::Delete)->metric_count(run.id) == 4);
}

TEST_CASE("a job holds its run's lease until it is settled") {
  TempDir dir;
  auto st = Store::open(dir.file("main.db"));
  auto run = make_run("bbbb000000000001", "sw");
  st->register_sweep(Sweep{"sw", "sweep", "", ""}, {run});
  Lease l;
  l.owner = "login:1";
  l.host = "login";
  l.pid = 1;
  l.expires_at = 1e10;
  REQUIRE(st->claim_run("sw", l) == run.id);
  ClusterJob j;
  j.run_id = run.id;
  j.job_id = "77_3";
  j.state = "PENDING";
  j.shard = "/x/result.db";
  j.script = "/x/part0.sh";
  record_job(*st, j, "login:1", "/x/worker.log");
  auto leases = st->leases("sw");
  REQUIRE(leases.size() == 1);
  CHECK(leases[0].owner == "slurm:77_3");
  CHECK(leases[0].host == "slurm");
  CHECK(st->run(run.id)->attempts == 1);
  CHECK(!st->claim_run("sw", l));  // never submitted twice
  set_job_state(*st, run.id, "RUNNING");
  auto jobs = cluster_jobs(*st, "sw", true);
  REQUIRE(jobs.size() == 1);
  CHECK(jobs[0].state == "RUNNING");
  settle_job(*st, run.id, "COMPLETED");
  CHECK(cluster_jobs(*st, "sw", true).empty());
  CHECK(cluster_jobs(*st, "sw", false).size() == 1);
  CHECK(st->leases("sw").empty());
  CHECK(st->claim_run("sw", l) == run.id);
}
