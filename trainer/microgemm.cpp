#include "trainer/microgemm.h"

#include <cstring>
#include <initializer_list>

namespace scalelab::trainer::cpu {

namespace detail {
using Kernel = void (*)(std::int64_t, std::int64_t, std::int64_t, float, const float*, std::int64_t,
                        std::int64_t, const float*, std::int64_t, float*, std::int64_t, bool);
void small_gemm_avx512(std::int64_t, std::int64_t, std::int64_t, float, const float*, std::int64_t,
                       std::int64_t, const float*, std::int64_t, float*, std::int64_t, bool);
void small_gemm_avx2(std::int64_t, std::int64_t, std::int64_t, float, const float*, std::int64_t,
                     std::int64_t, const float*, std::int64_t, float*, std::int64_t, bool);
void small_gemm_sse2(std::int64_t, std::int64_t, std::int64_t, float, const float*, std::int64_t,
                     std::int64_t, const float*, std::int64_t, float*, std::int64_t, bool);
}  // namespace detail

namespace {

struct Choice {
  detail::Kernel fn;
  const char* name;
};

bool supported(const char* isa) {
  if (std::strcmp(isa, "avx512") == 0) return __builtin_cpu_supports("avx512f");
  if (std::strcmp(isa, "avx2") == 0) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return std::strcmp(isa, "sse2") == 0;  // the x86-64 baseline
}

Choice form(const char* isa) {
  if (std::strcmp(isa, "avx512") == 0) return {detail::small_gemm_avx512, "avx512"};
  if (std::strcmp(isa, "avx2") == 0) return {detail::small_gemm_avx2, "avx2"};
  return {detail::small_gemm_sse2, "sse2"};
}

Choice choose() {
  for (const char* isa : {"avx512", "avx2"})
    if (supported(isa)) return form(isa);
  return form("sse2");
}

const Choice& choice() {
  static const Choice c = choose();
  return c;
}

}  // namespace

void small_gemm(std::int64_t M, std::int64_t N, std::int64_t K, float alpha, Strided a, const float* B,
                std::int64_t ldb, float* C, std::int64_t ldc, bool accumulate) {
  choice().fn(M, N, K, alpha, a.p, a.rs, a.ks, B, ldb, C, ldc, accumulate);
}

const char* small_gemm_isa() { return choice().name; }

bool small_gemm_as(const char* isa, std::int64_t M, std::int64_t N, std::int64_t K, float alpha, Strided a,
                   const float* B, std::int64_t ldb, float* C, std::int64_t ldc, bool accumulate) {
  if (!supported(isa)) return false;
  form(isa).fn(M, N, K, alpha, a.p, a.rs, a.ks, B, ldb, C, ldc, accumulate);
  return true;
}

}  // namespace scalelab::trainer::cpu
