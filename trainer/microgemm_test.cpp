// small_gemm in every form this CPU runs, against a double-precision loop, over
// shapes that leave remainders in rows (M % 8, M % 6), in vectors (N % 16, N % 8) and in K,
// with A read in place and transposed, and with and without accumulation.
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "trainer/microgemm.h"

using scalelab::trainer::cpu::small_gemm;
using scalelab::trainer::cpu::small_gemm_as;
using scalelab::trainer::cpu::small_gemm_isa;
using scalelab::trainer::cpu::Strided;

namespace {

struct Case {
  std::int64_t M, N, K;
  bool transposed, accumulate;
};

std::vector<float> random(std::size_t n, std::mt19937& rng) {
  std::normal_distribution<float> d;
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// The largest error over C relative to sum_k |alpha A B| (the rounding scale), for one form.
double worst_error(const char* isa, const Case& c, bool& ran) {
  std::mt19937 rng(unsigned(c.M * 1000003 + c.N * 1009 + c.K));
  const std::int64_t lda = c.transposed ? c.M + 3 : c.K + 5, ldb = c.N + 7, ldc = c.N + 2;
  const auto A = random(std::size_t((c.transposed ? c.K : c.M) * lda), rng);
  const auto B = random(std::size_t(c.K * ldb), rng);
  auto C = random(std::size_t(c.M * ldc), rng);
  const auto C0 = C;
  const Strided a = c.transposed ? Strided{A.data(), 1, lda} : Strided{A.data(), lda, 1};
  const float alpha = 0.37f;
  ran = small_gemm_as(isa, c.M, c.N, c.K, alpha, a, B.data(), ldb, C.data(), ldc, c.accumulate);
  if (!ran) return 0;
  double worst = 0;
  for (std::int64_t i = 0; i < c.M; ++i)
    for (std::int64_t j = 0; j < ldc; ++j) {
      const std::size_t at = std::size_t(i * ldc + j);
      if (j >= c.N) {  // past N: untouched
        worst = std::max(worst, C[at] == C0[at] ? 0.0 : 1.0);
        continue;
      }
      double s = 0, mag = 1e-30;
      for (std::int64_t k = 0; k < c.K; ++k) {
        const double p = double(a.p[i * a.rs + k * a.ks]) * B[std::size_t(k * ldb + j)];
        s += p;
        mag += std::abs(p);
      }
      const double want = alpha * s + (c.accumulate ? C0[at] : 0.0);
      worst = std::max(worst, std::abs(C[at] - want) / (std::abs(alpha) * mag + std::abs(C0[at])));
    }
  return worst;
}

}  // namespace

TEST_CASE("small_gemm: every form this CPU has matches a double-precision product") {
  const std::vector<Case> cases = {
      {1, 1, 1, false, false},    {4, 16, 32, false, false}, {5, 33, 7, false, true},  {7, 17, 64, true, false},
      {16, 32, 32, false, false}, {16, 48, 32, true, true},  {3, 100, 9, true, false}, {32, 128, 128, false, true},
      {13, 8, 1, false, false},   {2, 3, 0, false, false},   {0, 5, 5, true, true},    {64, 31, 40, true, true}};
  int forms = 0;
  for (const char* isa : {"avx512", "avx2", "sse2"}) {
    bool any = false;
    for (const Case& c : cases) {
      bool ran = false;
      const double err = worst_error(isa, c, ran);
      any = any || ran;
      INFO(isa << " M=" << c.M << " N=" << c.N << " K=" << c.K << " transposed=" << c.transposed
               << " accumulate=" << c.accumulate);
      CHECK(err < 1e-5);
    }
    if (!any) MESSAGE("SKIP: small_gemm " << isa << ": this CPU lacks it");
    forms += any;
  }
  CHECK(forms >= 1);  // sse2, the x86-64 baseline, always runs
  const std::string chosen = small_gemm_isa();
  CHECK((chosen == "avx512" || chosen == "avx2" || chosen == "sse2"));
}

TEST_CASE("small_gemm: the dispatched form is the widest one the CPU has") {
  std::vector<float> a = {1, 2, 3, 4}, b = {5, 6, 7, 8}, c(4, 0);
  small_gemm(2, 2, 2, 1, Strided{a.data(), 2, 1}, b.data(), 2, c.data(), 2);
  CHECK(c == std::vector<float>{19, 22, 43, 50});
  small_gemm(2, 2, 2, 1, Strided{a.data(), 1, 2}, b.data(), 2, c.data(), 2, /*accumulate=*/true);
  CHECK(c == std::vector<float>{19 + 26, 22 + 30, 43 + 38, 50 + 44});
  const bool wide = __builtin_cpu_supports("avx512f");
  if (wide) CHECK(std::string(small_gemm_isa()) == "avx512");
}
