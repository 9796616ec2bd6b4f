#pragma once
// The SQLite store: the one place every run, metric, eval and fit lives.
//
// Many processes (sweep workers, the orchestrator, `status`) open the same file
// at once. The store uses WAL, a busy timeout, BEGIN IMMEDIATE for every write
// transaction and a bounded retry on SQLITE_BUSY, so "database is locked" never
// reaches a user. The schema is versioned by PRAGMA user_version (docs/schema.md).
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

struct sqlite3;

namespace scalelab::store {

struct Sweep {
  std::string id;           // hash of the sweep config's name + path
  std::string name;
  std::string config_toml;  // the sweep config as submitted
  std::string created_at;   // ISO-8601 UTC
};

// Run lifecycle: pending -> running -> done | diverged | failed | cancelled, or
// stopped (checkpointed on a signal or --stop-after; resumable).
struct Run {
  std::string id;  // = config_hash; identity of the fully resolved config
  std::string sweep_id;  // empty for a stand-alone `scalelab train`
  std::string name;
  std::string config_toml;  // resolved config, canonical TOML
  std::string config_hash;
  std::string shape;  // e.g. "L4-D128-H4-T128"
  int n_layer = 0, d_model = 0, n_head = 0, seq_len = 0, vocab = 0;
  std::int64_t params_total = 0, params_non_embedding = 0;
  double flops_per_token = 0;
  std::string flop_convention;  // e.g. "6N+attn"
  double planned_tokens = 0;
  std::string status = "pending";
  int attempts = 0;
  std::string created_at, started_at, finished_at, heartbeat_at;
  std::string error;
  // Filled as the run progresses / when it ends.
  std::int64_t steps_done = 0;
  double tokens_done = 0;
  std::optional<double> final_train_loss, final_val_loss;
  double tokens_per_s = 0;
  double wall_s = 0;
  // Schema v4, for the data-constrained law; unset where unknown (and in older rows).
  std::optional<double> unique_tokens;      // distinct tokens in the run's training split
  std::optional<double> epochs;             // tokens_done / unique_tokens
  std::optional<double> final_val_loss_se;  // standard error of final_val_loss over its held-out sequences
  // Schema v5, for WSD cooldown ladders: a branch forks from its trunk's
  // checkpoint at fork_step and cools down. Both unset for an ordinary run, both
  // set for a branch (a CHECK enforces it, fork_step >= 1).
  std::string parent_id;                  // the trunk's run id
  std::optional<std::int64_t> fork_step;  // the trunk's step the branch resumed from
  // Schema v6: where the run last trained ("cpu", or the GPU's name as the driver
  // reports it) and the peak its MFU is measured against; mfu = tokens_per_s x
  // flops_per_token / (peak_tflops x 1e12), unset without a peak (docs/sweeps.md).
  std::string accelerator;
  std::optional<double> peak_tflops, mfu;
  // Schema v7: the tokenizer of the run's data ("bytes" for text data, else
  // "<kind>:<16 hex of its model's sha256>"; "" where unknown) and the bytes per
  // token of its validation and training splits; see loss_bpb.
  std::string tokenizer;
  std::optional<double> bytes_per_token, train_bytes_per_token;
};

// Bits per byte of a loss in nats per token, given the bytes per token of the
// split it was measured on (Run::bytes_per_token for validation losses,
// train_bytes_per_token for training ones): nullopt when either is unknown. The
// store's one conversion (trainer/bpb.h has the formula); bpb is not stored, so
// it follows the run's bytes per token wherever a loss is shown (docs/schema.md).
std::optional<double> loss_bpb(std::optional<double> nats_per_token, std::optional<double> bytes_per_token);

// Which of the trunk's rows at exactly the fork step a branch inherits
// (copy_trunk_rows). A run trained on its own from step 0 logs step s only if s
// is one of its logging steps, but the trunk may have logged s only because it
// checkpointed or stopped there; copying such a row would give the branch a
// point an independent run would not have. The caller knows the logging
// schedule, so it says.
struct RowsAtFork {
  bool train = false, val = false, evals = false;
};

struct Metric {
  std::string run_id;
  std::int64_t step = 0;
  double tokens = 0, flops = 0;
  std::string split;  // "train" | "val"
  double loss = 0, lr = 0, grad_norm = 0, wall_s = 0;
};

// A run's loss curve as a figure draws it: the rows of one split that have
// tokens > 0 and a finite loss, in step order.
struct Curve {
  std::string run_id;
  std::vector<double> tokens, flops, loss;
  std::int64_t rows_read = 0;  // every row of the split, drawable or not
};

// Thinning a curve for drawing (docs/reports.md): `bins` log-spaced bins in
// tokens, from the curve's first drawable row to the run's budget (the larger of
// tokens done and planned, so a run still training is not stretched over the
// axis), each drawn at its middle row; with `mean`, at the bin's mean loss,
// because a training row is one noisy batch. The last row is always kept
// exactly. bins = 0 keeps every row.
struct Downsample {
  int bins = 0;
  bool mean = false;
};

struct Eval {
  std::string run_id;
  std::int64_t step = 0;
  std::string task, metric;
  double value = 0;
  std::int64_t n = 0;  // sample count, so intervals are honest
};

struct Fit {
  std::int64_t id = 0;
  std::string created_at;
  std::string source;     // sweep id, or "csv:PATH"
  std::string law;        // chinchilla | kaplan | power | ...
  std::string approach;   // "1" | "2" | "3" | ...
  std::string selection;  // JSON: which points went in
  std::string conventions;  // JSON: flop and param conventions
  std::string params;     // JSON: {name: {value, lo, hi}}
  double objective = 0;
  std::int64_t n_points = 0;
  std::string convergence;  // JSON: starts, converged, boundary, iterations
  std::string result;       // JSON: everything else the fit reports
};

// Sweep execution state (schema v2; docs/schema.md, docs/sweeps.md).
//
// A lease says which orchestrator process hands a run to a worker. Claiming is
// one BEGIN IMMEDIATE transaction, so two orchestrators on one database never
// train the same run; the owner renews the lease while the worker lives.
struct Lease {
  std::string run_id;
  std::string owner;  // "host:pid" of the orchestrator
  std::string host;
  std::int64_t pid = 0;         // the orchestrator
  std::int64_t worker_pid = 0;  // 0 until the worker is started
  double expires_at = 0;        // Unix seconds
};

// A sweep member as `status` and the orchestrator see it: summary columns only.
struct SweepRun {
  std::string id, name, shape, status, error, log_path;
  int position = 0, attempts = 0, failures = 0;
  bool cancel_requested = false;
  std::int64_t params_total = 0, params_non_embedding = 0, steps_done = 0;
  double flops_per_token = 0, planned_tokens = 0, tokens_done = 0, tokens_per_s = 0, wall_s = 0;
  std::optional<double> final_train_loss, final_val_loss;
  std::string heartbeat_at, started_at, finished_at;
  std::optional<Lease> lease;
  // A ladder branch: its fork step and config (to tell its own tokens from the trunk's).
  std::optional<std::int64_t> fork_step;
  std::string branch_config_toml;
  std::string accelerator;  // schema v6, as in Run
  std::optional<double> peak_tflops, mfu;
  std::string tokenizer;  // schema v7, as in Run
  std::optional<double> bytes_per_token, train_bytes_per_token;
};

struct CancelResult {
  int cancelled = 0;        // pending or stopped runs, now cancelled
  int requested = 0;        // running or leased runs asked to stop
  std::vector<Lease> live;  // the leases of those runs, to signal their workers
};

class Store {
 public:
  // Opens or creates the database, applies pending migrations. Throws
  // UserError naming the path when it cannot be opened. Journal::Delete is for
  // result shards (store/cluster.h): files on a shared filesystem, where WAL's
  // shared-memory index does not work across hosts.
  enum class Journal { Wal, Delete };
  static std::unique_ptr<Store> open(const std::string& path, Journal journal = Journal::Wal);
  // For commands that only read: a missing path is a typo to report ("PATH: no
  // such database" + hint), not an empty database to create.
  static std::unique_ptr<Store> open_existing(const std::string& path, const std::string& hint = "");
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  int schema_version() const;
  const std::string& path() const { return path_; }

