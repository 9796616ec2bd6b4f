// Orchestration overhead: reading, planning and registering a 1,000-run sweep
// (10 sizes x 10 token budgets x 10 learning rates), then claiming every run.
// Target: planning + registration under 1 s.
//   plan_bench [WORKDIR]
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <vector>

#include "sweep/launch.h"
#include "sweep/plan.h"
#include "sweep/sweep_config.h"

using namespace scalelab;
namespace fs = std::filesystem;

namespace {

double ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

int main(int argc, char** argv) {
  fs::path dir = argc > 1 ? fs::path(argv[1]) : fs::temp_directory_path() / "scalelab-plan-bench";
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "corpus.txt") << "In the beginning God created the heaven and the earth.\n";
  const auto config = (dir / "grid.toml").string();
  std::ofstream(config) << fmt::format(R"(name = "bench"
[data]
path = "{}"
[model]
seq_len = 128
head_dim = 16
aspect_ratio = 8
[train]
batch_tokens = 4096
[axes]
params = {{min = 1e5, max = 3e7, points = 10}}
tokens = {{min = 1e7, max = 1e9, points = 10}}
lr = {{min = 3e-4, max = 3e-3, points = 10}}
)",
                                       (dir / "corpus.txt").string());
  constexpr int kRounds = 5;
  std::vector<double> plan_ms, submit_ms, resubmit_ms, claim_ms;
  std::size_t runs = 0;
  for (int round = 0; round < kRounds; ++round) {
    fs::remove(dir / "bench.db");
    fs::remove(dir / "bench.db-wal");
    fs::remove(dir / "bench.db-shm");
    auto t0 = std::chrono::steady_clock::now();
    auto sc = sweep::load_sweep_config(config);
    auto plan = sweep::make_plan(sc);
    plan_ms.push_back(ms_since(t0));
    runs = plan.runs.size();
    auto st = store::Store::open((dir / "bench.db").string());
    auto t1 = std::chrono::steady_clock::now();
    auto sub = sweep::submit(*st, sc, plan);
    submit_ms.push_back(ms_since(t1));
    auto t2 = std::chrono::steady_clock::now();
    sweep::submit(*st, sc, sweep::make_plan(sweep::load_sweep_config(config)));
    resubmit_ms.push_back(ms_since(t2));
    store::Lease lease;
    lease.owner = sweep::lease_owner();
    lease.host = "bench";
    lease.pid = getpid();
    lease.expires_at = 1e12;
    auto t3 = std::chrono::steady_clock::now();
    int claimed = 0;
    while (st->claim_run(sub.sweep_id, lease)) ++claimed;
    claim_ms.push_back(ms_since(t3));
    if (claimed != static_cast<int>(runs)) {
      fmt::print(stderr, "claimed {} of {} runs\n", claimed, runs);
      return 1;
    }
  }
  auto best = [](std::vector<double> v) { return *std::min_element(v.begin(), v.end()); };
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  fmt::print("plan_bench: a {}-run grid sweep, {} rounds (median / best)\n", runs, kRounds);
  fmt::print("  read + plan (resolve, hash, validate every run)  {:7.1f} / {:7.1f} ms\n", median(plan_ms), best(plan_ms));
  fmt::print("  register (sweep, runs, membership: 1 txn)        {:7.1f} / {:7.1f} ms\n", median(submit_ms),
             best(submit_ms));
  fmt::print("  resubmit (read + plan + register, nothing new)   {:7.1f} / {:7.1f} ms\n", median(resubmit_ms),
             best(resubmit_ms));
  fmt::print("  claim every run, one transaction each            {:7.1f} / {:7.1f} ms ({:.3f} ms per claim)\n",
             median(claim_ms), best(claim_ms), median(claim_ms) / static_cast<double>(runs));
  const double total = median(plan_ms) + median(submit_ms);
  fmt::print("PLAN+REGISTER {:.1f} ms for {} runs (target < 1000 ms): {}\n", total, runs, total < 1000 ? "ok" : "SLOW");
  fs::remove_all(dir);
  return 0;
}
