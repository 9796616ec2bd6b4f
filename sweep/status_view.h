#pragma once
// What `scalelab status` shows: each sweep's status (status.h) with the SLURM
// jobs of its runs, read after copying in the cluster tasks' result shards.
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "store/cluster.h"
#include "store/store.h"
#include "sweep/status.h"

namespace scalelab::sweep {

struct SweepView {
  SweepStatus status;
  std::map<std::string, store::ClusterJob> jobs;  // run id -> its SLURM job, where it has one
};

// Syncs the sweeps' SLURM jobs (where sbatch is here), then reads their status.
std::vector<SweepView> poll(store::Store& st, const std::vector<store::Sweep>& sweeps);
bool settled(const std::vector<SweepView>& views);
// Polls every `interval_s` and hands each refresh to `show` until the sweeps
// settle or SIGINT / SIGTERM asks it to stop.
void watch(store::Store& st, const std::vector<store::Sweep>& sweeps, double interval_s,
           const std::function<void(const std::vector<SweepView>&)>& show);

// The status block (render_status), then the runs whose SLURM jobs are still
// pending or running, after a count line; `max_rows` caps each list.
std::vector<std::string> render_view(const SweepView& v, int max_rows = 20);

// `scalelab runs`: one row per run, with the final loss's standard error, and a
// ladder's parent and fork step when any run has one.
std::string render_runs(const std::vector<store::Run>& runs);

// `scalelab status --json`: an array, one object per sweep.
nlohmann::json status_json(const std::vector<SweepView>& views);

}  // namespace scalelab::sweep
