#pragma once
// Small float32 GEMMs for the CPU attention kernel (kernels.cpp): the products of
// one head, a few thousand to a million FLOPs each, several thousand per step.
// oneDNN's sgemm spends more on each call's dispatch and packing than on the
// arithmetic at that size; these run from L1 with register tiles, in AVX-512,
// AVX2+FMA or SSE2 form, chosen once from the CPU.
#include <cstdint>

namespace scalelab::trainer::cpu {

// The broadcast operand, A(i, k) = p[i * rs + k * ks]: a row-major matrix
// (rs = ld, ks = 1) or the transpose of one (rs = 1, ks = ld), with no copy.
struct Strided {
  const float* p;
  std::int64_t rs, ks;
};

// C[i, j] = alpha * sum_{k < K} A(i, k) * B[k * ldb + j] (+ C[i, j] when accumulate),
// for i < M, j < N. B and C are row-major with unit column stride.
void small_gemm(std::int64_t M, std::int64_t N, std::int64_t K, float alpha, Strided a, const float* B,
                std::int64_t ldb, float* C, std::int64_t ldc, bool accumulate = false);

// Which form small_gemm runs here: "avx512", "avx2" (with FMA) or "sse2".
const char* small_gemm_isa();

// small_gemm in the named form, for tests that compare the forms on one machine;
// false (and C untouched) where this CPU lacks that ISA.
bool small_gemm_as(const char* isa, std::int64_t M, std::int64_t N, std::int64_t K, float alpha, Strided a,
                   const float* B, std::int64_t ldb, float* C, std::int64_t ldc, bool accumulate = false);

}  // namespace scalelab::trainer::cpu
