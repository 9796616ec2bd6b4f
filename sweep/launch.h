#pragma once
// The local backend: registers a sweep and trains its pending runs in a pool of
// `scalelab train --run ID` worker processes that all write to one database.
//
// The orchestrator holds a lease on every run it hands out and renews it; a run
// whose lease lapsed, or whose orchestrator and worker are both gone from this
// host, is taken over and resumed from its checkpoint. Workers die with their
// orchestrator (PR_SET_PDEATHSIG -> SIGTERM -> checkpoint), so killing it never
// leaves a run training unattended. docs/sweeps.md describes the life cycle.
#include <functional>
#include <string>
#include <vector>

#include "store/store.h"
#include "sweep/plan.h"
#include "sweep/sweep_config.h"

namespace scalelab::sweep {

struct Submission {
  std::string sweep_id;
  int runs = 0;      // in the plan
  int new_runs = 0;  // not in the store before
  int finished = 0;  // already done, diverged or failed: never trained again
};

// The sweep row, every planned run and the sweep's membership, in one
// transaction. Submitting the same plan twice adds nothing.
Submission submit(store::Store& st, const SweepConfig& sc, const Plan& plan);

struct PoolOptions {
  std::string db;        // as workers open it (absolute)
  std::string runs_dir;  // checkpoints and worker logs: RUNS_DIR/<run id>/{checkpoint.pt,worker.log}
  std::string exe;       // the scalelab binary workers run
  int jobs = 0;
  int threads_per_job = 0;
  std::vector<std::string> devices{"cpu"};
  int runs_per_device = 0;
  int retries = 2;
  double lease_ttl_s = 60;
  double peak_tflops = 0;          // > 0: every worker's --peak-tflops
  double gpu_memory_fraction = 0;  // CUDA: each worker's share of its GPU (resolve_pool: 1 / runs_per_device)
  bool cuda_graphs = false;
  bool tty = false;               // redraw a status block in place
  double progress_every_s = 30;   // otherwise, a status line this often
};

// Fills the zeros: CPU jobs = cores / threads_per_job, CUDA one run per device;
// threads per job = cores / jobs; on CUDA with runs packed onto a device, each
// worker's memory share. Returns warnings (e.g. oversubscription).
std::vector<std::string> resolve_pool(PoolOptions& o, unsigned cores);

struct PoolResult {
  int started = 0, done = 0, failed = 0, diverged = 0, cancelled = 0, retried = 0;
  bool interrupted = false;  // SIGINT/SIGTERM: workers were stopped at a checkpoint
  bool resource = false;     // a worker ran out of disk (exit 4): nothing more was started
  int held_elsewhere = 0;    // runs another live orchestrator is training
};

// Trains the sweep's pending runs until none is left or a signal stops it.
// `out` receives event lines and, on a TTY, the redrawn status block.
PoolResult run_pool(store::Store& st, const std::string& sweep_id, const PoolOptions& o,
                    const std::function<void(const std::string&)>& out);

// The `scalelab train` flags that carry MFU's peak, the memory share and CUDA
// graphs to a worker (none when unset).
std::vector<std::string> worker_flags(const PoolOptions& o);

// "host:pid" of this process: the lease owner.
std::string lease_owner();

// Whether a process on this host is alive (a pid of another user counts).
bool pid_alive(long pid);

// The last "scalelab: ..." error line of a worker log, or its last line.
std::string last_error_line(const std::string& log_path);

}  // namespace scalelab::sweep
