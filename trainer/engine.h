#pragma once
// The training step, separated from the run loop (train.cpp) so the benchmark
// times exactly the code a run executes: model, flat AdamW, data sampling and
// gradient accumulation, with no host synchronisation inside a step.
#include <torch/torch.h>

#include <cstdint>
#include <memory>

#include "trainer/data.h"
#include "trainer/model.h"
#include "trainer/optimizer.h"
#include "trainer/trainer.h"

namespace scalelab::trainer {

struct StepOutput {
  torch::Tensor loss;       // mean over micro-steps, device scalar
  torch::Tensor grad_norm;  // before clipping, device scalar
};

class Engine {
 public:
  // Builds the model (seeded by spec.seed) on `device`. cpu_kernels selects the
  // oneDNN path on CPU where available (model.h).
  Engine(const RunSpec& spec, std::shared_ptr<const Corpus> corpus, torch::Device device,
         bool cpu_kernels = true);

  // Optimizer step `step` (0-based): micro_steps() forward/backward passes on the
  // batches sampled for (seed, step, micro), clipping, then AdamW at lr.
  StepOutput step(std::int64_t step, double lr);
  double eval_loss();  // mean over the fixed validation batches; syncs

  // batch_tokens / (micro_batch * seq_len), rounded up: a step never trains on
  // fewer tokens than asked for; tokens_per_step() is what it actually trains on.
  int micro_steps() const { return micro_steps_; }
  std::int64_t tokens_per_step() const;

  GPT& model() { return model_; }
  FlatAdamW& optimizer() { return *opt_; }
  const Corpus& corpus() const { return *corpus_; }
  const torch::Device& device() const { return device_; }

 private:
  torch::Tensor to_device(const torch::Tensor& t) const;

  RunSpec spec_;
  std::shared_ptr<const Corpus> corpus_;
  torch::Device device_;
  GPT model_{nullptr};
  std::unique_ptr<FlatAdamW> opt_;
  int micro_steps_ = 1;
};

}  // namespace scalelab::trainer
