// The CPU fast path's element-wise work, fused where LibTorch 1.13 makes passes
// over memory: the MLP's bias and GELU ride on its first GEMM (with the bias
// gradient summed in the same pass as GELU's backward), and cross-entropy is one
// pass per row forward and one backward (no log-softmax tensor). Measured at the
// 0.84M shape, aten::gelu and aten::gelu_backward alone were 16% of a step.
#include <immintrin.h>

#include <atomic>
#include <cmath>
#include <limits>
#include <vector>

#include "trainer/gemm.h"
#include "trainer/kernels.h"
#include "trainer/linear_parts.h"
#include "trainer/simd_math.h"

namespace scalelab::trainer::cpu {

namespace {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;
using namespace simd;

// The widest form the CPU has, unless a test lowers it (limit_pointwise_isa).
std::atomic<int> isa_cap{2};
bool use_avx512() {
  static const bool yes = __builtin_cpu_supports("avx512f");
  return yes && isa_cap.load(std::memory_order_relaxed) >= 2;
}
// The GELU passes use FMA as well (fma_ok); the cross-entropy rows need AVX2 only.
bool use_avx2() { return have_avx2() && isa_cap.load(std::memory_order_relaxed) >= 1; }
bool fma_ok() {
  static const bool yes = __builtin_cpu_supports("fma");
  return yes && use_avx2();
}

// Exact (erf) GELU, x Φ(x), as torch.nn.functional.gelu's default. Φ comes from
// Abramowitz & Stegun 7.1.26 (|error| <= 1.5e-7 in erf), whose exp(-x²/2) is also
// the density φ that the backward needs: one exponential serves both. Computing the
// tail mass q = 1 - Φ(|x|) directly keeps negative x free of cancellation.
constexpr float kErfP = 0.3275911f, kInvSqrt2 = 0.70710678118654752f, kInvSqrt2Pi = 0.39894228040143268f;
constexpr float kErfA[5] = {0.254829592f, -0.284496736f, 1.421413741f, -1.453152027f, 1.061405429f};

struct Normal {
  float cdf, pdf;
};

inline Normal normal_scalar(float x) {
  const float t = 1.0f / (1.0f + kErfP * (std::fabs(x) * kInvSqrt2));
  float r = kErfA[4];
  for (int i = 3; i >= 0; --i) r = r * t + kErfA[i];
  const float e = exp_scalar((x * x) * -0.5f);
  const float q = ((r * t) * e) * 0.5f;
  return {x >= 0 ? 1.0f - q : q, e * kInvSqrt2Pi};  // NaN: q, which is NaN
}

struct NormalV {
  __m256 cdf, pdf;
};

__attribute__((target("avx2,fma"))) inline NormalV normal_avx2(__m256 x) {
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 ax = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
  const __m256 t = _mm256_div_ps(one, _mm256_fmadd_ps(_mm256_set1_ps(kErfP * kInvSqrt2), ax, one));
  __m256 r = _mm256_set1_ps(kErfA[4]);
  for (int i = 3; i >= 0; --i) r = _mm256_fmadd_ps(r, t, _mm256_set1_ps(kErfA[i]));
  const __m256 e = exp_avx2(_mm256_mul_ps(_mm256_mul_ps(x, x), _mm256_set1_ps(-0.5f)));
  const __m256 q = _mm256_mul_ps(_mm256_mul_ps(_mm256_mul_ps(r, t), e), _mm256_set1_ps(0.5f));
  const __m256 pos = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GE_OQ);  // false for NaN, as x >= 0
  return {_mm256_blendv_ps(q, _mm256_sub_ps(one, q), pos), _mm256_mul_ps(e, _mm256_set1_ps(kInvSqrt2Pi))};
}

// The AVX2 form adds FMA: at 8 lanes without it, GELU cost more than LibTorch's own kernel.

// Row pass of the forward: u += b (b may be null), a = gelu(u).
void bias_gelu_plain(float* u, const float* b, float* a, int64_t n) {
  for (int64_t j = 0; j < n; ++j) {
    if (b) u[j] += b[j];
    a[j] = u[j] * normal_scalar(u[j]).cdf;
  }
}

// Row pass of the backward: du = dy gelu'(u), and db += du (db may be null).
void gelu_grad_plain(const float* dy, const float* u, float* du, float* db, int64_t n) {
  for (int64_t j = 0; j < n; ++j) {
    const Normal p = normal_scalar(u[j]);
    du[j] = dy[j] * (p.cdf + u[j] * p.pdf);
    if (db) db[j] += du[j];
  }
}

// The vector forms run a row's last n % 8 entries as one masked vector, so on an
// AVX2 machine every entry takes the same path; whole vectors use plain loads
// (a masked store is slow on some x86 cores).
template <bool kMasked>
__attribute__((target("avx2"))) inline __m256 load(const float* p, __m256i m) {
  return kMasked ? _mm256_maskload_ps(p, m) : _mm256_loadu_ps(p);
}

template <bool kMasked>
__attribute__((target("avx2"))) inline void store(float* p, __m256i m, __m256 v) {
  kMasked ? _mm256_maskstore_ps(p, m, v) : _mm256_storeu_ps(p, v);
}

__attribute__((target("avx2"))) inline __m256i tail_mask(int64_t m) {
  return _mm256_castps_si256(lanes_below(m));
}

template <bool kMasked>
__attribute__((target("avx2,fma"))) inline void bias_gelu_vec(float* u, const float* b, float* a, __m256i m) {
  __m256 x = load<kMasked>(u, m);
  if (b) {
    x = _mm256_add_ps(x, load<kMasked>(b, m));
    store<kMasked>(u, m, x);
  }
  store<kMasked>(a, m, _mm256_mul_ps(x, normal_avx2(x).cdf));
}

__attribute__((target("avx2,fma"))) void bias_gelu_avx2(float* u, const float* b, float* a, int64_t n) {
  const __m256i all = _mm256_set1_epi32(-1);
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) bias_gelu_vec<false>(u + j, b ? b + j : nullptr, a + j, all);
  if (j < n) bias_gelu_vec<true>(u + j, b ? b + j : nullptr, a + j, tail_mask(n - j));
}

