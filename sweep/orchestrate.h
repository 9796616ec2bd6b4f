#pragma once
// `scalelab sweep`: a sweep config (or a registered sweep's name) in, its runs
// trained on the local pool (launch.h) or on SLURM (slurm.h), an outcome out.
// prepare() validates everything before the store is opened, so bad input
// registers nothing; launch() registers the sweep and trains.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "store/store.h"
#include "sweep/launch.h"
#include "sweep/plan.h"
#include "sweep/plan_view.h"
#include "sweep/slurm.h"
#include "sweep/status.h"
#include "sweep/sweep_config.h"

namespace scalelab::sweep {

// --backend slurm's settings (docs/cluster.md).
struct ClusterRequest {
  std::string partition, time;
  std::vector<std::string> sbatch_args;
  int gpus_per_run = 0, max_parallel = 0;
  long signal_before_s = 0;
  bool wait = true;
};

struct SweepRequest {
  std::string target;  // a sweep config (TOML), or the name or id of a registered sweep
  std::string db;
  std::string runs_dir;  // "": the config's, else runs/ next to the database
  std::string devices;   // "cpu" or "cuda:0,cuda:1"; "": the config's
  int jobs = 0, threads = 0, runs_per_device = 0, retries = -1;  // 0 (retries -1): the config's
  double peak_tflops = 0, gpu_memory_fraction = 0;  // 0: the config's
  bool cuda_graphs = false;                         // or the config's
  bool quiet = false;  // only failure events reach LaunchHooks::event
  bool tty = false;    // local: redraw a status block in place
  std::optional<ClusterRequest> slurm;  // unset: the local pool
};

struct PreparedSweep {
  SweepRequest request;
  std::optional<SweepConfig> config;  // when the target is a file
  std::optional<Plan> plan;
  PoolOptions pool;                      // resolved; db, runs_dir and exe absolute
  std::optional<slurm::Options> slurm;  // with --backend slurm
};

// `warn` hears each warning (e.g. an oversubscribed CPU) as it is found, before
// any later check fails.
PreparedSweep prepare(const SweepRequest& r, const Say& warn);

struct Registered {
  std::string name, id;
  std::optional<Submission> submission;  // when the target was a config
};

struct LaunchHooks {
  Say note;                                           // stderr: calibration, plan notes
  std::function<void(const Registered&)> registered;  // before the first run starts
  Say event;  // run and job events; on a TTY also the redrawn status block
};

struct Outcome {
  store::Sweep sweep;
  SweepStatus status;  // when it returned
  bool waited = true;  // false: submitted to SLURM without waiting
  bool interrupted = false;
  bool resource = false;   // out of disk: the pool stopped starting runs
  int held_elsewhere = 0;  // runs another orchestrator is training
  int exit_code = 0;       // 130 interrupted, 4 out of disk, 1 a run failed, else 0
};

Outcome launch(const PreparedSweep& p, const LaunchHooks& hooks);

}  // namespace scalelab::sweep
