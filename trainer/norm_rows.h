#pragma once
// LayerNorm's row kernels for the CPU fast path (norm.cpp), with the residual add
// and the residual branch's bias in the same pass: x = res + branch + bias,
// y = (x - mean) / sqrt(var + eps) * gamma + beta over each row of n floats.
// One body (norm_kernel.h) is compiled per ISA, as small_gemm's is.
#include <cstdint>

namespace scalelab::trainer::cpu::detail {

// Rows [r0, r1). branch, bias, beta may be null; with no branch, x is not written
// (res is the normalised row). mean and rstd get one float per row.
struct NormForward {
  std::int64_t n;
  const float *res, *branch, *bias, *gamma, *beta;
  float *x, *y, *mean, *rstd;
  float eps;
};

// Given dL/dy (gy) and dL/dx from x's other consumers (gx, may be null): dL/dx in
// full into dx, and the parameter gradients summed over the rows into dgamma, dbeta
// and dbias (each may be null; dbias is the sum of dx, the branch bias's gradient).
struct NormBackward {
  std::int64_t n;
  const float *gy, *gx, *x, *mean, *rstd, *gamma;
  float *dx, *dgamma, *dbeta, *dbias;
};

using NormForwardRows = void(const NormForward&, std::int64_t r0, std::int64_t r1);
using NormBackwardRows = void(const NormBackward&, std::int64_t r0, std::int64_t r1);
NormForwardRows norm_forward_avx512, norm_forward_avx2, norm_forward_sse2;    // norm_{isa}.cpp
NormBackwardRows norm_backward_avx512, norm_backward_avx2, norm_backward_sse2;

}  // namespace scalelab::trainer::cpu::detail