  // --- sweeps
  bool add_sweep(const Sweep& s);  // false if it already existed (unchanged)
  std::optional<Sweep> sweep(const std::string& id_or_name) const;
  std::vector<Sweep> sweeps() const;

  // --- runs
  // Inserts the run if its id is new; returns false (and changes nothing) if it exists.
  bool add_run(const Run& r);
  // Inserts all new runs in one transaction; returns how many were new.
  int add_runs(const std::vector<Run>& rs);
  std::optional<Run> run(const std::string& id_or_prefix) const;  // unique prefix ok
  std::vector<Run> runs(const std::string& sweep_id = "") const;  // "" = all
  // pending|failed|... -> running, attempts+1, started_at/heartbeat_at = now.
  void mark_running(const std::string& id);
  void heartbeat(const std::string& id, std::int64_t steps_done, double tokens_done,
                 double tokens_per_s);
  // Where this attempt trains and the peak its MFU is measured against (nullopt:
  // none known, so no MFU). heartbeat and finish_run then keep mfu current.
  void set_accelerator(const std::string& id, const std::string& accelerator, std::optional<double> peak_tflops);
  // The tokenizer and bytes per token of the data the run trains on now (a run
  // registered before schema v7 gets them when it next starts).
  void set_tokenization(const Run& r);
  // Terminal or resting state with the run's summary; error may be empty.
  void finish_run(const Run& summary);  // writes status, error, steps/tokens/losses, finished_at
  void set_status(const std::string& id, const std::string& status, const std::string& error = "");

