#include "sweep/launch.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <fstream>

#include "sweep/calibrate.h"
#include "sweep/test_files.h"

using namespace scalelab;
using sweep::testing::Dir;

namespace {

const std::string kGrid = sweep::testing::tiny_grid("params = [2e4, 1e5]\ntokens = [1e5, 2e5]\n");

}  // namespace

TEST_CASE("submitting a sweep twice adds nothing; an edit adds only its new runs") {
  Dir d;
  auto st = d.open_store();
  auto path = d.write("grid.toml", kGrid);
  auto sc = sweep::load_sweep_config(path);
  auto plan = sweep::make_plan(sc);
  auto first = sweep::submit(*st, sc, plan);
  CHECK(first.runs == 4);
  CHECK(first.new_runs == 4);
  auto again = sweep::submit(*st, sc, sweep::make_plan(sweep::load_sweep_config(path)));
  CHECK(again.sweep_id == first.sweep_id);
  CHECK(again.new_runs == 0);
  CHECK(st->runs().size() == 4);
  CHECK(st->sweeps().size() == 1);
  // A finished run is never handed out again, even after an edit.
  auto done_id = plan.runs[0].record.id;
  st->mark_running(done_id);
  auto r = *st->run(done_id);
  r.status = "done";
  st->finish_run(r);
  std::string edited = kGrid;
  edited.replace(edited.find("[1e5, 2e5]"), 10, "[1e5, 2e5, 4e5]");
  auto sc2 = sweep::load_sweep_config(d.write("grid.toml", edited));
  auto sub = sweep::submit(*st, sc2, sweep::make_plan(sc2));
  CHECK(sub.runs == 6);
  CHECK(sub.new_runs == 2);
  CHECK(sub.finished == 1);
  CHECK(st->sweep(first.sweep_id)->config_toml.find("400000") != std::string::npos);  // the stored config follows edits
  store::Lease l;
  l.owner = "test:1";
  l.host = "test";
  l.pid = 1;
  l.expires_at = 1e12;
  int claimed = 0;
  while (auto id = st->claim_run(first.sweep_id, l)) {
    CHECK(*id != done_id);
    ++claimed;
  }
  CHECK(claimed == 5);
}

TEST_CASE("pool sizing from devices and cores") {
  sweep::PoolOptions cpu;
  CHECK(sweep::resolve_pool(cpu, 8).empty());
  CHECK(cpu.jobs == 8);
  CHECK(cpu.threads_per_job == 1);
  sweep::PoolOptions two;
  two.threads_per_job = 2;
  sweep::resolve_pool(two, 8);
  CHECK(two.jobs == 4);
  sweep::PoolOptions over;
  over.jobs = 4;
  over.threads_per_job = 2;
  CHECK(sweep::resolve_pool(over, 2).size() == 1);  // warns about oversubscription
  sweep::PoolOptions gpus;
  gpus.devices = {"cuda:0", "cuda:1"};
  gpus.runs_per_device = 2;
  sweep::resolve_pool(gpus, 16);
  CHECK(gpus.jobs == 4);
  CHECK(gpus.threads_per_job == 4);
  gpus.jobs = 9;
  sweep::resolve_pool(gpus, 16);
  CHECK(gpus.jobs == 4);  // capped by devices x runs per device
}

TEST_CASE("worker bookkeeping helpers") {
  CHECK(sweep::pid_alive(getpid()));
  CHECK(!sweep::pid_alive(0));
  CHECK(sweep::lease_owner() == sweep::host_name() + ":" + std::to_string(getpid()));
  Dir d;
  std::ofstream(d.path("w.log")) << "=== header\nstep 1/10 | loss 5\nscalelab: error: no such file x\n\n";
  CHECK(sweep::last_error_line(d.path("w.log")) == "scalelab: error: no such file x");
  std::ofstream(d.path("v.log")) << "step 1/10\nSegmentation fault\n";
  CHECK(sweep::last_error_line(d.path("v.log")) == "Segmentation fault");
  CHECK(sweep::last_error_line(d.path("none.log")).empty());
}
