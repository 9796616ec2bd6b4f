#pragma once
// The few CUDA runtime facilities the trainer needs beyond LibTorch's device-generic
// API: events to know when an asynchronous copy has landed, the caching allocator's
// per-process cap, the device's name, and graph capture of a whole training step.
// trainer/cuda.cpp implements them in a CUDA build (SCALELAB_CUDA); cuda_none.cpp is
// the CPU build's counterpart, where no CUDA device can exist: a Fence is always
// ready (every copy was synchronous) and the rest refuse in one line.
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>

namespace scalelab::trainer::cuda {

bool built_with_cuda();

// Lets this process's caching allocator hold at most `fraction` of the device's
// memory, so that runs packed onto one GPU cannot starve each other. UserError when
// fraction is outside (0, 1].
void set_memory_fraction(const torch::Device& device, double fraction);

// "NVIDIA H100 80GB HBM3" (the driver's name); "cpu" for the CPU.
std::string device_name(const torch::Device& device);

// Marks a point in the device's current stream. ready() asks without waiting.
class Fence {
 public:
  Fence() = default;
  void record(const torch::Device& device);
  bool ready() const;
  void wait() const;

 private:
  std::shared_ptr<void> event_;  // at::cuda::CUDAEvent in a CUDA build
};

// One captured sequence of kernels, replayed with the same device addresses.
// warm_up runs `body` on a side stream first, as capture requires (lazy cuBLAS
// workspaces, autograd's first-use allocations); capture records it without running it.
class StepGraph {
 public:
  explicit StepGraph(const torch::Device& device);
  void warm_up(const std::function<void()>& body, int iterations);
  void capture(const std::function<void()>& body);
  void replay();
  bool captured() const { return captured_; }

 private:
  torch::Device device_;
  std::shared_ptr<void> graph_;  // at::cuda::CUDAGraph in a CUDA build
  bool captured_ = false;
};

}  // namespace scalelab::trainer::cuda
