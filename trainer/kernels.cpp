#include "trainer/kernels.h"

#include <ATen/Parallel.h>
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "trainer/gemm.h"
#include "trainer/linear_parts.h"
#include "trainer/microgemm.h"
#include "trainer/simd_math.h"

namespace scalelab::trainer::cpu {

namespace {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

const float* f32(const Tensor& t) { return t.data_ptr<float>(); }
float* f32m(Tensor& t) { return t.data_ptr<float>(); }

using parts::check_f32_cpu;
using parts::kRowChunk;
using parts::with_last;

// y = x W^T (+ b). LibTorch 1.13 cannot record an undefined tensor as a Function
// input, so the bias-free layer is its own Function sharing these two halves.
Tensor linear_forward(AutogradContext* ctx, const Tensor& x, const Tensor& w, const Tensor& b) {
  const int64_t N = w.size(0), K = w.size(1);
  Tensor x2 = x.reshape({-1, K}).contiguous();
  Tensor wc = w.contiguous();
  const int64_t M = x2.size(0);
  Tensor y = at::empty({M, N}, x.options());
  if (!b.defined()) {
    sgemm(false, true, M, N, K, 1, f32(x2), K, f32(wc), K, 0, f32m(y), N);
  } else {
    // Each chunk of C is seeded with the bias and the GEMM accumulates onto it while
    // the chunk is in L2: seeding all of C first was one more pass through memory.
    const float* bias = f32(b);
    for (int64_t r0 = 0; r0 < M; r0 += kRowChunk) {
      const int64_t rows = std::min(kRowChunk, M - r0);
      float* c = f32m(y) + r0 * N;
      for (int64_t r = 0; r < rows; ++r) std::memcpy(c + r * N, bias, sizeof(float) * size_t(N));
      sgemm(false, true, rows, N, K, 1, f32(x2) + r0 * K, K, f32(wc), K, 1, c, N);
    }
  }
  ctx->save_for_backward({x2, wc});
  ctx->saved_data["x_sizes"] = x.sizes().vec();
  return y.view(with_last(x.sizes(), N));
}

variable_list linear_backward(AutogradContext* ctx, const Tensor& grad, bool bias) {
  const auto saved = ctx->get_saved_variables();
  const Tensor& x2 = saved[0];
  const Tensor& w = saved[1];
  const int64_t N = w.size(0), M = x2.size(0);
  Tensor gy = grad.reshape({M, N}).contiguous();
  auto [gx, gw] = parts::linear_grads(ctx, f32(gy), x2, w);
  if (!bias) return {gx, gw};
  return {gx, gw, ctx->needs_input_grad(2) ? gy.sum(0) : Tensor()};
}

struct LinearFn : torch::autograd::Function<LinearFn> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x, const Tensor& w, const Tensor& b) {
    return linear_forward(ctx, x, w, b);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    return linear_backward(ctx, grads[0], true);
  }
};

struct LinearNoBiasFn : torch::autograd::Function<LinearNoBiasFn> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x, const Tensor& w) {
    return linear_forward(ctx, x, w, Tensor());
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    return linear_backward(ctx, grads[0], false);
  }
};

// Causal softmax rows: row r of a head's T x T scores has r + 1 keys, so only the
// lower triangle is exponentiated (at T = 64 that is half the work of a masked
// full softmax) and the upper part is written as zeros, as the blocked GEMMs read it.
// A row done by the scalar fallback (no AVX2, or a last vector that would end past
// the row) gets the values the vector code gives (simd_math.h).
using simd::exp_avx2;
using simd::exp_avx512;
using simd::exp_scalar;
using simd::hmax;
using simd::hsum;
using simd::lanes_below;
using simd::mask16;
using simd::use_avx2;
using simd::use_avx512;