template <bool kMasked>
__attribute__((target("avx2,fma"))) inline void gelu_grad_vec(const float* dy, const float* u, float* du, float* db,
                                                          __m256i m) {
  const __m256 x = load<kMasked>(u, m);
  const NormalV p = normal_avx2(x);
  const __m256 g = _mm256_mul_ps(load<kMasked>(dy, m), _mm256_fmadd_ps(x, p.pdf, p.cdf));
  store<kMasked>(du, m, g);
  if (db) store<kMasked>(db, m, _mm256_add_ps(load<kMasked>(db, m), g));
}

__attribute__((target("avx2,fma"))) void gelu_grad_avx2(const float* dy, const float* u, float* du, float* db, int64_t n) {
  const __m256i all = _mm256_set1_epi32(-1);
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) gelu_grad_vec<false>(dy + j, u + j, du + j, db ? db + j : nullptr, all);
  if (j < n) gelu_grad_vec<true>(dy + j, u + j, du + j, db ? db + j : nullptr, tail_mask(n - j));
}

// AVX-512 forms (16 lanes, FMA, native masks): GELU is compute-bound here, one
// erf and one exp per entry, and at 8 lanes without FMA it cost more than
// LibTorch's own kernel.
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

struct Normal512 {
  __m512 cdf, pdf;
};

