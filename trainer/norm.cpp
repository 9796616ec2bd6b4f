// LayerNorm on the CPU fast path, with the residual add before it in the same
// pass. LibTorch runs a transformer's residual stream as separate passes over
// memory: the add, the projection's bias (seeded into the GEMM's output), the
// norm, and in the backward the sum of the two gradients reaching x and the bias's
// column sum. Here each is one pass forward and two per row (both in L1) backward.
#include <ATen/Parallel.h>

#include <algorithm>
#include <iterator>

#include "trainer/kernels.h"
#include "trainer/linear_parts.h"
#include "trainer/norm_rows.h"
#include "trainer/simd_math.h"

namespace scalelab::trainer::cpu {

namespace {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;
using parts::OptTensor;
using parts::opt;
using parts::ptr;

struct Form {
  int level;  // limit_pointwise_isa's numbering
  detail::NormForwardRows* forward;
  detail::NormBackwardRows* backward;
  bool (*here)();
};

// Widest first; SSE2 is the x86-64 baseline.
const Form kForms[] = {
    {2, detail::norm_forward_avx512, detail::norm_backward_avx512,
     [] { return bool(__builtin_cpu_supports("avx512f")); }},
    {1, detail::norm_forward_avx2, detail::norm_backward_avx2,
     [] { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }},
    {0, detail::norm_forward_sse2, detail::norm_backward_sse2, [] { return true; }},
};

const Form& form() {
  const int cap = simd::isa_cap();
  return *std::find_if(std::begin(kForms), std::end(kForms), [&](const Form& f) { return f.level <= cap && f.here(); });
}

// Rows per task. The backward sums each chunk's parameter gradients apart and adds
// the chunks in order, so the result does not depend on the thread count.
constexpr int64_t kChunk = 64;

variable_list norm_forward(AutogradContext* ctx, const Tensor& res_in, const Tensor* branch_in, const OptTensor& bias,
                           const Tensor& gamma, const OptTensor& beta, double eps) {
  const int64_t n = gamma.size(0);
  TORCH_CHECK(res_in.size(-1) == n, "layer_norm: rows of ", res_in.size(-1), " floats against a gain of ", n);
  Tensor res = res_in.contiguous(), branch = branch_in ? branch_in->contiguous() : Tensor();
  TORCH_CHECK(!branch.defined() || branch.sizes() == res.sizes(), "add_layer_norm: branch and residual differ in shape");
  const int64_t rows = res.numel() / n;
  Tensor x = branch.defined() ? at::empty_like(res) : res, y = at::empty_like(res);
  Tensor stats = at::empty({2, rows}, res.options());  // mean, 1 / std
  detail::NormForward a{n, res.data_ptr<float>(), branch.defined() ? branch.data_ptr<float>() : nullptr, ptr(bias),
                        gamma.data_ptr<float>(), ptr(beta), branch.defined() ? x.data_ptr<float>() : nullptr,
                        y.data_ptr<float>(), stats.data_ptr<float>(), stats.data_ptr<float>() + rows, float(eps)};
  detail::NormForwardRows* rows_fn = form().forward;
  at::parallel_for(0, rows, kChunk, [&](int64_t r0, int64_t r1) { rows_fn(a, r0, r1); });
  ctx->save_for_backward({x, gamma, stats});
  if (!branch.defined()) return {y};
  return {x, y};
}

// dL/dx, dgamma, dbeta (undefined without beta) and dbias (undefined without bias).
struct NormGrads {
  Tensor dx, dgamma, dbeta, dbias;
};

NormGrads norm_backward(AutogradContext* ctx, const Tensor& gy_in, const Tensor& gx_in, bool has_beta, bool has_bias) {
  const auto saved = ctx->get_saved_variables();
  const Tensor &x = saved[0], &gamma = saved[1], &stats = saved[2];
  const int64_t n = gamma.size(0), rows = x.numel() / n, chunks = (rows + kChunk - 1) / kChunk;
  Tensor gy = gy_in.defined() ? gy_in.contiguous() : at::zeros_like(x);
  Tensor gx = gx_in.defined() ? gx_in.contiguous() : Tensor();
  Tensor dx = at::empty_like(x), part = at::zeros({chunks, 3, n}, x.options());
  float* P = part.data_ptr<float>();
  detail::NormBackward a{n, gy.data_ptr<float>(), gx.defined() ? gx.data_ptr<float>() : nullptr, x.data_ptr<float>(),
                         stats.data_ptr<float>(), stats.data_ptr<float>() + rows, gamma.data_ptr<float>(),
                         dx.data_ptr<float>(), nullptr, nullptr, nullptr};
  detail::NormBackwardRows* rows_fn = form().backward;
  at::parallel_for(0, chunks, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      detail::NormBackward ac = a;
      ac.dgamma = P + c * 3 * n;
      ac.dbeta = has_beta ? ac.dgamma + n : nullptr;
      ac.dbias = has_bias ? ac.dgamma + 2 * n : nullptr;
      rows_fn(ac, c * kChunk, std::min(rows, (c + 1) * kChunk));
    }
  });
  Tensor sums = at::zeros({3, n}, x.options());
  float* S = sums.data_ptr<float>();
  for (int64_t c = 0; c < chunks; ++c)
    for (int64_t j = 0; j < 3 * n; ++j) S[j] += P[c * 3 * n + j];
  return {dx, sums[0], has_beta ? sums[1] : Tensor(), has_bias ? sums[2] : Tensor()};
}

