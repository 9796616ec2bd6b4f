#pragma once
// The trainer's public face: a GPT described by plain structs, trained for a
// token budget, reporting metrics through a sink. It knows nothing of TOML or
// SQLite; sweep/ turns configs into a RunSpec, app/ wires the sink to the store.
#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tasks/tasks.h"

namespace scalelab::trainer {

struct ModelConfig {
  int n_layer = 4;
  int d_model = 128;
  int n_head = 4;
  int seq_len = 128;
  int vocab = 256;
  bool tie_embeddings = true;  // lm_head shares the token embedding
  bool bias = true;            // biases in Linear and LayerNorm (GPT-2)
  double dropout = 0.0;
  std::string positions = "learned";  // learned absolute positions (GPT-2); the only kind
  bool mlp = true;                    // false: attention-only blocks (no ln_2, no MLP)
  double embedding_init_std = 0.02;   // std of the token and position embeddings at init
  std::string parametrization = "sp";  // "sp" | "mup" (maximal update parametrization, docs/mup.md)
  int mup_base_width = 0;              // mup: the d_model the hyperparameters were tuned at; 0 under sp
};

// The multipliers mup applies to a model of width d_model = m * mup_base_width
// (docs/mup.md); every one is exactly 1 under sp and at m = 1, so such a model
// computes bit for bit what sp does.
struct MupScales {
  double width_mult = 1;   // m
  double hidden_init = 1;  // hidden matrices' init std: 1/sqrt(m)
  double hidden_lr = 1;    // hidden matrices' Adam LR: 1/m
  double attn = 1;         // on top of 1/sqrt(d_head): sqrt(d_head_base)/d_head overall = 1/sqrt(m) extra
  double output = 1;       // the logits: 1/m
};
MupScales mup_scales(const ModelConfig& m);
// What is wrong with a model's parametrization keys, if anything: an unknown
// parametrization, mup without a base width or with one above d_model, a base
// width under sp. `key` is the model.* key to blame.
struct KeyProblem {
  std::string key, what;
};
std::optional<KeyProblem> parametrization_problem(const ModelConfig& m);
void check_parametrization(const ModelConfig& m);  // UserError "key: what"

// Shape rule for a target parameter count: d_model = aspect_ratio * n_layer,
// rounded to a multiple of head_dim; n_head = d_model / head_dim.
struct ShapeRule {
  double aspect_ratio = 32;
  int head_dim = 32;
  int min_layers = 1;
};

struct ParamCounts {
  std::int64_t total = 0;          // every trainable scalar (= sum of numel)
  std::int64_t embedding = 0;      // token + position embeddings (+ untied head)
  std::int64_t non_embedding = 0;  // total - embedding (Kaplan's N)
};

// FLOP conventions per trained token (forward + backward):
//   "6N+attn": 6 * (N_non_embedding + vocab*d_model) + 12 * n_layer * seq_len * d_model
//              -- every matmul weight including the logit head, plus the attention
//              score/value matmuls (PaLM appendix B; nanoGPT's estimate_mfu).
//   "6N":      6 * N, N by the param convention ("total" or "non_embedding").
std::string canonical_flop_convention(const std::string& name);  // throws UserError
double flops_per_token(const ModelConfig& m, const std::string& flop_convention,
                       const std::string& param_convention = "non_embedding");

ParamCounts count_params(const ModelConfig& m);
ModelConfig shape_for_params(double target_non_embedding_params, const ShapeRule& rule,
                             const ModelConfig& base);
std::string shape_name(const ModelConfig& m);  // "L4-D128-H4-T128"

struct DataConfig {
  std::string kind = "text";  // "text": UTF-8 file, byte tokens | "tokens": dir with train.bin/val.bin (uint16)
                              // | "task": RunSpec::task generates the training items
  std::string path;           // file (text) or directory (tokens)
  double val_fraction = 0.01; // text only: the last fraction of the file is validation
};

struct OptimConfig {
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.95;
  double eps = 1e-8;
  double weight_decay = 0.1;  // matrices only; biases, LayerNorms, embeddings excluded
  double grad_clip = 1.0;     // <= 0 disables
  double embedding_weight_decay = 0;  // decoupled decay of the token/position embeddings (grokking)
};

struct ScheduleConfig {
  std::string kind = "cosine";  // "cosine" | "wsd" | "constant"
  double warmup_fraction = 0.02;  // of total steps
  std::int64_t warmup_steps = -1; // overrides the fraction when >= 0
  double min_lr_ratio = 0.1;      // cosine decays to lr*min_lr_ratio at the last step
  double decay_fraction = 0.2;    // wsd: final fraction of steps spent cooling down to min
};

struct RunSpec {
  ModelConfig model;
  DataConfig data;
  OptimConfig optim;
  ScheduleConfig schedule;
  double tokens = 1e6;          // training budget D; steps = round(tokens / batch_tokens)
  std::int64_t batch_tokens = 4096;  // per optimizer step
  int micro_batch = 16;         // sequences per forward pass; accumulation fills batch_tokens
  std::uint64_t seed = 1;
  int eval_every = 100;         // steps between validation evaluations (and at the end)
  int eval_batches = 8;         // fixed held-out batches per evaluation
  std::int64_t eval_final_tokens = 262144;  // the last step's validation pass: this many tokens, or the whole split
  int log_every = 10;           // steps between train-loss metric rows
  int checkpoint_every = 500;   // steps between checkpoints (and at the end)
  std::string flop_convention = "6N+attn";
  std::string param_convention = "non_embedding";
  // A capability task: the training data when data.kind == "task", else evaluated
  // every task_every steps (and at the last step) while training on text.
  tasks::TaskConfig task;    // task.name empty: none
  int task_every = 0;        // 0: at eval_every
};

std::int64_t total_steps(const RunSpec& s);  // round(tokens / batch_tokens), >= 1
double lr_at(const OptimConfig& o, const ScheduleConfig& s, std::int64_t step, std::int64_t total_steps);
// warmup_steps if set (>= 0), else warmup_fraction of the run; never past its end.
std::int64_t warmup_steps(const ScheduleConfig& s, std::int64_t total_steps);

struct MetricRow {
  std::int64_t step = 0;
  double tokens = 0, flops = 0;
  std::string split;  // "train" | "val"
  double loss = 0, lr = 0, grad_norm = 0, wall_s = 0;
};

// One task metric at one step: a row of the store's `evals` table.
struct EvalRow {
  std::int64_t step = 0;
  std::string task;    // "addition" (test items) or "addition/train" (a training sample)
  std::string metric;  // exact_match, token_logprob, ... (docs/emergence.md)
  double value = 0;
  std::int64_t n = 0;  // items evaluated
};

// Receives metrics; the trainer calls flush() before every checkpoint so a
// crash never loses a row that the checkpoint already covers.
class MetricSink {
 public:
  virtual ~MetricSink() = default;
  virtual void log(const MetricRow& row) = 0;
  virtual void flush() = 0;
  virtual void heartbeat(std::int64_t step, double tokens, double tokens_per_s) {}
  virtual void log_eval(const EvalRow& row) {}  // flushed with the metrics
};

enum class Progress { Line, Quiet, Json };

struct TrainOptions {
  std::string run_dir;          // checkpoints live here (created if missing)
  bool resume = false;          // continue from run_dir/checkpoint.pt if present
  std::string device = "cpu";   // "cpu" | "cuda" | "cuda:i"
  int threads = 1;              // CPU intra-op threads, set explicitly
  Progress progress = Progress::Line;
  std::int64_t stop_after_steps = -1;  // stop (checkpointed, status "stopped") once step reaches this
  const std::atomic<bool>* stop = nullptr;  // set by a signal handler: checkpoint and return
  // Cooldown ladders (docs/ladders.md). A trunk keeps the checkpoints of these
  // steps as fork_checkpoint_path(run_dir, step); a branch with no checkpoint of
  // its own starts from `fork_from`, a trunk's kept checkpoint, at that step.
  std::vector<std::int64_t> keep_at;
  std::string fork_from;
  // CUDA only: the share of the device's memory this process may allocate (0: no
  // cap), so that runs packed onto one GPU (runs_per_device) cannot starve each other.
  double gpu_memory_fraction = 0;
  // CUDA only: capture the whole optimizer step (forward, backward, clipping, fused
  // AdamW) in one CUDA graph and replay it, for tiny models whose steps are launch-bound.
  // How a run executes, not what it computes: not part of the run's config or id.
  bool cuda_graphs = false;
  // Training-loss rows are read back from a GPU asynchronously (trainer/readback.h);
  // this also does so on the CPU, where it must give the same rows (train_test.cpp).
  bool async_readback = false;
};

// run_dir/fork-<step>.pt: a trunk's checkpoint at `step`, kept for its branches.
std::string fork_checkpoint_path(const std::string& run_dir, std::int64_t step);

struct TrainResult {
  std::string status;  // "done" | "diverged" | "stopped"
  std::string error;   // e.g. "loss is nan at step 123"
  std::int64_t steps = 0;
  double tokens = 0;
  std::optional<double> final_train_loss, final_val_loss;
  std::optional<double> final_val_loss_se;  // over the held-out sequences (task data: items)
  // Distinct tokens of the training split; unset for a task with no fixed training set.
  std::optional<double> unique_tokens;
  double tokens_per_s = 0;
  double wall_s = 0;
  std::vector<EvalRow> final_evals;  // the task evaluation at the last step, if any
};

// Trains one run. Throws UserError for bad data or config detected at start-up
// (missing file, corpus shorter than one sequence, bad device).
TrainResult train(const RunSpec& spec, const TrainOptions& opt, MetricSink& sink);

// The distinct training tokens a run's data offers, from file sizes alone (text: the
// bytes before the validation split; tokens: train.bin; task: a fixed training set's
// items x seq_len, the unit tokens are counted in); nullopt where unknown or unbounded.
// Equals what train() reports as TrainResult::unique_tokens.
std::optional<double> unique_train_tokens(const RunSpec& spec);
// Tokens in the train and validation splits of text or tokens data, from file
// sizes as Corpus::open splits them; a split is nullopt where its file is missing
// (or the data is a generated task).
struct SplitSizes {
  std::optional<double> train, val;
};
SplitSizes split_sizes(const RunSpec& spec);

// Limits checked before anything is allocated or registered (trainer/limits.cpp).
inline constexpr double kMaxParams = 1e12;  // parameters of one model
inline constexpr double kMaxSteps = 1e10;   // optimizer steps of one run
inline constexpr double kMaxHeadDim = 65536;  // a shape rule's head_dim, checked before the int cast
double params_estimate(const ModelConfig& m);       // in double: no overflow at absurd sizes
double training_memory_bytes(const RunSpec& spec);  // weights, grads, AdamW, activations (fp32)
std::optional<double> available_memory_bytes();     // MemAvailable; nullopt where unknown
// UserError, one line, when the model is beyond kMaxParams, or when a CPU run
// needs more memory than the machine has available, or when a split of the data
// is shorter than one sequence (the same words as the trainer's own check).
void check_size(const ModelConfig& m);
void check_memory(const RunSpec& spec, const std::string& device);
void check_data_fits(const RunSpec& spec);

// Entropy of the byte unigram distribution of a text file, nats per byte.
double unigram_entropy_nats(const std::string& text_path);

}  // namespace scalelab::trainer
