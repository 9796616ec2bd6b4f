// The CPU fast path's element-wise work, fused where LibTorch 1.13 makes passes
// over memory: the MLP runs a chunk of rows at a time through c_fc, its bias and
// GELU and c_proj, the hidden activations staying in L2 (the backward the same way,
// with the bias gradient summed in the GELU pass), and cross-entropy is one pass per
// row forward and one backward (no log-softmax tensor). Measured at the 0.84M shape,
// aten::gelu and aten::gelu_backward alone had been 16% of a step.
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
std::atomic<int> isa_level{2};
// The GELU passes use FMA as well (fma_ok); the cross-entropy rows need AVX2 only.
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
  // |x| capped at 1e10, where Φ is 0 or 1 already, so that den stays finite for the
  // reciprocal below (min_ps keeps a NaN in its second operand).
  const __m256 ax = _mm256_min_ps(_mm256_set1_ps(1e10f), _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x));
  // 1 / den by the 12-bit reciprocal and one Newton step (~22 bits, under A&S's own
  // error) instead of a vector division, many times an FMA's cost.
  const __m256 den = _mm256_fmadd_ps(_mm256_set1_ps(kErfP * kInvSqrt2), ax, one);
  __m256 t = _mm256_rcp_ps(den);
  t = _mm256_mul_ps(t, _mm256_fnmadd_ps(den, t, _mm256_set1_ps(2.0f)));
  __m256 r = _mm256_set1_ps(kErfA[4]);
  for (int i = 3; i >= 0; --i) r = _mm256_fmadd_ps(r, t, _mm256_set1_ps(kErfA[i]));
  const __m256 e = exp_avx2(_mm256_mul_ps(_mm256_mul_ps(x, x), _mm256_set1_ps(-0.5f)));
  const __m256 q = _mm256_mul_ps(_mm256_mul_ps(_mm256_mul_ps(r, t), e), _mm256_set1_ps(0.5f));
  const __m256 pos = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GE_OQ);  // false for NaN, as x >= 0
  return {_mm256_blendv_ps(q, _mm256_sub_ps(one, q), pos), _mm256_mul_ps(e, _mm256_set1_ps(kInvSqrt2Pi))};
}

// Row pass of the forward: with v = u + b (b may be null), a = gelu(v) and u is
// overwritten with gelu'(v) = Φ(v) + v φ(v), all the backward needs: the erf and exp
// are computed once, here, while the chunk is in L2.
void bias_gelu_plain(float* u, const float* b, float* a, int64_t n) {
  for (int64_t j = 0; j < n; ++j) {
    const float v = b ? u[j] + b[j] : u[j];
    const Normal p = normal_scalar(v);
    a[j] = v * p.cdf;
    u[j] = p.cdf + v * p.pdf;
  }
}

// Row pass of the backward: du = dy gelu'(v), and db += du (db may be null); du
// may be dy itself. GCC does not vectorise this loop at -O2 (du may alias), so
// the vector forms below are spelled out.
void gelu_grad_plain(const float* dy, const float* d, float* du, float* db, int64_t n) {
  for (int64_t j = 0; j < n; ++j) {
    du[j] = dy[j] * d[j];
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
  if (b) x = _mm256_add_ps(x, load<kMasked>(b, m));
  const NormalV p = normal_avx2(x);
  store<kMasked>(a, m, _mm256_mul_ps(x, p.cdf));
  store<kMasked>(u, m, _mm256_fmadd_ps(x, p.pdf, p.cdf));
}

__attribute__((target("avx2,fma"))) void bias_gelu_avx2(float* u, const float* b, float* a, int64_t n) {
  const __m256i all = _mm256_set1_epi32(-1);
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) bias_gelu_vec<false>(u + j, b ? b + j : nullptr, a + j, all);
  if (j < n) bias_gelu_vec<true>(u + j, b ? b + j : nullptr, a + j, tail_mask(n - j));
}

// AVX-512 forms: GELU is compute-bound here, one erf and one exp per entry, and at
// 8 lanes without FMA it cost more than LibTorch's own kernel.
struct Normal512 {
  __m512 cdf, pdf;
};

SCALELAB_AVX512 inline Normal512 normal_avx512(__m512 x) {
  const __m512 one = _mm512_set1_ps(1.0f);
  const __m512 ax = _mm512_min_ps(_mm512_set1_ps(1e10f), _mm512_abs_ps(x));  // as in normal_avx2
  const __m512 den = _mm512_fmadd_ps(_mm512_set1_ps(kErfP * kInvSqrt2), ax, one);
  __m512 t = _mm512_rcp14_ps(den);  // and one Newton step, as in normal_avx2
  t = _mm512_mul_ps(t, _mm512_fnmadd_ps(den, t, _mm512_set1_ps(2.0f)));
  __m512 r = _mm512_set1_ps(kErfA[4]);
  for (int i = 3; i >= 0; --i) r = _mm512_fmadd_ps(r, t, _mm512_set1_ps(kErfA[i]));
  const __m512 e = exp_avx512(_mm512_mul_ps(_mm512_mul_ps(x, x), _mm512_set1_ps(-0.5f)));
  const __m512 q = _mm512_mul_ps(_mm512_mul_ps(r, t), _mm512_mul_ps(e, _mm512_set1_ps(0.5f)));
  const __mmask16 pos = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GE_OQ);  // NaN: q
  return {_mm512_mask_blend_ps(pos, q, _mm512_sub_ps(one, q)), _mm512_mul_ps(e, _mm512_set1_ps(kInvSqrt2Pi))};
}

