#pragma once
// Training-loss rows read back from the device without stalling it. A row's
// numbers other than the loss and gradient norm (step, tokens, lr, wall time)
// are fixed when it is pushed; the two device scalars travel by an asynchronous
// copy into pinned host memory and the row is handed out once a Fence says the
// copy has landed. On a GPU the host then runs ahead of the device by as many
// steps as LibTorch's launch queue allows, instead of waiting at every log step.
// On the CPU every copy is complete at once, so rows come out as they went in.
#include <torch/torch.h>

#include <cstddef>
#include <deque>
#include <vector>

#include "trainer/cuda.h"
#include "trainer/trainer.h"

namespace scalelab::trainer {

class Readback {
 public:
  explicit Readback(torch::Device device) : device_(device) {}

  // row.loss and row.grad_norm are filled from the two scalars when they arrive.
  void push(const MetricRow& row, const torch::Tensor& loss, const torch::Tensor& grad_norm);
  std::vector<MetricRow> ready();  // those whose copy has landed, in order; never waits
  std::vector<MetricRow> drain();  // every pending row; waits for the device
  std::size_t pending() const { return q_.size(); }

 private:
  struct Pending {
    MetricRow row;
    torch::Tensor host;  // [loss, grad_norm], float32, pinned on CUDA
    cuda::Fence fence;
  };
  static MetricRow take(Pending& p);

  torch::Device device_;
  std::deque<Pending> q_;
};

}  // namespace scalelab::trainer
