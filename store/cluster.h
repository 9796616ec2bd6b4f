#pragma once
// Cluster jobs (schema v3) and per-run result shards.
//
// A SLURM task may run on another host, and SQLite's WAL does not work across
// hosts on NFS. So a task never opens the main database: it writes its metrics,
// evals, heartbeats and final status into a result shard, a small SQLite file in
// its run directory (journal mode DELETE) that only it writes while its job
// lives. The orchestrator and `scalelab status` copy shards into the main store;
// the copy is idempotent (metrics on (run, split, step), evals on
// (run, step, task, metric)), so ingesting a shard twice changes nothing.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/store.h"

namespace scalelab::store {

struct ClusterJob {
  std::string run_id;
  std::string job_id;  // SLURM "ARRAYJOB_TASK", e.g. "1234_5"
  std::string state;   // last SLURM state seen: PENDING, RUNNING, COMPLETED, ...
  bool settled = false;  // its final state has been acted on
  std::string shard, script;
  int retries = 2;  // the retry budget the run was submitted with
  std::int64_t steps_at_submit = 0;
  std::string submitted_at, updated_at;
};

// The lease owner that marks a run as held by a cluster job.
std::string job_owner(const std::string& job_id);

// A submission sbatch has not confirmed yet (docs/cluster.md, "Submitting twice"):
// a cluster_jobs row in state SUBMITTING whose job_id holds the array's job NAME
// (scalelab:<sweep id prefix>:<token>), by which squeue finds the job if sbatch
// created it, written before sbatch runs. Its lease (owner "slurm:" + name) keeps
// the submitter's host and pid, so a restart can tell a dead submitter from a
// live one, and never expires: only confirming the job or showing that none
// exists frees the run. cluster_jobs() lists these rows too (they are unsettled).
inline constexpr const char* kSubmitting = "SUBMITTING";
// The rows of one array (job_id = its name), replacing each run's last job row;
// the runs' leases move from `claim_owner` to the submission. Throws, writing
// nothing, when a lease is no longer the claim's.
void record_submitting(Store& st, const std::vector<ClusterJob>& rows, const std::string& claim_owner);
// sbatch's answer: the run's SUBMITTING row under `job_name` becomes job
// `job_id` (state PENDING), its lease the job's, its attempts + 1. Returns false,
// changing nothing, when that row is gone (another process confirmed or cleared it).
bool confirm_submission(Store& st, const std::string& run_id, const std::string& job_name, const std::string& job_id);
// No job was ever created under `job_name`: the row and its lease go, the run is claimable.
void abandon_submission(Store& st, const std::string& run_id, const std::string& job_name);

// A new submission of a run: its job row (replacing the last one) and its lease
// handed from the submitting process (`claim_owner`) to the job, in one transaction.
void record_job(Store& st, const ClusterJob& job, const std::string& claim_owner, const std::string& log_path);
void set_job_state(Store& st, const std::string& run_id, const std::string& state);
// The job's final state was acted on: row settled, lease released.
void settle_job(Store& st, const std::string& run_id, const std::string& state);
std::vector<ClusterJob> cluster_jobs(const Store& st, const std::string& sweep_id, bool unsettled_only);

// RUNS_DIR/<run id>/result.db
std::string shard_path(const std::string& runs_dir, const std::string& run_id);
// Creates the shard with the run's row before its first submission; a shard that
// exists (an earlier attempt's) is kept, since its rows are the run's history.
// `ladder` holds the rows a ladder task reads besides its own (docs/ladders.md):
// a trunk's branches (their fork steps), or a branch's trunk; they are never ingested.
void seed_shard(const Run& run, const std::string& path, const std::vector<Run>& ladder = {});
// Copies the shard's metrics and evals into `main` and the run's progress and
// result columns (steps, tokens, rate, heartbeat, attempts, final losses, unique
// tokens, epochs). Returns the shard's run row, or nullopt when there is no shard
// yet. The run's status in `main` is left to the caller, which also knows the job's state.
std::optional<Run> ingest_shard(Store& main, const std::string& run_id, const std::string& path);

}  // namespace scalelab::store