SCALELAB_AVX512 void bias_gelu_avx512(float* u, const float* b, float* a, int64_t n) {
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 m = mask16(n - j);
    __m512 x = _mm512_maskz_loadu_ps(m, u + j);
    if (b) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(m, b + j));
    const Normal512 p = normal_avx512(x);
    _mm512_mask_storeu_ps(a + j, m, _mm512_mul_ps(x, p.cdf));
    _mm512_mask_storeu_ps(u + j, m, _mm512_fmadd_ps(x, p.pdf, p.cdf));
  }
}

SCALELAB_AVX512 void gelu_grad_avx512(const float* dy, const float* d, float* du, float* db, int64_t n) {
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 m = mask16(n - j);
    const __m512 g = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, dy + j), _mm512_maskz_loadu_ps(m, d + j));
    _mm512_mask_storeu_ps(du + j, m, g);
    if (db) _mm512_mask_storeu_ps(db + j, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, db + j), g));
  }
}

template <bool kMasked>
__attribute__((target("avx2"))) inline void gelu_grad_vec(const float* dy, const float* d, float* du, float* db,
                                                      __m256i m) {
  const __m256 g = _mm256_mul_ps(load<kMasked>(dy, m), load<kMasked>(d, m));
  store<kMasked>(du, m, g);
  if (db) store<kMasked>(db, m, _mm256_add_ps(load<kMasked>(db, m), g));
}

__attribute__((target("avx2"))) void gelu_grad_avx2(const float* dy, const float* d, float* du, float* db, int64_t n) {
  const __m256i all = _mm256_set1_epi32(-1);
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) gelu_grad_vec<false>(dy + j, d + j, du + j, db ? db + j : nullptr, all);
  if (j < n) gelu_grad_vec<true>(dy + j, d + j, du + j, db ? db + j : nullptr, tail_mask(n - j));
}

void gelu_grad_rows(const float* dy, const float* d, float* du, float* db, int64_t rows, int64_t n) {
  const bool avx512 = use_avx512(), avx2 = use_avx2();
  for (int64_t r = 0; r < rows; ++r)
    avx512 ? gelu_grad_avx512(dy + r * n, d + r * n, du + r * n, db, n)
    : avx2 ? gelu_grad_avx2(dy + r * n, d + r * n, du + r * n, db, n)
           : gelu_grad_plain(dy + r * n, d + r * n, du + r * n, db, n);
}

// The forward's GEMM runs in chunks of parts::kRowChunk rows: a chunk's
// pre-activations are still in L2 when the bias-and-GELU pass reads them.
using parts::kRowChunk;

// The MLP, gelu(x W1^T + b1) W2^T, or without W2 just its first layer and GELU:
// a chunk of rows at a time through both GEMMs, so the hidden activations of a chunk
// (rows x 4C) are in L2 between the GEMM that makes them, the GELU pass and the GEMM
// that reads them. W2's bias is left to the caller (the residual add takes it).
using parts::OptTensor;
using parts::opt;
using parts::ptr;

void bias_gelu_rows(float* u, const float* b, float* a, int64_t rows, int64_t n) {
  const bool avx512 = use_avx512(), avx2 = fma_ok();
  for (int64_t r = 0; r < rows; ++r)
    avx512 ? bias_gelu_avx512(u + r * n, b, a + r * n, n)
    : avx2 ? bias_gelu_avx2(u + r * n, b, a + r * n, n)
           : bias_gelu_plain(u + r * n, b, a + r * n, n);
}

