#pragma once
// Branch-free exp and log the compiler can vectorise (libm's are opaque calls).
// Accuracy: exp within 1 ulp on [-700, 700] (input clamped there), log within
// 2 ulp for positive normal input; fit/vmath_test.cpp checks both against libm.
#include <bit>
#include <cstdint>

namespace scalelab::fit::vm {

inline double exp(double x) {
  x = x < -700.0 ? -700.0 : (x > 700.0 ? 700.0 : x);
  constexpr double inv_ln2 = 1.4426950408889634, ln2_hi = 0.6931471803691238,
                   ln2_lo = 1.9082149292705877e-10;
  constexpr double magic = 6755399441055744.0;  // 1.5 * 2^52: rounds to an integer in the low bits
  const double t = x * inv_ln2 + magic;
  const double n = t - magic;
  const double r = x - n * ln2_hi - n * ln2_lo;  // |r| <= ln2/2
  double p = 1.0 / 6227020800.0;                 // Taylor to r^13: truncation < 2e-17
  p = p * r + 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  // The low 12 bits of t hold n (two's complement): build 2^n directly.
  const std::uint64_t scale = (std::bit_cast<std::uint64_t>(t) + 1023u) << 52;
  return p * std::bit_cast<double>(scale);
}

inline double log(double x) {
  const std::uint64_t bits = std::bit_cast<std::uint64_t>(x);
  const double ex = std::bit_cast<double>((bits >> 52) | 0x4330000000000000ull) -
                    (4503599627370496.0 + 1023.0);
  double m = std::bit_cast<double>((bits & 0x000FFFFFFFFFFFFFull) | 0x3FF0000000000000ull);
  const bool big = m > 1.4142135623730951;
  m = big ? m * 0.5 : m;
  const double k = ex + (big ? 1.0 : 0.0);
  const double f = (m - 1.0) / (m + 1.0), f2 = f * f;  // |f| <= 0.1716
  double p = 1.0 / 23;                                  // atanh series: truncation < 1e-18
  p = p * f2 + 1.0 / 21;
  p = p * f2 + 1.0 / 19;
  p = p * f2 + 1.0 / 17;
  p = p * f2 + 1.0 / 15;
  p = p * f2 + 1.0 / 13;
  p = p * f2 + 1.0 / 11;
  p = p * f2 + 1.0 / 9;
  p = p * f2 + 1.0 / 7;
  p = p * f2 + 1.0 / 5;
  p = p * f2 + 1.0 / 3;
  p = p * f2 + 1.0;
  constexpr double ln2_hi = 0.6931471803691238, ln2_lo = 1.9082149292705877e-10;
  return k * ln2_hi + (2.0 * f * p + k * ln2_lo);
}

}  // namespace scalelab::fit::vm