// x[0, n) <- softmax(x[0, n)), x[n, len) <- 0, in scalar code.
void softmax_row_plain(float* x, int64_t n, int64_t len) {
  float mx = -std::numeric_limits<float>::infinity();
  for (int64_t j = 0; j < n; ++j) mx = std::max(mx, x[j]);
  float sum = 0;
  for (int64_t j = 0; j < n; ++j) sum += (x[j] = exp_scalar(x[j] - mx));
  const float inv = 1.0f / sum;
  for (int64_t j = 0; j < n; ++j) x[j] *= inv;
  std::fill(x + n, x + len, 0.0f);
}

// A row's last n % 8 entries go through the vector code too, as one masked vector,
// when that vector ends inside the row's storage (len); the row is then done in
// whole vectors end to end (no serial scalar loops: the row max and a libm floor
// per tail entry were most of this kernel's time).
inline int64_t vector_end(int64_t n, int64_t len) {
  const int64_t end = (n + 7) / 8 * 8;
  return end <= len ? end : -1;
}

__attribute__((target("avx2"))) void softmax_row_avx2(float* x, int64_t n, int64_t len) {
  const int64_t end = vector_end(n, len);
  if (end < 0) return softmax_row_plain(x, n, len);
  const int64_t last = end - 8;
  const __m256 tail = lanes_below(n - last), ninf = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  // max_ps(x, acc) keeps acc where x is NaN, as std::max(acc, x) does; a NaN still
  // reaches every output through its exponential in the sum.
  __m256 vmax = ninf;
  for (int64_t j = 0; j < last; j += 8) vmax = _mm256_max_ps(_mm256_loadu_ps(x + j), vmax);
  vmax = _mm256_max_ps(_mm256_blendv_ps(ninf, _mm256_loadu_ps(x + last), tail), vmax);
  const __m256 m = _mm256_set1_ps(hmax(vmax));
  __m256 acc = _mm256_setzero_ps();
  for (int64_t j = 0; j < end; j += 8) {
    __m256 e = exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(x + j), m));
    if (j == last) e = _mm256_and_ps(e, tail);  // lanes past n: whatever was there becomes 0
    _mm256_storeu_ps(x + j, e);
    acc = _mm256_add_ps(acc, e);
  }
  const __m256 inv = _mm256_set1_ps(1.0f / hsum(acc));
  for (int64_t j = 0; j < end; j += 8) _mm256_storeu_ps(x + j, _mm256_mul_ps(_mm256_loadu_ps(x + j), inv));
  std::fill(x + end, x + len, 0.0f);
}

// d[0, n) <- p * (d - dot) with dot = sum(p * d), d[n, len) <- 0, in scalar code.
void softmax_backward_row_plain(float* d, const float* p, int64_t n, int64_t len) {
  float dot = 0;
  for (int64_t j = 0; j < n; ++j) dot += p[j] * d[j];
  for (int64_t j = 0; j < n; ++j) d[j] = p[j] * (d[j] - dot);
  std::fill(d + n, d + len, 0.0f);
}

// p[n, len) is 0 (the forward wrote it so); d there may be unwritten, so the last
// vector's d is loaded masked and nothing past n can reach the sum.
__attribute__((target("avx2"))) void softmax_backward_row_avx2(float* d, const float* p, int64_t n, int64_t len) {
  const int64_t end = vector_end(n, len);
  if (end < 0) return softmax_backward_row_plain(d, p, n, len);
  const int64_t last = end - 8;
  const __m256i tail = _mm256_castps_si256(lanes_below(n - last));
  __m256 acc = _mm256_setzero_ps();
  for (int64_t j = 0; j < last; j += 8) acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm256_loadu_ps(p + j), _mm256_loadu_ps(d + j)));
  const __m256 d_last = _mm256_maskload_ps(d + last, tail);
  acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm256_loadu_ps(p + last), d_last));
  const __m256 dot = _mm256_set1_ps(hsum(acc));
  for (int64_t j = 0; j < last; j += 8)
    _mm256_storeu_ps(d + j, _mm256_mul_ps(_mm256_loadu_ps(p + j), _mm256_sub_ps(_mm256_loadu_ps(d + j), dot)));
  _mm256_storeu_ps(d + last, _mm256_mul_ps(_mm256_loadu_ps(p + last), _mm256_sub_ps(d_last, dot)));
  std::fill(d + end, d + len, 0.0f);
}