Tensor mlp_forward(AutogradContext* ctx, const Tensor& x, const Tensor& w1, const OptTensor& b1, const OptTensor& w2_in) {
  const int64_t N = w1.size(0), K = w1.size(1);
  Tensor x2 = x.reshape({-1, K}).contiguous(), wc = w1.contiguous();
  Tensor w2 = w2_in && w2_in->defined() ? w2_in->contiguous() : Tensor();
  const int64_t M = x2.size(0), out_n = w2.defined() ? w2.size(0) : N;
  Tensor d = at::empty({M, N}, x.options()), a = at::empty({M, N}, x.options());
  Tensor out = w2.defined() ? at::empty({M, out_n}, x.options()) : a;
  const float *X = x2.data_ptr<float>(), *W = wc.data_ptr<float>();
  float *D = d.data_ptr<float>(), *A = a.data_ptr<float>();
  for (int64_t r0 = 0; r0 < M; r0 += kRowChunk) {
    const int64_t rows = std::min(kRowChunk, M - r0);
    sgemm(false, true, rows, N, K, 1, X + r0 * K, K, W, K, 0, D + r0 * N, N);
    bias_gelu_rows(D + r0 * N, ptr(b1), A + r0 * N, rows, N);  // D: gelu' from here on
    if (w2.defined())
      sgemm(false, true, rows, out_n, N, 1, A + r0 * N, N, w2.data_ptr<float>(), N, 0,
            out.data_ptr<float>() + r0 * out_n, out_n);
  }
  ctx->save_for_backward(w2.defined() ? variable_list{x2, wc, d, w2, a} : variable_list{x2, wc, d});
  ctx->saved_data["x_sizes"] = x.sizes().vec();
  ctx->saved_data["b1"] = bool(ptr(b1));
  return out.view(parts::with_last(x.sizes(), out_n));
}

variable_list mlp_backward(AutogradContext* ctx, const Tensor& grad) {
  const auto saved = ctx->get_saved_variables();
  const Tensor &x2 = saved[0], &w1 = saved[1], &d = saved[2];
  const bool two = saved.size() == 5, bias = ctx->saved_data["b1"].toBool();
  const int64_t N = w1.size(0), M = x2.size(0), out_n = two ? saved[3].size(0) : N;
  Tensor gy = grad.reshape({M, out_n}).contiguous();
  // dL/du a chunk at a time, in L2 for the GEMMs on either side of the GELU pass.
  Tensor g = at::empty({std::min(kRowChunk, M), N}, gy.options());
  // needs_input_grad counts the tensors given, not the missing optional ones.
  const bool want_b = bias && ctx->needs_input_grad(2), want_w2 = two && ctx->needs_input_grad(bias ? 3 : 2);
  Tensor gb = want_b ? at::zeros({N}, g.options()) : Tensor();
  Tensor gw2 = want_w2 ? at::empty({out_n, N}, g.options()) : Tensor();
  float *G = g.data_ptr<float>(), *GB = want_b ? gb.data_ptr<float>() : nullptr;
  const float *D = d.data_ptr<float>(), *GY = gy.data_ptr<float>();
  parts::LinearGrads grads(ctx, x2, w1);
  for (int64_t r0 = 0; r0 < M; r0 += kRowChunk) {
    const int64_t rows = std::min(kRowChunk, M - r0);
    const float* up = GY + r0 * out_n;  // dL/da of these rows: gy itself, or gy W2
    if (two) {
      sgemm(false, false, rows, N, out_n, 1, up, out_n, saved[3].data_ptr<float>(), N, 0, G, N);
      if (want_w2)
        sgemm(true, false, out_n, N, rows, 1, up, out_n, saved[4].data_ptr<float>() + r0 * N, N, r0 ? 1.0f : 0.0f,
              gw2.data_ptr<float>(), N);
      up = G;
    }
    gelu_grad_rows(up, D + r0 * N, G, GB, rows, N);
    grads.add_rows(G, r0, rows);
  }
  auto [gx, gw] = grads.done();
  return {gx, gw, gb, gw2};
}

struct MlpFn : torch::autograd::Function<MlpFn> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x, const Tensor& w1, const OptTensor& b1,
                        const OptTensor& w2) {
    return mlp_forward(ctx, x, w1, b1, w2);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) { return mlp_backward(ctx, grads[0]); }
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

void limit_pointwise_isa(int level) { isa_level.store(level); }

int simd::isa_cap() { return isa_level.load(std::memory_order_relaxed); }

Tensor linear_gelu(const Tensor& x, const Tensor& w, const Tensor& b) {
  return mlp(x, w, b, Tensor());
}

Tensor mlp(const Tensor& x, const Tensor& w_fc, const Tensor& b_fc, const Tensor& w_proj) {
  check_f32_cpu(x, "mlp input");
  check_f32_cpu(w_fc, "mlp c_fc weight");
  check_f32_cpu(b_fc, "mlp c_fc bias");
  check_f32_cpu(w_proj, "mlp c_proj weight");
  TORCH_CHECK(!w_proj.defined() || w_proj.size(1) == w_fc.size(0), "mlp: c_proj takes ", w_proj.size(1),
              " inputs, c_fc gives ", w_fc.size(0));
  return MlpFn::apply(x, w_fc, opt(b_fc), opt(w_proj));
}

Tensor cross_entropy(const Tensor& logits, const Tensor& target) {
  check_f32_cpu(logits, "cross_entropy logits");
  TORCH_CHECK(logits.dim() == 2 && target.dim() == 1 && target.size(0) == logits.size(0) &&
                  target.scalar_type() == at::kLong && target.is_cpu(),
              "cross_entropy: logits [N, V] float32 and targets [N] int64 on the CPU");
  return CrossEntropyFn::apply(logits, target);
}

}  // namespace scalelab::trainer::cpu
