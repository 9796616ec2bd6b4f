#include "sweep/orchestrate.h"

#include <doctest/doctest.h>

#include <filesystem>

#include "common/error.h"
#include "sweep/test_files.h"

using namespace scalelab;
using sweep::testing::Dir;
namespace fs = std::filesystem;

namespace {

// A sweep of two runs, on one single-threaded job.
const std::string kGrid = sweep::testing::tiny_grid(
    "params = [2e4]\ntokens = [1e5, 2e5]\n[execution]\njobs = 1\nthreads_per_job = 1\n");

sweep::SweepRequest request(const Dir& d, const std::string& target) {
  sweep::SweepRequest r;
  r.target = target;
  r.db = d.db();
  return r;
}

std::string error_of(const sweep::SweepRequest& r) {
  return sweep::testing::user_error_of([&] { sweep::prepare(r, [](const std::string&) {}); }, "request was accepted");
}

}  // namespace

TEST_CASE("prepare resolves the pool and its paths and writes nothing") {
  Dir d;
  auto r = request(d, d.write("grid.toml", kGrid));
  r.retries = 0;
  std::vector<std::string> warnings;
  auto p = sweep::prepare(r, [&](const std::string& w) { warnings.push_back(w); });
  CHECK(warnings.empty());
  REQUIRE(p.plan);
  CHECK(p.plan->runs.size() == 2);
  CHECK(p.pool.jobs == 1);
  CHECK(p.pool.retries == 0);
  CHECK(p.pool.db == fs::path(d.db()).lexically_normal().string());
  CHECK(p.pool.runs_dir == (fs::path(d.dir()) / "runs").string());
  CHECK(fs::path(p.pool.exe).is_absolute());
  CHECK(!p.slurm);
  CHECK(!fs::exists(d.db()));
}

TEST_CASE("bad sweep requests are refused, with the flag that is wrong") {
  Dir d;
  auto r = request(d, d.path("missing.toml"));
  CHECK(error_of(r).find("missing.toml: no such file; expected a sweep config") != std::string::npos);
  r.target = d.write("grid.toml", kGrid);
  r.devices = "cpu,tpu";
  CHECK(error_of(r).rfind("--devices: ", 0) == 0);
  r.devices.clear();
  r.slurm = sweep::ClusterRequest{};
  r.slurm->time = "soon";
  CHECK(error_of(r).rfind("--time: expected a SLURM time limit", 0) == 0);
  CHECK(!fs::exists(d.db()));
}

TEST_CASE("oversubscription is a warning, heard before a later check fails") {
  Dir d;
  auto r = request(d, d.path("missing.toml"));
  r.jobs = 64;
  r.threads = 64;
  std::vector<std::string> warnings;
  CHECK_THROWS_AS(sweep::prepare(r, [&](const std::string& w) { warnings.push_back(w); }), UserError);
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].find("oversubscribe") != std::string::npos);
}

TEST_CASE("launching a registered sweep's name that is not there registers nothing") {
  Dir d;
  auto p = sweep::prepare(request(d, "nope"), [](const std::string&) {});
  sweep::LaunchHooks h{[](const std::string&) {}, [](const sweep::Registered&) { FAIL("registered"); },
                       [](const std::string&) {}};
  CHECK_THROWS_WITH_AS(sweep::launch(p, h), doctest::Contains("nope: no such file, and no sweep 'nope' in"), UserError);
}