SCALELAB_AVX512 inline Normal512 normal_avx512(__m512 x) {
  const __m512 one = _mm512_set1_ps(1.0f);
  const __m512 ax = _mm512_abs_ps(x);
  const __m512 t = _mm512_div_ps(one, _mm512_fmadd_ps(_mm512_set1_ps(kErfP * kInvSqrt2), ax, one));
  __m512 r = _mm512_set1_ps(kErfA[4]);
  for (int i = 3; i >= 0; --i) r = _mm512_fmadd_ps(r, t, _mm512_set1_ps(kErfA[i]));
  const __m512 e = exp_avx512(_mm512_mul_ps(_mm512_mul_ps(x, x), _mm512_set1_ps(-0.5f)));
  const __m512 q = _mm512_mul_ps(_mm512_mul_ps(r, t), _mm512_mul_ps(e, _mm512_set1_ps(0.5f)));
  const __mmask16 pos = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GE_OQ);  // NaN: q
  return {_mm512_mask_blend_ps(pos, q, _mm512_sub_ps(one, q)), _mm512_mul_ps(e, _mm512_set1_ps(kInvSqrt2Pi))};
}

SCALELAB_AVX512 inline __mmask16 mask16(int64_t left) {
  return left >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << left) - 1);
}

SCALELAB_AVX512 void bias_gelu_avx512(float* u, const float* b, float* a, int64_t n) {
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 m = mask16(n - j);
    __m512 x = _mm512_maskz_loadu_ps(m, u + j);
    if (b) {
      x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(m, b + j));
      _mm512_mask_storeu_ps(u + j, m, x);
    }
    _mm512_mask_storeu_ps(a + j, m, _mm512_mul_ps(x, normal_avx512(x).cdf));
  }
}

SCALELAB_AVX512 void gelu_grad_avx512(const float* dy, const float* u, float* du, float* db, int64_t n) {
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 m = mask16(n - j);
    const __m512 x = _mm512_maskz_loadu_ps(m, u + j);
    const Normal512 p = normal_avx512(x);
    const __m512 g = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, dy + j), _mm512_fmadd_ps(x, p.pdf, p.cdf));
    _mm512_mask_storeu_ps(du + j, m, g);
    if (db) _mm512_mask_storeu_ps(db + j, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, db + j), g));
  }
}

// Rows per GEMM call in the forward: a chunk's pre-activations (256 x 4C floats at
// the CPU shapes) are still in L2 when the bias-and-GELU pass reads them.
constexpr int64_t kRowChunk = 256;

Tensor linear_gelu_forward(AutogradContext* ctx, const Tensor& x, const Tensor& w, const Tensor& b) {
  const int64_t N = w.size(0), K = w.size(1);
  Tensor x2 = x.reshape({-1, K}).contiguous();
  Tensor wc = w.contiguous();
  const int64_t M = x2.size(0);
  Tensor u = at::empty({M, N}, x.options()), a = at::empty({M, N}, x.options());
  const float *X = x2.data_ptr<float>(), *W = wc.data_ptr<float>(), *Bv = b.defined() ? b.data_ptr<float>() : nullptr;
  float *U = u.data_ptr<float>(), *A = a.data_ptr<float>();
  const bool avx512 = use_avx512(), avx2 = fma_ok();
  for (int64_t r0 = 0; r0 < M; r0 += kRowChunk) {
    const int64_t rows = std::min(kRowChunk, M - r0);
    sgemm(false, true, rows, N, K, 1, X + r0 * K, K, W, K, 0, U + r0 * N, N);
    for (int64_t r = r0; r < r0 + rows; ++r)
      avx512 ? bias_gelu_avx512(U + r * N, Bv, A + r * N, N)
      : avx2 ? bias_gelu_avx2(U + r * N, Bv, A + r * N, N)
             : bias_gelu_plain(U + r * N, Bv, A + r * N, N);
  }
  ctx->save_for_backward({x2, wc, u});
  ctx->saved_data["x_sizes"] = x.sizes().vec();
  return a.view(parts::with_last(x.sizes(), N));
}

