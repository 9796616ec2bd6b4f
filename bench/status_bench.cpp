// `scalelab status` on a big database: 1,000 runs in one sweep and 1,000,000
// metric rows, 16 runs running. Target: under 200 ms.
//   status_bench [DB]   (the database is kept, so `time scalelab status --db DB` can be run on it too)
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <vector>

#include "common/hash.h"
#include "store/store.h"
#include "sweep/status.h"

using namespace scalelab;
namespace fs = std::filesystem;

namespace {

constexpr int kRuns = 1000, kRowsPerRun = 1000, kRunning = 16;

double ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

store::Run make_run(int i) {
  store::Run r;
  r.id = r.config_hash = hex64(fnv1a64(fmt::format("status-bench-run-{}", i)));
  r.name = fmt::format("bench/run{:04}", i);
  r.config_toml = fmt::format("[model]\nn_layer = {}\n", 1 + i % 12);
  r.shape = "L4-D128-H4-T128";
  r.n_layer = 4;
  r.d_model = 128;
  r.n_head = 4;
  r.seq_len = 128;
  r.vocab = 256;
  r.params_total = 842496;
  r.params_non_embedding = 790016;
  r.flops_per_token = 5.1e6;
  r.flop_convention = "6N+attn/non_embedding";
  r.planned_tokens = 4096.0 * kRowsPerRun * (i < kRunning ? 2 : 1);
  return r;
}

void build(const std::string& path) {
  auto t0 = std::chrono::steady_clock::now();
  auto st = store::Store::open(path);
  std::vector<store::Run> runs;
  for (int i = 0; i < kRuns; ++i) runs.push_back(make_run(i));
  st->register_sweep({"5747a7b5be4c0000", "bench", "[axes]\n", ""}, runs);
  std::vector<store::Metric> batch;
  for (int i = 0; i < kRuns; ++i) {
    const bool running = i < kRunning;
    const int rows = kRowsPerRun;  // a running run is half way through its D
    for (int step = 1; step <= rows; ++step) {
      store::Metric m;
      m.run_id = runs[i].id;
      m.split = step % 50 == 0 ? "val" : "train";
      m.step = step;
      m.tokens = 4096.0 * step;
      m.flops = m.tokens * 5.1e6;
      m.loss = 3.0 / (1.0 + 0.001 * step);
      m.lr = 1e-3;
      m.wall_s = 0.1 * step;
      batch.push_back(m);
    }
    if (running) {
      st->mark_running(runs[i].id);
      st->heartbeat(runs[i].id, rows, 4096.0 * rows, 2e4);
    } else if (i < 900) {
      st->mark_running(runs[i].id);
      auto r = runs[i];
      r.status = i % 97 == 0 ? "failed" : "done";
      r.error = r.status == "failed" ? "killed by SIGKILL near step 400" : "";
      r.steps_done = kRowsPerRun;
      r.tokens_done = r.planned_tokens;
      r.final_val_loss = 2.0 + 0.001 * i;
      r.final_train_loss = 2.1;
      st->finish_run(r);
    }
    if (batch.size() >= 50000) {
      st->write_metrics(batch);
      batch.clear();
    }
  }
  st->write_metrics(batch);
  fmt::print("built {}: {} runs, {} metric rows in {:.1f} s\n", path, kRuns, st->metric_count(),
             ms_since(t0) / 1000);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : (fs::temp_directory_path() / "scalelab-status-bench.db").string();
  {
    bool ready = false;
    if (fs::exists(path)) {
      auto st = store::Store::open(path);
      ready = st->sweep("bench") && st->metric_count() == static_cast<std::int64_t>(kRuns) * kRowsPerRun;
    }
    if (!ready) {
      for (auto ext : {"", "-wal", "-shm"}) fs::remove(path + ext);
      build(path);
    }
  }
  constexpr int kRounds = 20;
  std::vector<double> open_ms, status_ms;
  std::size_t lines = 0;
  for (int i = 0; i < kRounds; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    auto st = store::Store::open(path);
    auto sw = st->sweep("bench");
    open_ms.push_back(ms_since(t0));
    auto t1 = std::chrono::steady_clock::now();
    auto s = sweep::sweep_status(*st, *sw);
    lines = sweep::render_status(s).size();
    status_ms.push_back(ms_since(t1));
    if (s.total != kRuns || s.running != kRunning) {
      fmt::print(stderr, "unexpected status: {} runs, {} running\n", s.total, s.running);
      return 1;
    }
  }
  std::sort(open_ms.begin(), open_ms.end());
  std::sort(status_ms.begin(), status_ms.end());
  fmt::print("status_bench: {} runs, {} running, {} metric rows; {} rounds (median / max)\n", kRuns, kRunning,
             kRuns * kRowsPerRun, kRounds);
  fmt::print("  open the store + find the sweep   {:6.2f} / {:6.2f} ms\n", open_ms[kRounds / 2], open_ms.back());
  fmt::print("  sweep_status + render ({} lines)  {:6.2f} / {:6.2f} ms\n", lines, status_ms[kRounds / 2],
             status_ms.back());
  const double total = open_ms[kRounds / 2] + status_ms[kRounds / 2];
  fmt::print("STATUS {:.1f} ms (target < 200 ms): {}\n", total, total < 200 ? "ok" : "SLOW");
  fmt::print("end to end: time scalelab status bench --db {}\n", path);
  return 0;
}
