#pragma once
// Row-major float32 GEMM from oneDNN, found at run time.
//
// Debian's LibTorch sends fp32 matmuls to the system BLAS (a generic ATLAS
// build, ~35 GFLOP/s on one core here); oneDNN, which LibTorch already loads,
// ships a JIT AVX2/AVX-512 sgemm that is ~5x faster on the small matrices of
// the models scalelab trains. It is looked up with dlsym so no header or link
// dependency is added; where it is absent (or SCALELAB_ONEDNN=0) the model
// uses plain LibTorch ops instead.
#include <cstdint>

namespace scalelab::trainer::cpu {

bool have_fast_gemm();

// C = alpha * op(A) * op(B) + beta * C with C [M, N], op(A) [M, K], op(B) [K, N];
// lda/ldb/ldc are row strides (elements). Requires have_fast_gemm().
void sgemm(bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K,
           float alpha, const float* A, std::int64_t lda, const float* B, std::int64_t ldb,
           float beta, float* C, std::int64_t ldc);

}  // namespace scalelab::trainer::cpu