struct LayerNormFn : torch::autograd::Function<LayerNormFn> {
  static variable_list forward(AutogradContext* ctx, const Tensor& x, const Tensor& gamma, const OptTensor& beta,
                               double eps) {
    ctx->saved_data["beta"] = bool(ptr(beta));
    return norm_forward(ctx, x, nullptr, OptTensor(), gamma, beta, eps);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    NormGrads g = norm_backward(ctx, grads[0], Tensor(), ctx->saved_data["beta"].toBool(), false);
    return {g.dx, g.dgamma, g.dbeta, Tensor()};
  }
};

struct AddLayerNormFn : torch::autograd::Function<AddLayerNormFn> {
  static variable_list forward(AutogradContext* ctx, const Tensor& res, const Tensor& branch, const OptTensor& bias,
                               const Tensor& gamma, const OptTensor& beta, double eps) {
    ctx->saved_data["beta"] = bool(ptr(beta));
    ctx->saved_data["bias"] = bool(ptr(bias));
    return norm_forward(ctx, res, &branch, bias, gamma, beta, eps);
  }
  // grads: dL/dx from x's later uses (undefined after the last block), dL/dy.
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    NormGrads g = norm_backward(ctx, grads[1], grads[0], ctx->saved_data["beta"].toBool(),
                                ctx->saved_data["bias"].toBool());
    return {g.dx, g.dx, g.dbias, g.dgamma, g.dbeta, Tensor()};
  }
};

void check_norm_params(const Tensor& gamma, const Tensor& beta) {
  parts::check_f32_cpu(gamma, "layer_norm weight");
  parts::check_f32_cpu(beta, "layer_norm bias");
  TORCH_CHECK(gamma.dim() == 1 && (!beta.defined() || beta.sizes() == gamma.sizes()),
              "layer_norm: weight and bias are vectors of the row length");
}

}  // namespace

Tensor layer_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps) {
  parts::check_f32_cpu(x, "layer_norm input");
  check_norm_params(gamma, beta);
  return LayerNormFn::apply(x, gamma, opt(beta), eps)[0];
}

std::pair<Tensor, Tensor> add_layer_norm(const Tensor& res, const Tensor& branch, const Tensor& bias,
                                         const Tensor& gamma, const Tensor& beta, double eps) {
  parts::check_f32_cpu(res, "add_layer_norm residual");
  parts::check_f32_cpu(branch, "add_layer_norm branch");
  parts::check_f32_cpu(bias, "add_layer_norm branch bias");
  check_norm_params(gamma, beta);
  TORCH_CHECK(!bias.defined() || bias.sizes() == gamma.sizes(), "add_layer_norm: the branch bias is a row vector");
  auto out = AddLayerNormFn::apply(res, branch, opt(bias), gamma, opt(beta), eps);
  return {out[0], out[1]};
}

}  // namespace scalelab::trainer::cpu