  // --- metrics: idempotent on (run, split, step); one transaction per call.
  void write_metrics(const std::vector<Metric>& ms);
  std::vector<Metric> metrics(const std::string& run_id, const std::string& split = "") const;
  std::int64_t metric_count(const std::string& run_id = "") const;

  // --- reads for reports and exports (store/curves.cpp). Each call reads one
  // snapshot, so the curves of runs still training agree with each other.
  // One curve per run, in the order given; empty where a run has no rows of `split`.
  std::vector<Curve> curves(const std::vector<Run>& runs, const std::string& split, const Downsample& = {}) const;
  // Every metric row of the runs, run by run in (split, step) order, handed to fn
  // as it is read, so a million rows never sit in memory. An exception from fn
  // ends the read and propagates.
  void each_metric(const std::vector<Run>& runs, const std::function<void(const Metric&)>& fn) const;

  // --- ladders (store/ladder.cpp)
  // The runs whose parent is trunk_id, by fork step (then insertion order).
  std::vector<Run> branches(const std::string& trunk_id) const;
  // A branch's history before it forked, so its curve reads like an independent
  // run's: the trunk's metric and eval rows with step < fork_step, and those at
  // fork_step for the splits at_fork names, written under branch_id in one
  // transaction. The branch must be recorded as a branch of trunk_id at
  // fork_step (UserError otherwise). Repeatable: an existing row at the same key
  // takes the trunk's values, and no row after fork_step is touched. Returns the
  // number of rows written (the same on a repeat).
  int copy_trunk_rows(const std::string& trunk_id, const std::string& branch_id, std::int64_t fork_step,
                      const RowsAtFork& at_fork);

  // --- evals: idempotent on (run, step, task, metric).
  void write_evals(const std::vector<Eval>& es);
  std::vector<Eval> evals(const std::string& run_id, const std::string& task = "") const;

  // --- fits
  std::int64_t add_fit(const Fit& f);  // returns the new id
  std::optional<Fit> fit(std::int64_t id) const;
  std::optional<Fit> latest_fit() const;
  std::vector<Fit> fits() const;

  // --- sweep execution (store/sweeps.cpp)
  // The sweep row (its config updated), every new run, and the membership
  // replaced by `runs` in launch order, in one transaction. Returns how many
  // runs were new to the database.
  int register_sweep(const Sweep& s, const std::vector<Run>& runs);
  std::vector<SweepRun> sweep_runs(const std::string& sweep_id) const;
  // Leases the first unleased pending or stopped member (launch order) whose
  // cancellation was not requested and, for a ladder branch, whose trunk is past
  // its fork step; nullopt when none is ready.
  std::optional<std::string> claim_run(const std::string& sweep_id, const Lease& lease);
  void set_worker(const std::string& run_id, const std::string& owner, std::int64_t worker_pid,
                  const std::string& log_path);
  int renew_leases(const std::string& owner, double expires_at);
  void release_lease(const std::string& run_id, const std::string& owner);
  std::vector<Lease> leases(const std::string& sweep_id) const;  // of the sweep's members
  // A dead owner's lease: removed, and a run it left 'running' counted as a
  // failure (see record_failure). Returns the run's new status, or "" if the
  // lease was already gone.
  std::string break_lease(const std::string& run_id, const std::string& owner, const std::string& error,
                          int max_retries);
  // A worker crashed or was killed: failures + 1 and back to 'pending' while
  // failures <= max_retries, else 'failed' ('cancelled' if cancellation was
  // requested). Returns the new status.
  std::string record_failure(const std::string& run_id, const std::string& error, int max_retries);
  // Members left 'running' with no lease and no heartbeat since `stale_s`
  // seconds ago (a stand-alone worker that died): each counted as a failure.
  std::vector<std::string> fail_orphans(const std::string& sweep_id, double stale_s, const std::string& error,
                                        int max_retries);
  CancelResult cancel_sweep(const std::string& sweep_id);
  bool cancel_requested(const std::string& run_id) const;
  // Failed (and, unless failed_only, cancelled) members back to 'pending' with
  // a fresh retry budget. Returns how many.
  int retry_sweep(const std::string& sweep_id, bool failed_only);
  // The newest metric row of a run and split: one primary-key probe.
  std::optional<Metric> last_metric(const std::string& run_id, const std::string& split) const;

  // --- measured training throughput, per config key, device, host and threads
  std::optional<double> throughput(const std::string& key, const std::string& device, const std::string& host,
                                   int threads) const;
  void put_throughput(const std::string& key, const std::string& device, const std::string& host, int threads,
                      double tokens_per_s);

  // For store/'s own modules (cluster.cpp) and tests; other modules read through the methods above.
  sqlite3* handle() const { return db_; }

 private:
  explicit Store(std::string path);
  std::string path_;
  sqlite3* db_ = nullptr;
};

std::string now_iso8601();  // UTC, second precision: 2026-11-22T08:12:39Z

}  // namespace scalelab::store
