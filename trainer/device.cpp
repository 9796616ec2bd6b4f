#include "trainer/device.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include <mutex>
#include <regex>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "common/error.h"

// LibTorch 2.4 replaced the CUDA-only autocast setters with per-device ones.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define SCALELAB_AUTOCAST_PER_DEVICE 1
#else
#define SCALELAB_AUTOCAST_PER_DEVICE 0
#endif

namespace scalelab::trainer {

torch::Device parse_device(const std::string& name) {
  if (name == "cpu") return torch::Device(torch::kCPU);
  static const std::regex cuda_re("cuda(:([0-9]+))?");
  std::smatch m;
  if (!std::regex_match(name, m, cuda_re))
    user_error("device '{}' is not valid (expected \"cpu\", \"cuda\" or \"cuda:N\")", name);
  if (!torch::cuda::is_available())
    user_error("device '{}': CUDA is not available (LibTorch built without CUDA, or no GPU)", name);
  if (!m[2].matched) return torch::Device(torch::kCUDA, 0);
  const int index = std::stoi(m[2].str());
  const auto count = static_cast<int>(torch::cuda::device_count());
  if (index >= count)
    user_error("device '{}': only {} CUDA device(s) visible (valid: cuda:0..cuda:{})", name, count,
               count - 1);
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
}

void configure_cpu_threads(int threads) {
  if (threads < 1) user_error("threads must be >= 1 (got {})", threads);
  torch::set_num_threads(threads);
  static std::once_flag once;
  std::call_once(once, [] {
    try {
      torch::set_num_interop_threads(1);
    } catch (const c10::Error&) {
      // Inter-op work already started in this process; its pool size is fixed.
    }
  });
}

void keep_freed_memory() {
#if defined(__GLIBC__)
  static std::once_flag once;
  std::call_once(once, [] {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);  // the largest value glibc accepts
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
  });
#endif
}

AutocastScope::AutocastScope(const torch::Device& device) {
  if (!device.is_cuda()) return;
  active_ = true;
#if SCALELAB_AUTOCAST_PER_DEVICE
  prev_enabled_ = at::autocast::is_autocast_enabled(at::kCUDA);
  prev_dtype_ = at::autocast::get_autocast_dtype(at::kCUDA);
  at::autocast::set_autocast_enabled(at::kCUDA, true);
  at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
#else
  prev_enabled_ = at::autocast::is_enabled();
  prev_dtype_ = at::autocast::get_autocast_gpu_dtype();
  at::autocast::set_enabled(true);
  at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
#endif
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  // Cast weights are cached per outermost scope; drop them so the next forward
  // sees the updated fp32 weights.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
#if SCALELAB_AUTOCAST_PER_DEVICE
  at::autocast::set_autocast_enabled(at::kCUDA, prev_enabled_);
  at::autocast::set_autocast_dtype(at::kCUDA, prev_dtype_);
#else
  at::autocast::set_enabled(prev_enabled_);
  at::autocast::set_autocast_gpu_dtype(prev_dtype_);
#endif
}

}  // namespace scalelab::trainer
