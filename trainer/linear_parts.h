#pragma once
// Pieces shared by the CPU fast path's autograd functions (kernels.cpp,
// pointwise.cpp, norm.cpp): their input checks, optional inputs, and the two
// gradient GEMMs of a linear layer.
#include <torch/torch.h>

#include <utility>
#include <vector>

#include "trainer/gemm.h"

namespace scalelab::trainer::cpu::parts {

// Rows per GEMM call where a pass over the output follows (or precedes) the GEMM:
// 256 rows of C (up to 4C floats each at the CPU shapes) stay in L2 between the two.
constexpr int64_t kRowChunk = 256;

inline void check_f32_cpu(const torch::Tensor& t, const char* what) {
  TORCH_CHECK(!t.defined() || (t.is_cpu() && t.scalar_type() == at::kFloat), what,
              ": cpu kernels take float32 CPU tensors");
}

// An optional Function input: LibTorch 1.13 cannot record an undefined tensor as one,
// but takes an empty optional (and leaves it out of needs_input_grad's numbering).
using OptTensor = c10::optional<torch::Tensor>;
inline OptTensor opt(const torch::Tensor& t) { return t.defined() ? OptTensor(t) : OptTensor(); }
inline const float* ptr(const OptTensor& t) { return t && t->defined() ? t->data_ptr<float>() : nullptr; }

inline std::vector<int64_t> with_last(at::IntArrayRef sizes, int64_t last) {
  std::vector<int64_t> s(sizes.begin(), sizes.end());
  s.back() = last;
  return s;
}

// For y = x W^T with x2 = x as [M, K] and W [N, K], the gradients dL/dx (shaped as
// x, whose sizes the forward saved as "x_sizes") and dL/dW, each only where autograd
// asks for it, from dL/dy fed a block of rows at a time: a caller that makes dL/dy
// in chunks hands each over while it is in cache. dL/dW sums the blocks in order.
class LinearGrads {
 public:
  LinearGrads(torch::autograd::AutogradContext* ctx, const torch::Tensor& x2, const torch::Tensor& w)
      : ctx_(ctx), x2_(x2), w_(w), N_(w.size(0)), K_(w.size(1)) {
    if (ctx->needs_input_grad(0)) gx_ = at::empty({x2.size(0), K_}, x2.options());
    if (ctx->needs_input_grad(1)) gw_ = at::empty({N_, K_}, x2.options());
  }

  // G: rows x N floats, rows [r0, r0 + rows) of dL/dy.
  void add_rows(const float* G, int64_t r0, int64_t rows) {
    if (gx_.defined())
      sgemm(false, false, rows, K_, N_, 1, G, N_, w_.data_ptr<float>(), K_, 0, gx_.data_ptr<float>() + r0 * K_, K_);
    if (gw_.defined())
      sgemm(true, false, N_, K_, rows, 1, G, N_, x2_.data_ptr<float>() + r0 * K_, K_, first_ ? 0.0f : 1.0f,
            gw_.data_ptr<float>(), K_);
    first_ = false;
  }

  // {dL/dx, dL/dW} once every row has been added.
  std::pair<torch::Tensor, torch::Tensor> done() {
    if (gx_.defined()) gx_ = gx_.view(ctx_->saved_data["x_sizes"].toIntVector());
    return {gx_, gw_};
  }

 private:
  torch::autograd::AutogradContext* ctx_;
  const torch::Tensor &x2_, &w_;
  int64_t N_, K_;
  torch::Tensor gx_, gw_;
  bool first_ = true;
};

// The same with all of dL/dy at once, as G [M, N].
inline std::pair<torch::Tensor, torch::Tensor> linear_grads(torch::autograd::AutogradContext* ctx, const float* G,
                                                            const torch::Tensor& x2, const torch::Tensor& w) {
  LinearGrads g(ctx, x2, w);
  g.add_rows(G, 0, x2.size(0));
  return g.done();
}

}  // namespace scalelab::trainer::cpu::parts
