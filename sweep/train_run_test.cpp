#include "sweep/train_run.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "sweep/test_files.h"

using namespace scalelab;
using sweep::testing::Dir;
namespace fs = std::filesystem;

namespace {

sweep::TrainRequest request(const Dir& d) {
  sweep::TrainRequest r;
  r.config = d.write("run.toml", sweep::testing::tiny_run());
  r.db = d.db();
  return r;
}

std::string error_of(const sweep::TrainRequest& r) {
  return sweep::testing::user_error_of([&] { sweep::prepare_run(r); }, "request was accepted");
}

}  // namespace

TEST_CASE("bad train requests are refused before the database is created") {
  Dir d;
  auto r = request(d);
  r.run = "abc";
  CHECK(error_of(r) == "train: give exactly one of CONFIG or --run ID");
  r = request(d);
  r.shard = d.path("x.db");
  CHECK(error_of(r) == "train: --shard needs --run ID");
  r = request(d);
  r.device = "gpu";
  CHECK(error_of(r) == "--device: expected cpu, cuda or cuda:N, got 'gpu'");
  CHECK(!fs::exists(d.db()));
}

TEST_CASE("a new run is registered once, with its checkpoint under runs/ next to the database") {
  Dir d;
  auto p = sweep::prepare_run(request(d));
  CHECK(!p.settled);
  CHECK(p.run_dir == (fs::path(d.dir()) / "runs" / p.record.id).string());
  CHECK(p.threads >= 1);
  CHECK(p.store->run(p.record.id));
  auto again = sweep::prepare_run(request(d));
  CHECK(again.record.id == p.record.id);
  CHECK(again.store->runs().size() == 1);
}

TEST_CASE("a finished run is settled unless restarted; a foreign checkpoint is dropped") {
  Dir d;
  std::string id, ckpt;
  {
    auto p = sweep::prepare_run(request(d));
    id = p.record.id;
    ckpt = p.run_dir + "/checkpoint.pt";
    auto done = p.record;
    done.status = "done";
    p.store->mark_running(id);
    p.store->finish_run(done);
  }
  CHECK(sweep::prepare_run(request(d)).settled);
  auto r = request(d);
  r.restart = true;
  CHECK(!sweep::prepare_run(r).settled);

  // The store has no metric rows for the run, so a checkpoint is another database's.
  fs::create_directories(fs::path(ckpt).parent_path());
  std::ofstream(ckpt) << "x";
  auto p = sweep::prepare_run(request(d));
  CHECK(p.dropped_checkpoint == ckpt);
  CHECK(!fs::exists(ckpt));
}

TEST_CASE("a checkpoint of this database needs --resume or --restart") {
  Dir d;
  auto p = sweep::prepare_run(request(d));
  p.store->write_metrics({{p.record.id, 1, 1024, 1e6, "train", 5.0, 1e-3, 1.0, 0.1}});
  fs::create_directories(p.run_dir);
  std::ofstream(p.run_dir + "/checkpoint.pt") << "x";
  CHECK(error_of(request(d)).find("pass --resume to continue it or --restart to start over") != std::string::npos);
  auto r = request(d);
  r.resume = true;
  CHECK(!sweep::prepare_run(r).settled);
}

TEST_CASE("the end event carries the summary, with unknown losses as null") {
  sweep::TrainOutcome o;
  o.summary.id = "abc";
  o.result.status = "stopped";
  o.result.steps = 3;
  o.result.final_val_loss = 2.5;
  auto j = sweep::end_event(o);
  CHECK(j["event"] == "end");
  CHECK(j["run_id"] == "abc");
  CHECK(j["final_val_loss"] == 2.5);
  CHECK(j["final_train_loss"].is_null());
  CHECK(!j.contains("evals"));
}