// AVX-512 forms: 16 lanes and masked tails, so no row needs the scalar fallback.
SCALELAB_AVX512 void softmax_row_avx512(float* x, int64_t n, int64_t len) {
  const __m512 ninf = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  __m512 vmax = ninf;  // max_ps keeps vmax against a NaN, which still reaches the sum
  for (int64_t j = 0; j < n; j += 16) vmax = _mm512_max_ps(_mm512_mask_loadu_ps(ninf, mask16(n - j), x + j), vmax);
  const __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(vmax));
  __m512 acc = _mm512_setzero_ps();
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 k = mask16(n - j);
    const __m512 e = _mm512_maskz_mov_ps(k, exp_avx512(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + j), m)));
    _mm512_mask_storeu_ps(x + j, k, e);
    acc = _mm512_add_ps(acc, e);
  }
  const __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(acc));
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 k = mask16(n - j);
    _mm512_mask_storeu_ps(x + j, k, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, x + j), inv));
  }
  std::fill(x + n, x + len, 0.0f);
}

SCALELAB_AVX512 void softmax_backward_row_avx512(float* d, const float* p, int64_t n, int64_t len) {
  __m512 acc = _mm512_setzero_ps();
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 k = mask16(n - j);
    acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(k, p + j), _mm512_maskz_loadu_ps(k, d + j), acc);
  }
  const __m512 dot = _mm512_set1_ps(_mm512_reduce_add_ps(acc));
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 k = mask16(n - j);
    const __m512 r = _mm512_mul_ps(_mm512_maskz_loadu_ps(k, p + j), _mm512_sub_ps(_mm512_maskz_loadu_ps(k, d + j), dot));
    _mm512_mask_storeu_ps(d + j, k, r);
  }
  std::fill(d + n, d + len, 0.0f);
}

// Row r of a T x T head block holds the causal row with r + 1 keys.
void causal_softmax(float* s, int64_t T) {
  const bool avx512 = use_avx512(), avx2 = use_avx2();
  for (int64_t r = 0; r < T; ++r)
    avx512 ? softmax_row_avx512(s + r * T, r + 1, T)
    : avx2 ? softmax_row_avx2(s + r * T, r + 1, T)
           : softmax_row_plain(s + r * T, r + 1, T);
}

void causal_softmax_backward(float* d, const float* p, int64_t T) {
  const bool avx512 = use_avx512(), avx2 = use_avx2();
  for (int64_t r = 0; r < T; ++r)
    avx512 ? softmax_backward_row_avx512(d + r * T, p + r * T, r + 1, T)
    : avx2 ? softmax_backward_row_avx2(d + r * T, p + r * T, r + 1, T)
           : softmax_backward_row_plain(d + r * T, p + r * T, r + 1, T);
}

// Causal attention over [B, T, 3C] in row blocks: block [r0, r1) of queries only
// sees keys [0, r1), so the products skip the masked upper triangle except inside
// the diagonal blocks. Each head's products are small_gemm calls (microgemm.h),
// a head's q, k, v and T x T scores staying in L1/L2 between them. The
// probabilities P [B, H, T, T] are saved for backward.
constexpr int64_t kBlock = 16;