variable_list linear_gelu_backward(AutogradContext* ctx, const Tensor& grad, bool bias) {
  const auto saved = ctx->get_saved_variables();
  const Tensor &x2 = saved[0], &w = saved[1], &u = saved[2];
  const int64_t N = w.size(0), M = x2.size(0);
  Tensor gy = grad.reshape({M, N}).contiguous();
  Tensor g = at::empty({M, N}, gy.options());  // dL/du
  const bool want_b = bias && ctx->needs_input_grad(2);
  Tensor gb = want_b ? at::zeros({N}, g.options()) : Tensor();
  float *G = g.data_ptr<float>(), *GB = want_b ? gb.data_ptr<float>() : nullptr;
  const float *U = u.data_ptr<float>(), *GY = gy.data_ptr<float>();
  const bool avx512 = use_avx512(), avx2 = fma_ok();
  for (int64_t r = 0; r < M; ++r) {
    const int64_t o = r * N;
    avx512 ? gelu_grad_avx512(GY + o, U + o, G + o, GB, N)
    : avx2 ? gelu_grad_avx2(GY + o, U + o, G + o, GB, N)
           : gelu_grad_plain(GY + o, U + o, G + o, GB, N);
  }
  auto [gx, gw] = parts::linear_grads(ctx, G, x2, w);
  if (!bias) return {gx, gw};
  return {gx, gw, gb};
}

// LibTorch 1.13 cannot record an undefined tensor as a Function input (see LinearFn).
struct LinearGeluFn : torch::autograd::Function<LinearGeluFn> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x, const Tensor& w, const Tensor& b) {
    return linear_gelu_forward(ctx, x, w, b);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    return linear_gelu_backward(ctx, grads[0], true);
  }
};

struct LinearGeluNoBiasFn : torch::autograd::Function<LinearGeluNoBiasFn> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x, const Tensor& w) {
    return linear_gelu_forward(ctx, x, w, Tensor());
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    return linear_gelu_backward(ctx, grads[0], false);
  }
};

// Cross-entropy, mean over rows, of logits [N, V] against class indices [N]. The
// forward keeps each row's log-sum-exp; the backward rebuilds softmax from it.
template <bool kMasked>
__attribute__((target("avx2"))) inline __m256 max_vec(const float* p, __m256i m, __m256 acc) {
  const __m256 ninf = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  __m256 x = load<kMasked>(p, m);
  if (kMasked) x = _mm256_blendv_ps(ninf, x, _mm256_castsi256_ps(m));
  return _mm256_max_ps(x, acc);  // a NaN in x leaves acc; it reaches the loss through exp
}

__attribute__((target("avx2"))) float logsumexp_avx2(const float* x, int64_t n) {
  const __m256i all = _mm256_set1_epi32(-1);
  const int64_t whole = n / 8 * 8;
  __m256 vmax = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  for (int64_t j = 0; j < whole; j += 8) vmax = max_vec<false>(x + j, all, vmax);
  if (whole < n) vmax = max_vec<true>(x + whole, tail_mask(n - whole), vmax);
  const float mx = hmax(vmax);
  const __m256 m = _mm256_set1_ps(mx);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t j = 0; j < whole; j += 8) acc = _mm256_add_ps(acc, exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(x + j), m)));
  if (whole < n) {
    const __m256i t = tail_mask(n - whole);
    const __m256 e = exp_avx2(_mm256_sub_ps(_mm256_maskload_ps(x + whole, t), m));
    acc = _mm256_add_ps(acc, _mm256_and_ps(e, _mm256_castsi256_ps(t)));
  }
  return mx + std::log(hsum(acc));
}

float logsumexp_plain(const float* x, int64_t n) {
  float mx = -std::numeric_limits<float>::infinity();
  for (int64_t j = 0; j < n; ++j) mx = std::max(mx, x[j]);
  float sum = 0;
  for (int64_t j = 0; j < n; ++j) sum += exp_scalar(x[j] - mx);
  return mx + std::log(sum);
}

