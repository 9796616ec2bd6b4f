// The body of small_gemm for one vector width, included by microgemm_{avx512,avx2,
// sse2}.cpp, each compiled for its ISA (trainer/CMakeLists.txt). Everything here has
// internal linkage and no standard-library inline function is used: an AVX-512
// copy of a shared inline function could otherwise be the one the linker keeps.
#ifndef SCALELAB_W
#error "define SCALELAB_W (floats per vector) and SCALELAB_GEMM_NAME before including"
#endif
#include <cstdint>

namespace {

constexpr int W = SCALELAB_W;
typedef float vec __attribute__((vector_size(4 * SCALELAB_W)));
// Rows per tile: MR x 2 vectors of accumulators, as many as the registers hold
// beside two B vectors and a broadcast (32 with AVX-512, 16 below it); more
// accumulators than FMA latency x ports keeps both FMA units busy.
constexpr int MR = W == 16 ? 8 : 6;

inline vec load(const float* p) {
  vec v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}
inline void store(float* p, vec v) { __builtin_memcpy(p, &v, sizeof v); }

// One MR_ x (NV * W) tile of C over the whole K range, accumulators in registers.
template <int MR_, int NV>
inline void tile(std::int64_t K, float alpha, const float* a, std::int64_t rs, std::int64_t ks,
                 const float* B, std::int64_t ldb, float* C, std::int64_t ldc, bool acc) {
  vec c[MR_][NV];
#pragma GCC unroll 8
  for (int i = 0; i < MR_; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) c[i][v] = vec{};
  for (std::int64_t k = 0; k < K; ++k) {
    const float* b = B + k * ldb;
    vec bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = load(b + v * W);
    const float* ak = a + k * ks;
#pragma GCC unroll 8
    for (int i = 0; i < MR_; ++i) {
      const float ai = ak[i * rs];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) c[i][v] += ai * bv[v];
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < MR_; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      float* p = C + i * ldc + v * W;
      vec r = alpha * c[i][v];
      if (acc) r += load(p);
      store(p, r);
    }
}

// The last rows * (NV * W) tile, rows < MR: the tile instantiated for that height.
template <int R, int NV>
inline void remainder(std::int64_t rows, std::int64_t K, float alpha, const float* a, std::int64_t rs,
                      std::int64_t ks, const float* B, std::int64_t ldb, float* C, std::int64_t ldc, bool acc) {
  if constexpr (R >= 1) {
    if (rows == R) return tile<R, NV>(K, alpha, a, rs, ks, B, ldb, C, ldc, acc);
    remainder<R - 1, NV>(rows, K, alpha, a, rs, ks, B, ldb, C, ldc, acc);
  }
}

template <int NV>
void column_panel(std::int64_t M, std::int64_t K, float alpha, const float* a, std::int64_t rs,
                  std::int64_t ks, const float* B, std::int64_t ldb, float* C, std::int64_t ldc, bool acc) {
  std::int64_t i = 0;
  for (; i + MR <= M; i += MR) tile<MR, NV>(K, alpha, a + i * rs, rs, ks, B, ldb, C + i * ldc, ldc, acc);
  if (i < M) remainder<MR - 1, NV>(M - i, K, alpha, a + i * rs, rs, ks, B, ldb, C + i * ldc, ldc, acc);
}

// Columns past the last whole vector, one at a time.
void column_tail(std::int64_t M, std::int64_t N0, std::int64_t N, std::int64_t K, float alpha, const float* a,
                 std::int64_t rs, std::int64_t ks, const float* B, std::int64_t ldb, float* C, std::int64_t ldc,
                 bool acc) {
  for (std::int64_t i = 0; i < M; ++i)
    for (std::int64_t j = N0; j < N; ++j) {
      float s = 0;
      for (std::int64_t k = 0; k < K; ++k) s += a[i * rs + k * ks] * B[k * ldb + j];
      float& c = C[i * ldc + j];
      c = acc ? c + alpha * s : alpha * s;
    }
}

}  // namespace

namespace scalelab::trainer::cpu::detail {

void SCALELAB_GEMM_NAME(std::int64_t M, std::int64_t N, std::int64_t K, float alpha, const float* a,
                        std::int64_t rs, std::int64_t ks, const float* B, std::int64_t ldb, float* C,
                        std::int64_t ldc, bool acc) {
  std::int64_t j = 0;
  for (; j + 2 * W <= N; j += 2 * W) column_panel<2>(M, K, alpha, a, rs, ks, B + j, ldb, C + j, ldc, acc);
  for (; j + W <= N; j += W) column_panel<1>(M, K, alpha, a, rs, ks, B + j, ldb, C + j, ldc, acc);
  if (j < N) column_tail(M, j, N, K, alpha, a, rs, ks, B, ldb, C, ldc, acc);
}

}  // namespace scalelab::trainer::cpu::detail