struct Geometry {
  int64_t B, T, C, H, hd;
  float scale;
  // scale_mult == 1 (sp) leaves the scale exactly what it was before μP.
  Geometry(const Tensor& qkv, int64_t n_head, double scale_mult)
      : B(qkv.size(0)), T(qkv.size(1)), C(qkv.size(2) / 3), H(n_head), hd(C / n_head),
        scale(1.0f / std::sqrt(static_cast<float>(C / n_head)) * static_cast<float>(scale_mult)) {}
  int64_t block_end(int64_t r0) const { return std::min(T, r0 + kBlock); }
  // Row-major offsets of head h of batch b inside qkv ([B, T, 3C]) and y ([B, T, C]).
  int64_t qkv_off(int64_t b, int64_t h) const { return b * T * 3 * C + h * hd; }
  int64_t y_off(int64_t b, int64_t h) const { return b * T * C + h * hd; }
};

template <typename F>
void for_each_head(const Geometry& g, F&& f) {
  at::parallel_for(0, g.B * g.H, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) f(i / g.H, i % g.H, i);
  });
}

// dst[j * ldd + i] <- src[i * lds + j] for an 8 x 8 block, in registers (AVX).
__attribute__((target("avx"))) void transpose8x8(const float* src, int64_t lds, float* dst, int64_t ldd) {
  __m256 r[8], t[8];
  for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + i * lds);
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    r[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
    r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
    r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
    r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
  }
  for (int i = 0; i < 4; ++i) {
    _mm256_storeu_ps(dst + i * ldd, _mm256_permute2f128_ps(r[i], r[i + 4], 0x20));
    _mm256_storeu_ps(dst + (i + 4) * ldd, _mm256_permute2f128_ps(r[i], r[i + 4], 0x31));
  }
}

// dst [hd, T] <- the transpose of a head's T rows of hd values at stride ld, so that
// products against it read whole rows: 8 x 8 blocks in registers, the edges one
// float at a time (unit-stride stores: strided ones were 3x slower here).
void transpose_head(const float* src, int64_t ld, int64_t T, int64_t hd, float* dst) {
  static const bool avx = __builtin_cpu_supports("avx");
  const int64_t T8 = avx ? T / 8 * 8 : 0, hd8 = avx ? hd / 8 * 8 : 0;
  for (int64_t t = 0; t < T8; t += 8)
    for (int64_t d = 0; d < hd8; d += 8) transpose8x8(src + t * ld + d, ld, dst + d * T + t, T);
  for (int64_t d = 0; d < hd; ++d)
    for (int64_t t = d < hd8 ? T8 : 0; t < T; ++t) dst[d * T + t] = src[t * ld + d];
}

Strided rows(const float* p, int64_t ld) { return {p, ld, 1}; }
Strided columns(const float* p, int64_t ld) { return {p, 1, ld}; }  // the transpose, read in place

