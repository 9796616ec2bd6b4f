#pragma once
// Pieces shared by the CPU fast path's autograd functions (kernels.cpp,
// pointwise.cpp): their input checks and the two gradient GEMMs of a linear layer.
#include <torch/torch.h>

#include <utility>
#include <vector>

#include "trainer/gemm.h"

namespace scalelab::trainer::cpu::parts {

inline void check_f32_cpu(const torch::Tensor& t, const char* what) {
  TORCH_CHECK(!t.defined() || (t.is_cpu() && t.scalar_type() == at::kFloat), what,
              ": cpu kernels take float32 CPU tensors");
}

inline std::vector<int64_t> with_last(at::IntArrayRef sizes, int64_t last) {
  std::vector<int64_t> s(sizes.begin(), sizes.end());
  s.back() = last;
  return s;
}

// For y = x W^T with x2 = x as [M, K] and W [N, K], given dL/dy as G [M, N]:
// dL/dx (shaped as x, whose sizes the forward saved as "x_sizes") and dL/dW, each
// only where autograd asks for it.
inline std::pair<torch::Tensor, torch::Tensor> linear_grads(torch::autograd::AutogradContext* ctx, const float* G,
                                                            const torch::Tensor& x2, const torch::Tensor& w) {
  const int64_t N = w.size(0), K = w.size(1), M = x2.size(0);
  torch::Tensor gx, gw;
  if (ctx->needs_input_grad(0)) {
    gx = at::empty({M, K}, x2.options());
    sgemm(false, false, M, K, N, 1, G, N, w.data_ptr<float>(), K, 0, gx.data_ptr<float>(), K);
    gx = gx.view(ctx->saved_data["x_sizes"].toIntVector());
  }
  if (ctx->needs_input_grad(1)) {
    gw = at::empty({N, K}, x2.options());
    sgemm(true, false, N, K, M, 1, G, N, x2.data_ptr<float>(), K, 0, gw.data_ptr<float>(), K);
  }
  return {gx, gw};
}

}  // namespace scalelab::trainer::cpu::parts
