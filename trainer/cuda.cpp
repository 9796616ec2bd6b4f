// trainer/cuda.h in a CUDA build (SCALELAB_CUDA): LibTorch's CUDA runtime pieces.
// Compiled and linked in CI against PyPI's CUDA wheel; run only on a GPU machine
// (bench/gpu.sh), since CI has none.
#include <ATen/cuda/CUDAContext.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/core/Event.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include "common/error.h"
#include "trainer/cuda.h"

namespace scalelab::trainer::cuda {

namespace {

void need_cuda(const torch::Device& device, const char* what) {
  if (!device.is_cuda()) user_error("{} needs a CUDA device (device {})", what, device.str());
}

c10::Stream current_stream(const torch::Device& device) {
  return c10::cuda::getCurrentCUDAStream(device.index()).unwrap();
}

}  // namespace

bool built_with_cuda() { return true; }

void set_memory_fraction(const torch::Device& device, double fraction) {
  if (!(fraction > 0 && fraction <= 1)) user_error("gpu memory fraction must be in (0, 1], got {}", fraction);
  need_cuda(device, "a GPU memory cap");
  c10::cuda::CUDACachingAllocator::setMemoryFraction(fraction, device.index());
}

std::string device_name(const torch::Device& device) {
  if (!device.is_cuda()) return "cpu";
  return at::cuda::getDeviceProperties(device.index())->name;
}

void Fence::record(const torch::Device& device) {
  if (!device.is_cuda()) {
    event_.reset();
    return;
  }
  auto ev = std::make_shared<c10::Event>(c10::DeviceType::CUDA);
  ev->record(current_stream(device));
  event_ = std::move(ev);
}

bool Fence::ready() const { return !event_ || static_cast<const c10::Event*>(event_.get())->query(); }

void Fence::wait() const {
  if (event_) static_cast<const c10::Event*>(event_.get())->synchronize();
}

StepGraph::StepGraph(const torch::Device& device) : device_(device) {
  need_cuda(device, "CUDA graphs");
  graph_ = std::make_shared<at::cuda::CUDAGraph>();
}

// Capture must not happen on the legacy default stream, and the work before it
// must have run once on the capturing stream's side of the fence; this is the
// recipe of PyTorch's "whole network capture" (torch.cuda.graphs).
void StepGraph::warm_up(const std::function<void()>& body, int iterations) {
  const c10::DeviceIndex index = device_.index();
  auto side = c10::cuda::getStreamFromPool(false, index);
  auto main = c10::cuda::getCurrentCUDAStream(index);
  side.synchronize();
  main.synchronize();
  {
    c10::cuda::CUDAStreamGuard guard(side);
    for (int i = 0; i < iterations; ++i) body();
  }
  side.synchronize();
}

void StepGraph::capture(const std::function<void()>& body) {
  auto* g = static_cast<at::cuda::CUDAGraph*>(graph_.get());
  auto side = c10::cuda::getStreamFromPool(false, device_.index());
  c10::cuda::getCurrentCUDAStream(device_.index()).synchronize();
  {
    c10::cuda::CUDAStreamGuard guard(side);
    g->capture_begin();
    body();
    g->capture_end();
  }
  side.synchronize();
  captured_ = true;
}

void StepGraph::replay() {
  static_cast<at::cuda::CUDAGraph*>(graph_.get())->replay();
}

}  // namespace scalelab::trainer::cuda
