#pragma once
// Remembers the first optimizer step whose loss or gradient norm was not
// finite. A non-finite gradient norm alone counts: the update it feeds poisons
// every later step, and a metric row must never carry it.
//
// Deferred mode (GPUs) keeps the bookkeeping on the device, so observing a step
// needs no host sync; check() syncs. Immediate mode (CPU, where reading a scalar
// is free) reads the two values at once.
#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <string>

namespace scalelab::trainer {

class DivergenceWatch {
 public:
  explicit DivergenceWatch(bool immediate) : immediate_(immediate) {}

  void observe(const torch::Tensor& loss, const torch::Tensor& grad_norm, std::int64_t step);
  // "loss is nan at step 12" / "gradient norm is inf at step 7" once diverged.
  std::optional<std::string> check();

 private:
  void record(std::int64_t step, float loss, float norm);

  bool immediate_;
  std::int64_t first_step_ = -1;
  float loss_ = 0, norm_ = 0;
  torch::Tensor first_, values_;  // deferred mode
};

}  // namespace scalelab::trainer
