#pragma once
// A sweep config: the shared settings of many runs plus the axes they vary on.
// Read through TomlReader, so errors are one line naming the file, line and key
// exactly as for run configs. docs/sweeps.md is the reference.
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "trainer/trainer.h"

namespace scalelab::sweep {

struct IsoflopSettings {
  int sizes = 5;                 // model sizes per compute budget
  double span = 8.0;             // largest / smallest model of a budget (before shape rounding)
  double tokens_per_param = 20;  // the prior: sizes centre on N with D/N = this (Chinchilla)
  double tolerance = 0.01;       // drop runs whose whole-step D misses the budget by more
};

// Cooldown ladders (docs/ladders.md): per size one warmup-stable trunk, and WSD
// branches forked from it at each D of the tokens axes.
// A learning rate per size (docs/sweeps.md): lr = c * N^-k, N the run's parameters
// under flops.params, rounded to 3 significant digits so ids and names stay readable.
// With lr_rule = { fit = ID } the rule is a stored `scalelab fit --law lr`
// record, whose c and k resolve_lr_rule reads before planning.
struct LrRule {
  bool set = false;
  double c = 0, k = 0;
  std::int64_t fit = 0;  // the fit id the rule came from; 0: c and k given in the config
  double lr(double n) const;
};

struct LadderSettings {
  double trunk_tokens_per_param = 0;  // the trunk's length as D/N; 0 = up to the last fork
};

struct Filters {
  std::int64_t min_steps = 1;
  double max_est_runtime_s = std::numeric_limits<double>::infinity();
  double min_tokens_per_param = 0;
  double max_tokens_per_param = std::numeric_limits<double>::infinity();
  // D at most this many passes over the run's unique training tokens: longer grid
  // and ladder points are capped to it, IsoFLOP points over it skipped.
  double max_epochs = std::numeric_limits<double>::infinity();
};

struct ExecutionSettings {
  int jobs = 0;             // concurrent workers; 0 = from devices and cores
  int threads_per_job = 0;  // 0 = cores / jobs on CPU, 1 on CUDA
  std::vector<std::string> devices{"cpu"};
  int runs_per_device = 0;  // 0 = as many as jobs allows (CPU) or 1 (CUDA)
  int retries = 2;          // extra attempts for crashed or killed workers
  double lease_ttl_s = 60;  // a lease not renewed for this long belongs to a dead orchestrator
  std::string runs_dir;     // "" = runs/ next to the database
  double peak_tflops = 0;   // MFU's peak; 0 = the GPU table's (CPU: no MFU)
  double gpu_memory_fraction = 0;  // CUDA: each worker's share of its GPU; 0 = 1 / runs_per_device
  bool cuda_graphs = false;        // CUDA: replay each optimizer step as one CUDA graph
};

struct SweepConfig {
  std::string name;
  std::string path;  // absolute path of the top file; part of the sweep's identity
  std::string mode;  // "grid" | "isoflop" | "ladder"
  std::vector<std::string> files;  // every file read, base files first
  std::string resolved_toml;       // all layers merged, as stored with the sweep

  trainer::RunSpec base;  // every run starts from this; axes fill in the rest
  trainer::ShapeRule shape_rule;
  bool fixed_shape = false;  // [model] names a shape; no params axis

  std::vector<double> params;            // target non-embedding sizes (grid)
  std::vector<int> d_model;              // widths, the rest of the shape from [model] (grid)
  std::vector<int> n_layer;              // depths, likewise
  std::vector<double> tokens;            // D values (grid)
  std::vector<double> tokens_per_param;  // D = m * N (grid)
  std::vector<double> compute;           // C budgets (isoflop; ladder: one branch per size and C)
  std::vector<double> lr;                // empty: base.optim.lr
  std::vector<std::uint64_t> seed;       // empty: base.seed
  std::vector<double> train_fraction;    // modular task only; empty: base.task.train_fraction

  LrRule lr_rule;                        // replaces train.lr: each size its own LR
  IsoflopSettings isoflop;
  LadderSettings ladder;
  Filters filters;
  ExecutionSettings execution;

  // "FILE:LINE" of each key that was set, for errors found after parsing.
  std::map<std::string, std::string> origin;
  [[noreturn]] void fail(const std::string& key, std::string_view what) const;
};

// Reads a sweep config and the base files it extends. Relative data paths resolve
// against the current directory (as in run configs), `extends` paths against the
// directory of the file that names them.
SweepConfig load_sweep_config(const std::string& path, bool check_data = true);

// lr_rule = { fit = ID }: c and k from fit ID in the database at `db`, an LR
// rule fitted with N under this sweep's flops.params. No-op for a rule given as
// c and k. A UserError naming lr_rule.fit when the fit is missing or unfit.
void resolve_lr_rule(SweepConfig&, const std::string& db);

// The sweep's id: a hash of its name and the absolute path of its config, so
// editing the file keeps the sweep and adds only the new runs.
std::string sweep_id(const SweepConfig& sc);

// Validates a device list ("cpu", or cuda devices); throws UserError.
std::vector<std::string> parse_devices(const std::vector<std::string>& names);
// UserError when a cuda device is named that this machine does not have (checked
// without LibTorch, before anything is registered; the trainer checks again).
void check_device_present(const std::string& device);
// UserError unless DIR is a directory, or could be made one (its nearest existing
// ancestor is a directory): checked before a run is registered.
void check_runs_dir(const std::string& dir);

// "30s", "10m", "1.5h" or a plain number of seconds.
double parse_duration(std::string_view text);  // NaN when malformed

}  // namespace scalelab::sweep
