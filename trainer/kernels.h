#pragma once
// CPU fast path: autograd functions whose linear layers go straight to oneDNN's
// sgemm (see gemm.h) and whose attention reads q, k, v in place from the fused qkv
// projection, each head's products on small_gemm (microgemm.h); only a head's K
// (forward) or V (backward) is copied, transposed, into scratch.
// Float32, CPU, contiguous inputs; only used when cpu::have_fast_gemm().
#include <torch/torch.h>

namespace scalelab::trainer::cpu {

// x [..., in] -> x W^T + b, W [out, in]; b may be undefined.
torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b);

// qkv [B, T, 3C] (q | k | v, heads interleaved as in nanoGPT) -> causal softmax
// attention output [B, T, C] with n_head heads, logits scaled by scale_mult / sqrt(C / n_head)
// (scale_mult: μP's attention factor, 1 under sp). No dropout.
torch::Tensor causal_attention(const torch::Tensor& qkv, int64_t n_head, double scale_mult = 1);

}  // namespace scalelab::trainer::cpu
