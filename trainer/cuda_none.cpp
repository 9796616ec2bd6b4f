// The CPU build's trainer/cuda.h: LibTorch without CUDA, so parse_device has already
// refused every CUDA device and only the CPU reaches these.
#include "common/error.h"
#include "trainer/cuda.h"

namespace scalelab::trainer::cuda {

bool built_with_cuda() { return false; }

void set_memory_fraction(const torch::Device& device, double fraction) {
  if (!(fraction > 0 && fraction <= 1)) user_error("gpu memory fraction must be in (0, 1], got {}", fraction);
  if (device.is_cuda()) user_error("device {}: this build of scalelab has no CUDA", device.str());
}

std::string device_name(const torch::Device& device) {
  if (device.is_cuda()) user_error("device {}: this build of scalelab has no CUDA", device.str());
  return "cpu";
}

// A CPU copy is complete when it returns.
void Fence::record(const torch::Device&) {}
bool Fence::ready() const { return true; }
void Fence::wait() const {}

StepGraph::StepGraph(const torch::Device& device) : device_(device) {
  user_error("CUDA graphs need a CUDA device and a CUDA build of scalelab (device {})", device.str());
}
void StepGraph::warm_up(const std::function<void()>&, int) {}
void StepGraph::capture(const std::function<void()>&) {}
void StepGraph::replay() {}

}  // namespace scalelab::trainer::cuda
