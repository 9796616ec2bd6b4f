#pragma once
// Vector math shared by the CPU kernels (kernels.cpp, pointwise.cpp, norm.cpp): exp,
// the lane helpers, and which forms to run. exp_scalar and exp_avx2 are built from
// the same operations in the same order, without FMA (the target is plain avx2), so
// a softmax row done by the scalar fallback gets the values the AVX2 code gives;
// exp_avx512 uses FMA and so differs from them in the last bits.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace scalelab::trainer::cpu::simd {

// exp is Cephes' expf polynomial (~2 ulp).
constexpr float kExpP[6] = {1.9875691500E-4f, 1.3981999507E-3f, 8.3334519073E-3f,
                            4.1665795894E-2f, 1.6666665459E-1f, 5.0000001201E-1f};
constexpr float kLog2e = 1.44269504088896341f, kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
constexpr float kExpMin = -87.0f;  // below it expf leaves the normal range; NaN passes through

inline float exp_scalar(float x) {
  x = std::max(x, kExpMin);
  const float fx = std::floor(x * kLog2e + 0.5f);
  x = x - fx * kLn2Hi;
  x = x - fx * kLn2Lo;
  const float z = x * x;
  float y = kExpP[0];
  for (int i = 1; i < 6; ++i) y = y * x + kExpP[i];
  y = y * z + x + 1.0f;
  // 2^fx through the exponent bits; memcpy, not std::bit_cast: clang 14 with
  // libstdc++ 12 (the fuzz build) has no bit_cast.
  const int32_t bits = (static_cast<int32_t>(fx) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return y * scale;
}

__attribute__((target("avx2"))) inline __m256 exp_avx2(__m256 x) {
  x = _mm256_max_ps(_mm256_set1_ps(kExpMin), x);  // NaN in x stays NaN, as std::max(x, min)
  const __m256 fx = _mm256_floor_ps(_mm256_add_ps(_mm256_mul_ps(x, _mm256_set1_ps(kLog2e)), _mm256_set1_ps(0.5f)));
  x = _mm256_sub_ps(x, _mm256_mul_ps(fx, _mm256_set1_ps(kLn2Hi)));
  x = _mm256_sub_ps(x, _mm256_mul_ps(fx, _mm256_set1_ps(kLn2Lo)));
  const __m256 z = _mm256_mul_ps(x, x);
  __m256 y = _mm256_set1_ps(kExpP[0]);
  for (int i = 1; i < 6; ++i) y = _mm256_add_ps(_mm256_mul_ps(y, x), _mm256_set1_ps(kExpP[i]));
  y = _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(y, z), x), _mm256_set1_ps(1.0f));
  const __m256i n = _mm256_add_epi32(_mm256_cvttps_epi32(fx), _mm256_set1_epi32(127));
  return _mm256_mul_ps(y, _mm256_castsi256_ps(_mm256_slli_epi32(n, 23)));
}

__attribute__((target("avx2"))) inline float hsum(__m256 v) {
  alignas(32) float l[8];
  _mm256_store_ps(l, v);
  return ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
}

__attribute__((target("avx2"))) inline float hmax(__m256 v) {
  alignas(32) float l[8];
  _mm256_store_ps(l, v);
  return std::max(std::max(std::max(l[0], l[1]), std::max(l[2], l[3])),
                  std::max(std::max(l[4], l[5]), std::max(l[6], l[7])));
}

// Lanes [0, m) set, m in [0, 8].
__attribute__((target("avx2"))) inline __m256 lanes_below(int64_t m) {
  const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(m)), iota));
}

inline bool have_avx2() {
  static const bool yes = __builtin_cpu_supports("avx2");
  return yes;
}

// limit_pointwise_isa's level (kernels.h): 2 by default, lowered by tests so that the
// narrower forms of the element-wise kernels run on a machine that has wider ones.
int isa_cap();
inline bool use_avx512() {
  static const bool yes = __builtin_cpu_supports("avx512f");
  return yes && isa_cap() >= 2;
}
inline bool use_avx2() { return have_avx2() && isa_cap() >= 1; }

// AVX-512 (16 lanes, FMA, native masks).
#define SCALELAB_AVX512 __attribute__((target("avx512f")))

SCALELAB_AVX512 inline __m512 exp_avx512(__m512 x) {
  x = _mm512_max_ps(_mm512_set1_ps(kExpMin), x);
  const __m512 fx = _mm512_roundscale_ps(_mm512_fmadd_ps(x, _mm512_set1_ps(kLog2e), _mm512_set1_ps(0.5f)),
                                         _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
  x = _mm512_fnmadd_ps(fx, _mm512_set1_ps(kLn2Hi), x);
  x = _mm512_fnmadd_ps(fx, _mm512_set1_ps(kLn2Lo), x);
  const __m512 z = _mm512_mul_ps(x, x);
  __m512 y = _mm512_set1_ps(kExpP[0]);
  for (int i = 1; i < 6; ++i) y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(kExpP[i]));
  y = _mm512_add_ps(_mm512_fmadd_ps(y, z, x), _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(y, fx);
}

SCALELAB_AVX512 inline __mmask16 mask16(int64_t left) {
  return left >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << left) - 1);
}

}  // namespace scalelab::trainer::cpu::simd
