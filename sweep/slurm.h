#pragma once
// The SLURM backend: a sweep's unfinished runs go out as job arrays through
// sbatch; every array task runs `scalelab train --run ID --shard ...` and writes
// only its run's result shard (store/cluster.h). The orchestrator tracks the
// jobs with squeue / scontrol (sacct when accounting exists), copies shards into
// the store, and settles finished jobs under the local backend's failure
// classes. docs/cluster.md describes the design.
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/store.h"

namespace scalelab::sweep::slurm {

// --- pure helpers (unit-tested in slurm_test.cpp)

// One shell word that bash reads back as exactly `s`: 'it'\''s'.
std::string shell_quote(std::string_view s);
// MaxArraySize from `scontrol show config`; nullopt when the line is missing.
std::optional<int> parse_max_array_size(const std::string& config);
// Splits n tasks into [begin, end) index ranges of at most `max_array_size`
// tasks each (array indices must stay below MaxArraySize).
std::vector<std::pair<int, int>> array_chunks(int n, int max_array_size);
// A state SLURM may still change (PENDING, RUNNING, REQUEUED, ...) or a final one.
bool is_active_state(std::string_view state);
// `squeue -h -r -t all -o '%i|%T'` lines -> job id ("1234_5") -> state.
std::map<std::string, std::string> parse_squeue(const std::string& out);
struct JobInfo {
  std::string state;
  int exit_code = -1;  // -1: unknown
  int signal = 0;
};
// `scontrol -o show job ID` (one line per job) or `sacct -n -P -X -o JobID,State,ExitCode`.
std::optional<JobInfo> parse_scontrol_job(const std::string& out);
std::optional<JobInfo> parse_sacct(const std::string& out, const std::string& job_id);
// "HH:MM:SS", "MM:SS", "D-HH:MM:SS" or minutes -> seconds; -1 when malformed.
long parse_time_limit(const std::string& t);

// Finding a submission again (docs/cluster.md, "Never twice"): every sbatch call
// gets a name of its own, "scalelab:<sweep id[0:8]>:<token>", recorded before
// sbatch runs, so a restart finds the array by name even if its id was never stored.
std::string job_name(const std::string& sweep_id, const std::string& token);
std::string new_token();  // 12 random hex digits
// Array job ids in `squeue -o '%i|%T'` or `sacct -P -o JobID,State` output: "41_0|RUNNING" -> "41".
std::set<std::string> array_ids(const std::string& out);
// The job id ("41_2") in the newest task header of a worker log that names the job `name`.
std::optional<std::string> job_in_log(const std::string& log, const std::string& name);
// The 0-based line of `run_id` in a run list (the array task that trains it); -1 when absent.
int task_index(const std::string& list, const std::string& run_id);
// What to do with an unconfirmed submission: record the array found, clear the
// intent (the queue answered, nothing has the name, the submitter is gone), or hold.
enum class Verdict { record, clear, hold };
Verdict reconcile_verdict(bool queue_answered, std::size_t arrays_found, bool submitter_gone);

struct Options {
  std::string db;        // absolute; only the orchestrator opens it
  std::string runs_dir;  // absolute; must be on a filesystem every node mounts
  std::string exe;       // the scalelab binary the tasks run (same path on every node)
  std::string partition, time;
  std::vector<std::string> sbatch_args;  // passed through as given
  int gpus_per_run = 0;
  int threads = 1;
  int max_parallel = 0;  // 0: no %N throttle
  int retries = 2;
  long signal_before_s = 0;  // 0: 300 s, at most half the time limit
  bool wait = true;
  double poll_s = 2;
  std::vector<std::string> worker_flags;  // appended to each task's `scalelab train` (--peak-tflops, ...)
};

struct ScriptSpec {
  std::string sweep_name, sweep_id, list_path, runs_dir, exe, device;
  int threads = 1;
  std::string submit_line;  // the sbatch command, for readers
  std::vector<std::string> worker_flags;
};
std::string render_script(const ScriptSpec& s);

// --- against the cluster

// Whether sbatch is on PATH.
bool available();

using Out = std::function<void(const std::string&)>;

struct SyncResult {
  int active = 0;  // jobs still pending or running
  int settled = 0, done = 0, failed = 0, retried = 0, diverged = 0, cancelled = 0, requeued = 0;
};
// Queries the sweep's unsettled jobs, ingests their shards, and settles the
// finished ones. Idempotent; `status` calls it too.
SyncResult sync(store::Store& st, const std::string& sweep_id, const Out& out);

struct SubmitResult {
  int runs = 0;
  std::vector<std::string> array_jobs;
  std::string dir;
};
// Settles every submission whose job id was never recorded (the orchestrator died
// between sbatch and the store): records the job found under its name, or frees
// the runs when there provably is none. Returns the runs still held.
int reconcile(store::Store& st, const std::string& sweep_id, const Out& out);

// Submits every unleased pending or stopped member, as job arrays.
SubmitResult submit(store::Store& st, const store::Sweep& sweep, const Options& o, const Out& out);

struct WatchResult {
  int failed = 0;
  bool interrupted = false;
};
// Submits, then (with o.wait) syncs and resubmits retried runs until the sweep settles.
WatchResult run(store::Store& st, const store::Sweep& sweep, const Options& o, const Out& out);

// scancel for the sweep's live jobs; their runs become cancelled. Returns how many jobs.
int cancel(store::Store& st, const std::string& sweep_id);

}  // namespace scalelab::sweep::slurm