struct CausalAttentionFn : torch::autograd::Function<CausalAttentionFn> {
  static Tensor forward(AutogradContext* ctx, const Tensor& qkv_in, int64_t n_head, double scale_mult) {
    Tensor qkv = qkv_in.contiguous();
    const Geometry g(qkv, n_head, scale_mult);
    const int64_t T = g.T, ld = 3 * g.C, hd = g.hd;
    Tensor p = at::empty({g.B, g.H, T, T}, qkv.options());  // scores, then probabilities in place
    Tensor y = at::empty({g.B, T, g.C}, qkv.options());
    Tensor kt = at::empty({g.B * g.H, hd, T}, qkv.options());
    const float* QKV = f32(qkv);
    float *P = f32m(p), *Y = f32m(y), *KT = f32m(kt);
    for_each_head(g, [&](int64_t b, int64_t h, int64_t bh) {
      const float* q = QKV + g.qkv_off(b, h);
      const float* v = q + 2 * g.C;
      float* Ph = P + bh * T * T;
      float* kth = KT + bh * hd * T;
      transpose_head(q + g.C, ld, T, hd, kth);
      for (int64_t r0 = 0; r0 < T; r0 += kBlock) {
        const int64_t r1 = g.block_end(r0);
        small_gemm(r1 - r0, r1, hd, g.scale, rows(q + r0 * ld, ld), kth, T, Ph + r0 * T, T);
      }
      causal_softmax(Ph, T);
      for (int64_t r0 = 0; r0 < T; r0 += kBlock) {
        const int64_t r1 = g.block_end(r0);
        small_gemm(r1 - r0, hd, r1, 1, rows(Ph + r0 * T, T), v, ld, Y + g.y_off(b, h) + r0 * g.C, g.C);
      }
    });
    ctx->save_for_backward({qkv, p});
    ctx->saved_data["n_head"] = n_head;
    ctx->saved_data["scale_mult"] = scale_mult;
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const Tensor& qkv = saved[0];
    const Tensor& p = saved[1];
    const Geometry g(qkv, ctx->saved_data["n_head"].toInt(), ctx->saved_data["scale_mult"].toDouble());
    const int64_t T = g.T, ld = 3 * g.C, hd = g.hd;
    Tensor gy = grads[0].contiguous();
    Tensor ds = at::empty({g.B, g.H, T, T}, qkv.options());
    Tensor vt = at::empty({g.B * g.H, hd, T}, qkv.options());
    Tensor gqkv = at::empty_like(qkv);
    const float *QKV = f32(qkv), *P = f32(p), *GY = f32(gy);
    float *DS = f32m(ds), *VT = f32m(vt), *GQKV = f32m(gqkv);
    for_each_head(g, [&](int64_t b, int64_t h, int64_t bh) {
      const float* q = QKV + g.qkv_off(b, h);
      const float *k = q + g.C, *v = q + 2 * g.C;
      const float* gyh = GY + g.y_off(b, h);
      const float* Ph = P + bh * T * T;
      float* DSh = DS + bh * T * T;
      float* vth = VT + bh * hd * T;
      float *gq = GQKV + g.qkv_off(b, h), *gk = gq + g.C, *gv = gq + 2 * g.C;
      transpose_head(v, ld, T, hd, vth);
      // dP = dY V^T (lower blocks only; causal_softmax_backward reads no more) and
      // dV = P^T dY, where key block [c0, c1) only receives from queries >= c0.
      for (int64_t r0 = 0; r0 < T; r0 += kBlock) {
        const int64_t r1 = g.block_end(r0);
        small_gemm(r1 - r0, r1, hd, 1, rows(gyh + r0 * g.C, g.C), vth, T, DSh + r0 * T, T);
        small_gemm(r1 - r0, hd, T - r0, 1, columns(Ph + r0 * T + r0, T), gyh + r0 * g.C, g.C, gv + r0 * ld, ld);
      }
      causal_softmax_backward(DSh, Ph, T);  // dS, in place; the upper triangle zero
      // dQ = scale dS K (lower blocks), dK = scale dS^T Q (queries >= c0).
      for (int64_t r0 = 0; r0 < T; r0 += kBlock) {
        const int64_t r1 = g.block_end(r0);
        small_gemm(r1 - r0, hd, r1, g.scale, rows(DSh + r0 * T, T), k, ld, gq + r0 * ld, ld);
        small_gemm(r1 - r0, hd, T - r0, g.scale, columns(DSh + r0 * T + r0, T), q + r0 * ld, ld, gk + r0 * ld, ld);
      }
    });
    return {gqkv, Tensor(), Tensor()};
  }
};

}  // namespace

Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b) {
  check_f32_cpu(x, "linear input");
  check_f32_cpu(w, "linear weight");
  check_f32_cpu(b, "linear bias");
  return b.defined() ? LinearFn::apply(x, w, b) : LinearNoBiasFn::apply(x, w);
}

Tensor causal_attention(const Tensor& qkv, int64_t n_head, double scale_mult) {
  check_f32_cpu(qkv, "attention qkv");
  TORCH_CHECK(qkv.dim() == 3 && qkv.size(2) % (3 * n_head) == 0, "attention: qkv must be [B, T, 3C]");
  return CausalAttentionFn::apply(qkv, n_head, scale_mult);
}

}  // namespace scalelab::trainer::cpu
