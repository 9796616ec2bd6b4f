#pragma once
// The training step, separated from the run loop (train.cpp) so the benchmark
// times exactly the code a run executes: model, flat AdamW, data sampling and
// gradient accumulation, with no host synchronisation inside a step.
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <optional>

#include "trainer/cuda.h"
#include "trainer/data.h"
#include "trainer/model.h"
#include "trainer/optimizer.h"
#include "trainer/prefetch.h"
#include "trainer/task_data.h"
#include "trainer/trainer.h"

namespace scalelab::trainer {

struct StepOutput {
  torch::Tensor loss;       // mean over micro-steps, device scalar
  torch::Tensor grad_norm;  // before clipping, device scalar
};

// A validation loss: the mean over held-out sequences (task data: items), and the
// standard error of that mean from their spread (unset with fewer than two).
struct ValLoss {
  double mean = 0;
  std::optional<double> se;
};

// A run's optimizer over `model`: AdamW groups, the embeddings' own decay, and
// μP's hidden-matrix LR multiplier. The coordinate check builds it the same way.
std::unique_ptr<FlatAdamW> make_optimizer(GPT& model, const OptimConfig& optim);

class Engine {
 public:
  // Builds the model (seeded by spec.seed) on `device`. cpu_kernels selects the
  // oneDNN path on CPU where available (model.h).
  // With data.kind "task" the corpus is null and `task` supplies the batches;
  // otherwise a task, if given, is only evaluated (eval_task).
  Engine(const RunSpec& spec, std::shared_ptr<const Corpus> corpus, torch::Device device,
         bool cpu_kernels = true, std::shared_ptr<const tasks::Task> task = nullptr);

  // Optimizer step `step` (0-based): micro_steps() forward/backward passes on the
  // batches sampled for (seed, step, micro), clipping, then AdamW at lr.
  StepOutput step(std::int64_t step, double lr);
  // CUDA graphs (TrainOptions::cuda_graphs): from the next step on, each step is one
  // replay of a graph captured at its first use (engine_graph.cpp). UserError on the
  // CPU, with task data (items of varying shape) or with dropout.
  void set_cuda_graphs(bool on);
  bool cuda_graphs() const { return graphs_; }
  ValLoss eval_loss();  // over the fixed validation batches (task data: the first test items); syncs
  // The final validation pass (the run's last step): final_eval_sequences() disjoint
  // sequences of the validation split in order, eval.final_tokens or the whole split
  // (task data: the test items, up to final_tokens / seq_len), micro_batch at a time.
  ValLoss eval_final_loss();
  std::int64_t final_eval_sequences() const;
  // The task's metrics on its test set and on its training sample, at `step`.
  std::vector<EvalRow> eval_task(std::int64_t step);
  bool has_task() const { return task_ != nullptr; }
  bool byte_level() const { return corpus_ ? corpus_->byte_level() : false; }

  // batch_tokens / (micro_batch * seq_len), rounded up: a step never trains on
  // fewer tokens than asked for; tokens_per_step() is what it actually trains on.
  int micro_steps() const { return micro_steps_; }
  std::int64_t tokens_per_step() const;

  GPT& model() { return model_; }
  FlatAdamW& optimizer() { return *opt_; }
  const Corpus& corpus() const { return *corpus_; }  // text and tokens data only
  const torch::Device& device() const { return device_; }

 private:
  torch::Tensor to_device(const torch::Tensor& t) const;
  Batch train_batch(std::int64_t step, int micro);  // prefetched on CUDA
  StepOutput graph_step(std::int64_t step, double lr);
  void capture_step();
  void graph_body();
  torch::Tensor sequence_losses(const Batch& b);  // per row, on the device; under NoGradGuard
  torch::Tensor item_losses(const std::vector<tasks::Item>& items);  // per item's answer tokens

  RunSpec spec_;
  std::shared_ptr<const Corpus> corpus_;
  torch::Device device_;
  GPT model_{nullptr};
  std::unique_ptr<FlatAdamW> opt_;
  std::shared_ptr<const tasks::Task> task_;
  std::vector<int> map_;  // task token -> model token
  bool task_data_ = false;
  int micro_steps_ = 1;
  std::unique_ptr<Prefetcher> prefetch_;  // CUDA, text and tokens data
  // CUDA graphs: the captured step and the fixed tensors it reads and writes.
  bool graphs_ = false;
  std::unique_ptr<cuda::StepGraph> graph_;
  std::vector<torch::Tensor> static_x_, static_y_;
  torch::Tensor static_lr_, static_loss_, static_norm_;
};

}  // namespace scalelab::trainer
