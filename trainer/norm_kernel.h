// The body of the LayerNorm row kernels (norm_rows.h) for one vector width,
// included by norm_{avx512,avx2,sse2}.cpp, each compiled for its ISA. As in
// microgemm_kernel.h everything here has internal linkage and no standard-library
// inline function is used, so no ISA-specific copy of one can leak to the linker.
#ifndef SCALELAB_W
#error "define SCALELAB_W (floats per vector) and SCALELAB_NORM_SUFFIX before including"
#endif
#include "trainer/norm_rows.h"

#define SCALELAB_CAT2(a, b) a##b
#define SCALELAB_CAT(a, b) SCALELAB_CAT2(a, b)

namespace {

using scalelab::trainer::cpu::detail::NormBackward;
using scalelab::trainer::cpu::detail::NormForward;
using i64 = std::int64_t;

constexpr int W = SCALELAB_W;
typedef float vec __attribute__((vector_size(4 * SCALELAB_W)));

inline vec load(const float* p) {
  vec v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}
inline void store(float* p, vec v) { __builtin_memcpy(p, &v, sizeof v); }
inline vec splat(float s) { return vec{} + s; }
inline float hsum(vec v) {
  float s = 0;
  for (int i = 0; i < W; ++i) s += v[i];
  return s;
}

// Writes x = res + branch (+ bias) and returns its sum; the row's tail past the
// last whole vector goes one float at a time.
float add_row(const NormForward& a, i64 o, float* x) {
  const float *res = a.res + o, *br = a.branch + o, *b = a.bias;
  vec s = vec{};
  i64 j = 0;
  for (; j + W <= a.n; j += W) {
    vec v = load(res + j) + load(br + j);
    if (b) v += load(b + j);
    store(x + j, v);
    s += v;
  }
  float t = hsum(s);
  for (; j < a.n; ++j) {
    x[j] = res[j] + br[j] + (b ? b[j] : 0.0f);
    t += x[j];
  }
  return t;
}

float row_sum(const float* x, i64 n) {
  vec s = vec{};
  i64 j = 0;
  for (; j + W <= n; j += W) s += load(x + j);
  float t = hsum(s);
  for (; j < n; ++j) t += x[j];
  return t;
}

// Two passes (mean, then squared deviations), as accurate as LibTorch's Welford
// on rows this short, and the row is in L1 for the second.
float squared_deviations(const float* x, i64 n, float mean) {
  const vec m = splat(mean);
  vec s = vec{};
  i64 j = 0;
  for (; j + W <= n; j += W) {
    const vec d = load(x + j) - m;
    s += d * d;
  }
  float t = hsum(s);
  for (; j < n; ++j) t += (x[j] - mean) * (x[j] - mean);
  return t;
}

void normalise_row(const NormForward& a, const float* x, float* y, float mean, float rstd) {
  const vec m = splat(mean), r = splat(rstd);
  i64 j = 0;
  for (; j + W <= a.n; j += W) {
    vec v = (load(x + j) - m) * r * load(a.gamma + j);
    if (a.beta) v += load(a.beta + j);
    store(y + j, v);
  }
  for (; j < a.n; ++j) y[j] = (x[j] - mean) * rstd * a.gamma[j] + (a.beta ? a.beta[j] : 0.0f);
}

// Row pass 1 of the backward: sums of g = gy * gamma and of g * xhat over the row,
// and gy * xhat, gy into the parameter gradients.
void backward_sums(const NormBackward& a, i64 o, float mean, float rstd, float& sg, float& sgx) {
  const float *x = a.x + o, *gy = a.gy + o;
  const vec m = splat(mean), r = splat(rstd);
  vec s1 = vec{}, s2 = vec{};
  i64 j = 0;
  for (; j + W <= a.n; j += W) {
    const vec xh = (load(x + j) - m) * r, dy = load(gy + j), g = dy * load(a.gamma + j);
    s1 += g;
    s2 += g * xh;
    store(a.dgamma + j, load(a.dgamma + j) + dy * xh);
    if (a.dbeta) store(a.dbeta + j, load(a.dbeta + j) + dy);
  }
  sg = hsum(s1);
  sgx = hsum(s2);
  for (; j < a.n; ++j) {
    const float xh = (x[j] - mean) * rstd, g = gy[j] * a.gamma[j];
    sg += g;
    sgx += g * xh;
    a.dgamma[j] += gy[j] * xh;
    if (a.dbeta) a.dbeta[j] += gy[j];
  }
}

// Row pass 2: dx = rstd (g - mean(g) - xhat mean(g xhat)) + gx, and dbias += dx.
void backward_dx(const NormBackward& a, i64 o, float mean, float rstd, float c1, float c2) {
  const float *x = a.x + o, *gy = a.gy + o, *gx = a.gx ? a.gx + o : nullptr;
  float* dx = a.dx + o;
  const vec m = splat(mean), r = splat(rstd), k1 = splat(c1), k2 = splat(c2);
  i64 j = 0;
  for (; j + W <= a.n; j += W) {
    const vec xh = (load(x + j) - m) * r, g = load(gy + j) * load(a.gamma + j);
    vec d = r * (g - k1 - xh * k2);
    if (gx) d += load(gx + j);
    store(dx + j, d);
    if (a.dbias) store(a.dbias + j, load(a.dbias + j) + d);
  }
  for (; j < a.n; ++j) {
    const float xh = (x[j] - mean) * rstd;
    float d = rstd * (gy[j] * a.gamma[j] - c1 - xh * c2);
    if (gx) d += gx[j];
    dx[j] = d;
    if (a.dbias) a.dbias[j] += d;
  }
}

}  // namespace

namespace scalelab::trainer::cpu::detail {

void SCALELAB_CAT(norm_forward_, SCALELAB_NORM_SUFFIX)(const NormForward& a, i64 r0, i64 r1) {
  const float inv_n = 1.0f / float(a.n);
  for (i64 r = r0; r < r1; ++r) {
    const i64 o = r * a.n;
    const float* x = a.branch ? a.x + o : a.res + o;
    const float mean = (a.branch ? add_row(a, o, a.x + o) : row_sum(x, a.n)) * inv_n;
    const float rstd = 1.0f / __builtin_sqrtf(squared_deviations(x, a.n, mean) * inv_n + a.eps);
    normalise_row(a, x, a.y + o, mean, rstd);
    a.mean[r] = mean;
    a.rstd[r] = rstd;
  }
}

void SCALELAB_CAT(norm_backward_, SCALELAB_NORM_SUFFIX)(const NormBackward& a, i64 r0, i64 r1) {
  const float inv_n = 1.0f / float(a.n);
  for (i64 r = r0; r < r1; ++r) {
    float sg, sgx;
    backward_sums(a, r * a.n, a.mean[r], a.rstd[r], sg, sgx);
    backward_dx(a, r * a.n, a.mean[r], a.rstd[r], sg * inv_n, sgx * inv_n);
  }
}

}  // namespace scalelab::trainer::cpu::detail
