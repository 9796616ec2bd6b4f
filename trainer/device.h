#pragma once
// Process-level settings a run needs before its first tensor op: the device,
// CPU thread counts, allocator behaviour, and bf16 autocast on CUDA.
#include <torch/torch.h>

#include <string>

namespace scalelab::trainer {

// "cpu", "cuda" or "cuda:i"; UserError when malformed or CUDA is unavailable.
torch::Device parse_device(const std::string& name);

// Intra-op threads = threads; inter-op threads = 1 (LibTorch allows setting that
// only once per process, so later calls keep what the first one set).
void configure_cpu_threads(int threads);

// glibc returns freed blocks above 128 KiB to the kernel with munmap/trim, so
// every step's activations come back as fresh zero-filled pages (page faults
// cost ~20% of a small model's step). Keep them in the heap instead.
void keep_freed_memory();

// bf16 autocast for CUDA forward passes (fp32 master weights); no-op elsewhere.
class AutocastScope {
 public:
  explicit AutocastScope(const torch::Device& device);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool active_ = false, prev_enabled_ = false;
  at::ScalarType prev_dtype_ = at::kFloat;
};

}  // namespace scalelab::trainer
