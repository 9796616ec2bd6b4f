#include "trainer/microgemm.h"

#include <algorithm>
#include <cstring>
#include <iterator>

namespace scalelab::trainer::cpu {

namespace detail {
using Kernel = void(std::int64_t, std::int64_t, std::int64_t, float, const float*, std::int64_t, std::int64_t,
                    const float*, std::int64_t, float*, std::int64_t, bool);
Kernel small_gemm_avx512, small_gemm_avx2, small_gemm_sse2;  // microgemm_{avx512,avx2,sse2}.cpp
}  // namespace detail

namespace {

struct Form {
  const char* name;
  detail::Kernel* fn;
  bool (*here)();  // does this CPU run it
};

// Widest first: the first form the CPU runs is the one small_gemm uses.
const Form kForms[] = {
    {"avx512", detail::small_gemm_avx512, [] { return bool(__builtin_cpu_supports("avx512f")); }},
    {"avx2", detail::small_gemm_avx2,
     [] { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }},
    {"sse2", detail::small_gemm_sse2, [] { return true; }},  // the x86-64 baseline
};

const Form& chosen() {
  static const Form& f = *std::find_if(std::begin(kForms), std::end(kForms), [](const Form& x) { return x.here(); });
  return f;
}

}  // namespace

void small_gemm(std::int64_t M, std::int64_t N, std::int64_t K, float alpha, Strided a, const float* B,
                std::int64_t ldb, float* C, std::int64_t ldc, bool accumulate) {
  chosen().fn(M, N, K, alpha, a.p, a.rs, a.ks, B, ldb, C, ldc, accumulate);
}

const char* small_gemm_isa() { return chosen().name; }

bool small_gemm_as(const char* isa, std::int64_t M, std::int64_t N, std::int64_t K, float alpha, Strided a,
                   const float* B, std::int64_t ldb, float* C, std::int64_t ldc, bool accumulate) {
  for (const Form& f : kForms)
    if (std::strcmp(f.name, isa) == 0 && f.here()) {
      f.fn(M, N, K, alpha, a.p, a.rs, a.ks, B, ldb, C, ldc, accumulate);
      return true;
    }
  return false;
}

}  // namespace scalelab::trainer::cpu