// g[0, n) = exp(x - lse) * scale.
__attribute__((target("avx2"))) void softmax_scaled_avx2(const float* x, float lse, float scale, float* g, int64_t n) {
  const __m256 l = _mm256_set1_ps(lse), s = _mm256_set1_ps(scale);
  const __m256i all = _mm256_set1_epi32(-1);
  int64_t j = 0;
  for (; j + 8 <= n; j += 8)
    store<false>(g + j, all, _mm256_mul_ps(exp_avx2(_mm256_sub_ps(load<false>(x + j, all), l)), s));
  if (j < n) {
    const __m256i t = tail_mask(n - j);
    store<true>(g + j, t, _mm256_mul_ps(exp_avx2(_mm256_sub_ps(load<true>(x + j, t), l)), s));
  }
}

void softmax_scaled_plain(const float* x, float lse, float scale, float* g, int64_t n) {
  for (int64_t j = 0; j < n; ++j) g[j] = exp_scalar(x[j] - lse) * scale;
}

struct CrossEntropyFn : torch::autograd::Function<CrossEntropyFn> {
  static Tensor forward(AutogradContext* ctx, const Tensor& logits_in, const Tensor& target_in) {
    Tensor logits = logits_in.contiguous(), target = target_in.contiguous();
    const int64_t N = logits.size(0), V = logits.size(1);
    const float* L = logits.data_ptr<float>();
    const int64_t* Tg = target.data_ptr<int64_t>();
    Tensor lse = at::empty({N}, logits.options());
    float* LSE = lse.data_ptr<float>();
    const bool avx2 = use_avx2();
    double total = 0;
    for (int64_t i = 0; i < N; ++i) {
      TORCH_CHECK(Tg[i] >= 0 && Tg[i] < V, "cross_entropy: target ", Tg[i], " is outside [0, ", V, ")");
      const float* row = L + i * V;
      LSE[i] = avx2 ? logsumexp_avx2(row, V) : logsumexp_plain(row, V);
      total += double(LSE[i] - row[Tg[i]]);
    }
    ctx->save_for_backward({logits, target, lse});
    return at::scalar_tensor(static_cast<float>(total / double(N)), logits.options());
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const Tensor &logits = saved[0], &target = saved[1], &lse = saved[2];
    const int64_t N = logits.size(0), V = logits.size(1);
    const float scale = grads[0].item<float>() / static_cast<float>(N);
    Tensor g = at::empty_like(logits);
    const float *L = logits.data_ptr<float>(), *LSE = lse.data_ptr<float>();
    const int64_t* Tg = target.data_ptr<int64_t>();
    float* G = g.data_ptr<float>();
    const bool avx2 = use_avx2();
    for (int64_t i = 0; i < N; ++i) {
      avx2 ? softmax_scaled_avx2(L + i * V, LSE[i], scale, G + i * V, V)
           : softmax_scaled_plain(L + i * V, LSE[i], scale, G + i * V, V);
      G[i * V + Tg[i]] -= scale;
    }
    return {g, Tensor()};
  }
};

using parts::check_f32_cpu;

}  // namespace

void limit_pointwise_isa(int level) { isa_cap.store(level); }

Tensor linear_gelu(const Tensor& x, const Tensor& w, const Tensor& b) {
  check_f32_cpu(x, "linear_gelu input");
  check_f32_cpu(w, "linear_gelu weight");
  check_f32_cpu(b, "linear_gelu bias");
  return b.defined() ? LinearGeluFn::apply(x, w, b) : LinearGeluNoBiasFn::apply(x, w);
}

Tensor cross_entropy(const Tensor& logits, const Tensor& target) {
  check_f32_cpu(logits, "cross_entropy logits");
  TORCH_CHECK(logits.dim() == 2 && target.dim() == 1 && target.size(0) == logits.size(0) &&
                  target.scalar_type() == at::kLong && target.is_cpu(),
              "cross_entropy: logits [N, V] float32 and targets [N] int64 on the CPU");
  return CrossEntropyFn::apply(logits, target);
}

}  // namespace scalelab::trainer::cpu
