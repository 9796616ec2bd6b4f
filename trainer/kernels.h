#pragma once
// CPU fast path: autograd functions whose linear layers go straight to oneDNN's
// sgemm (see gemm.h) and whose attention reads q, k, v in place from the fused qkv
// projection, each head's products on small_gemm (microgemm.h); only a head's K
// (forward) or V (backward) is copied, transposed, into scratch.
// Float32, CPU, contiguous inputs; only used when cpu::have_fast_gemm().
#include <torch/torch.h>

#include <utility>

namespace scalelab::trainer::cpu {

// x [..., in] -> x W^T + b, W [out, in]; b may be undefined.
torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b);

// qkv [B, T, 3C] (q | k | v, heads interleaved as in nanoGPT) -> causal softmax
// attention output [B, T, C] with n_head heads, logits scaled by scale_mult / sqrt(C / n_head)
// (scale_mult: μP's attention factor, 1 under sp). No dropout.
torch::Tensor causal_attention(const torch::Tensor& qkv, int64_t n_head, double scale_mult = 1);

// gelu(x W^T + b), GELU exact (erf) as torch's default; b may be undefined.
torch::Tensor linear_gelu(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b);

// The MLP without its output bias: gelu(x W_fc^T + b_fc) W_proj^T, b_fc may be undefined.
torch::Tensor mlp(const torch::Tensor& x, const torch::Tensor& w_fc, const torch::Tensor& b_fc,
                  const torch::Tensor& w_proj);

// Mean cross-entropy of logits [N, V] against class indices [N] (int64), as
// torch::nn::functional::cross_entropy with its defaults; a target outside [0, V) throws.
torch::Tensor cross_entropy(const torch::Tensor& logits, const torch::Tensor& target);

// LayerNorm over the last dim, as torch::layer_norm with that eps; beta may be undefined.
torch::Tensor layer_norm(const torch::Tensor& x, const torch::Tensor& gamma, const torch::Tensor& beta, double eps);

// The residual stream's add and the norm after it in one pass: x = res + branch (+ bias,
// the branch's output bias, which may be undefined) and y = layer_norm(x, gamma, beta, eps).
// Returns {x, y}. res and branch have the same shape.
std::pair<torch::Tensor, torch::Tensor> add_layer_norm(const torch::Tensor& res, const torch::Tensor& branch,
                                                       const torch::Tensor& bias, const torch::Tensor& gamma,
                                                       const torch::Tensor& beta, double eps);

// Tests: cap the element-wise kernels (pointwise.cpp, norm.cpp) at a narrower form than the CPU
// has, 2 = AVX-512 (the default: the widest there), 1 = AVX2, 0 = scalar (SSE2 for LayerNorm), so every
// form is checked on this machine.
void limit_pointwise_isa(int level);

}  // namespace scalelab::trainer::cpu
