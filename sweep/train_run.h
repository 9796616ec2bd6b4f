#pragma once
// `scalelab train`: one run, validated and registered in the store, trained, and
// its summary recorded. Checkpoints live in RUNS_DIR/<run id>/checkpoint.pt.
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "store/store.h"
#include "sweep/gpu.h"
#include "sweep/run_config.h"
#include "trainer/trainer.h"

namespace scalelab::sweep {

struct TrainRequest {
  std::string config;  // a run config (TOML), or
  std::string run;     // the id or unique prefix of a registered run
  std::string db, runs_dir;  // runs_dir "": runs/ next to the database
  std::string shard;   // with `run`: read and write this result shard instead of the database
  std::string device = "cpu";
  int threads = 0;  // 0: every core
  bool resume = false, restart = false;
  std::int64_t stop_after = -1;
  trainer::Progress progress = trainer::Progress::Line;
  std::optional<double> peak_tflops;  // the MFU's peak; unset: the GPU table's (CPU: none, no MFU)
  double gpu_memory_fraction = 0;     // CUDA: this process's share of the GPU's memory; 0: no cap
  bool cuda_graphs = false;           // CUDA: replay each optimizer step as one CUDA graph
};

// A run ready to train: validated, registered, its checkpoint sorted out.
struct PreparedRun {
  std::unique_ptr<store::Store> store;
  RunConfig config;
  store::Run record;
  std::string run_dir;
  int threads = 1;
  std::string dropped_checkpoint;  // removed: written for another database, so the run starts over
  bool settled = false;            // already done or diverged (no --restart): nothing to train
  Peak peak;                       // what the run's MFU is measured against on r.device
};

// A ladder branch's history before its fork is its trunk's: copies the trunk's rows
// up to the fork (those the branch's own logging schedule would have written at
// the fork step included) into the branch. Idempotent; returns the rows written.
int inherit_trunk_rows(store::Store& st, const store::Run& branch, const trainer::RunSpec& spec);

// Checks everything before the store is written, so bad input registers nothing;
// throws UserError naming what to fix. `gpus` is what the driver reports
// (detect_gpus(); a parameter so tests can stand in for a GPU).
PreparedRun prepare_run(const TrainRequest& r, const std::vector<GpuInfo>& gpus);
PreparedRun prepare_run(const TrainRequest& r);  // asks the driver on a CUDA device

struct TrainOutcome {
  store::Run summary;  // as recorded in the store
  trainer::TrainResult result;
  int exit_code = 0;   // kExitDiverged for a diverged run
};

// Installs the SIGINT, SIGTERM and SIGUSR1 handlers that ask a run to checkpoint
// and stop; returns the flag they set, for train_run.
const std::atomic<bool>& stop_on_signals();

// Trains until done, diverged, `stop` or --stop-after. A failure after
// registration is recorded in the store before it propagates.
TrainOutcome train_run(PreparedRun& p, const TrainRequest& r, const std::atomic<bool>* stop);

// The `--json` line that ends a run: {"event": "end", ...}.
nlohmann::json end_event(const TrainOutcome& o);

// What `train` prints when a run ends: the summary line, its error, and one line
// per task with the final metrics people read first (every metric is in the evals table).
std::vector<std::string> render_outcome(const TrainOutcome& o);

}  // namespace scalelab::sweep
