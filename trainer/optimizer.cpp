#include "trainer/optimizer.h"

#include <immintrin.h>
#include <torch/version.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>
#include <utility>

namespace scalelab::trainer {

namespace {

// The scalars of one CPU update piece, as float: what the element-wise ops see.
struct AdamWScalars {
  float decay;  // multiplies the parameter first; 1 where there is none (exact)
  float w1;     // 1 - beta1, the lerp weight of the first moment
  float b2, c2;  // v = v * beta2 + (1 - beta2) * g * g
  float sqrt_bc2, eps, step;  // p += step * m / (sqrt(v) / sqrt_bc2 + eps)
};

// One element, in the order of the element-wise ops it replaces (lerp_ with a
// weight < 0.5, mul_ + addcmul_, sqrt + div_ + add_, addcdiv_). Separate multiplies
// and adds, never contracted to FMAs (this file's ISA has none), so that the
// vector loop below gives the same bits and a run does not depend on the CPU's ISA.
inline void adamw_one(float& p, float g, float& m, float& v, const AdamWScalars& s) {
  const float mi = m + s.w1 * (g - m);
  const float vi = v * s.b2 + s.c2 * g * g;
  const float d = std::sqrt(vi) / s.sqrt_bc2 + s.eps;
  p = p * s.decay + s.step * (mi / d);
  m = mi, v = vi;
}

void adamw_scalar(float* p, const float* g, float* m, float* v, std::int64_t n, const AdamWScalars& s) {
  for (std::int64_t i = 0; i < n; ++i) adamw_one(p[i], g[i], m[i], v[i], s);
}

// The same arithmetic eight lanes at a time; AVX only (no FMA), as above.
__attribute__((target("avx"))) void adamw_avx(float* p, const float* g, float* m, float* v, std::int64_t n,
                                               const AdamWScalars& s) {
  const __m256 decay = _mm256_set1_ps(s.decay), w1 = _mm256_set1_ps(s.w1), b2 = _mm256_set1_ps(s.b2),
               c2 = _mm256_set1_ps(s.c2), sbc2 = _mm256_set1_ps(s.sqrt_bc2), eps = _mm256_set1_ps(s.eps),
               step = _mm256_set1_ps(s.step);
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 gi = _mm256_loadu_ps(g + i), m0 = _mm256_loadu_ps(m + i), v0 = _mm256_loadu_ps(v + i);
    const __m256 mi = _mm256_add_ps(m0, _mm256_mul_ps(w1, _mm256_sub_ps(gi, m0)));
    const __m256 vi = _mm256_add_ps(_mm256_mul_ps(v0, b2), _mm256_mul_ps(_mm256_mul_ps(c2, gi), gi));
    const __m256 d = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(vi), sbc2), eps);
    const __m256 pi = _mm256_mul_ps(_mm256_loadu_ps(p + i), decay);
    _mm256_storeu_ps(p + i, _mm256_add_ps(pi, _mm256_mul_ps(step, _mm256_div_ps(mi, d))));
    _mm256_storeu_ps(m + i, mi);
    _mm256_storeu_ps(v + i, vi);
  }
  adamw_scalar(p + i, g + i, m + i, v + i, n - i, s);
}

void adamw_cpu(float* p, const float* g, float* m, float* v, std::int64_t n, const AdamWScalars& s) {
  static const bool avx = __builtin_cpu_supports("avx");
  avx ? adamw_avx(p, g, m, v, n, s) : adamw_scalar(p, g, m, v, n, s);
}

}  // namespace

FlatAdamW::FlatAdamW(const std::vector<torch::Tensor>& decay,
                     const std::vector<torch::Tensor>& no_decay, const OptimConfig& cfg)
    : cfg_(cfg) {
  std::vector<torch::Tensor> all(decay);
  all.insert(all.end(), no_decay.begin(), no_decay.end());
  std::int64_t n = 0;
  for (auto& p : all) n += p.numel();
  for (auto& p : decay) n_decay_ += p.numel();
  const auto opts = all.front().options().requires_grad(false);
  params_ = torch::empty({n}, opts);
  grads_ = torch::zeros({n}, opts);
  m_ = torch::zeros({n}, opts);
  v_ = torch::zeros({n}, opts);
  scratch_ = torch::empty({n}, opts);
  torch::NoGradGuard no_grad;
  std::int64_t off = 0;
  for (auto& p : all) {
    const auto k = p.numel();
    auto view = params_.narrow(0, off, k).view(p.sizes());
    view.copy_(p);
    // set_data keeps the parameter's identity (module registration, autograd leaf)
    // while its storage becomes a slice of params_.
    p.set_data(view);
    p.mutable_grad() = grads_.narrow(0, off, k).view(p.sizes());
    off += k;
  }
}

void FlatAdamW::zero_grad() { grads_.zero_(); }

torch::Tensor FlatAdamW::grad_norm() const { return grads_.norm(); }

void FlatAdamW::clip(const torch::Tensor& norm, double max_norm) {
  if (norm.is_cpu()) {
    // Reading a CPU scalar costs nothing; under the threshold the scaling by 1 is skipped.
    const double c = max_norm / (norm.item<double>() + 1e-6);
    if (c < 1) grads_.mul_(c);
    return;
  }
  // No host sync: the coefficient stays a device scalar.
  grads_.mul_(torch::clamp_max(max_norm / (norm + 1e-6), 1.0));
}

void FlatAdamW::step(double lr) {
  torch::NoGradGuard no_grad;
  ++t_;
  if (fused_) {
    device_step_.fill_(double(t_));
    return fused_step(std::nullopt, lr);
  }
  const double b1 = cfg_.beta1, b2 = cfg_.beta2;
  const double bc1 = 1 - std::pow(b1, double(t_)), bc2 = 1 - std::pow(b2, double(t_));
  if (params_.is_cpu() && params_.scalar_type() == torch::kFloat) return cpu_step(lr, bc1, bc2);
  // Same arithmetic, in the same order, as torch.optim.AdamW (single-tensor path).
  // Without scaled ranges each pieces() call is one op over the whole span, as before.
  if (cfg_.weight_decay != 0 && n_decay_ > 0)
    pieces(0, n_decay_, [&](std::int64_t off, std::int64_t n, double k) {
      params_.narrow(0, off, n).mul_(1 - lr * k * cfg_.weight_decay);
    });
  for (const auto& r : extra_decay_) params_.narrow(0, r.offset, r.numel).mul_(1 - lr * r.value);
  m_.lerp_(grads_, 1 - b1);
  v_.mul_(b2).addcmul_(grads_, grads_, 1 - b2);
  torch::sqrt_out(scratch_, v_).div_(std::sqrt(bc2)).add_(cfg_.eps);
  pieces(0, params_.numel(), [&](std::int64_t off, std::int64_t n, double k) {
    params_.narrow(0, off, n).addcdiv_(m_.narrow(0, off, n), scratch_.narrow(0, off, n), -lr * k / bc1);
  });
}

// The update above in one pass over the buffers instead of eight: at 0.12M
// parameters the separate ops' memory traffic and dispatch were ~4% of a step.
// The buffers are cut where the LR multiplier or the decay changes, as pieces() and
// the extra-decay loop cut them, so each element sees the same float scalars.
void FlatAdamW::cpu_step(double lr, double bc1, double bc2) {
  std::vector<std::int64_t> cuts{0, n_decay_, params_.numel()};
  for (const auto& r : lr_scale_) cuts.insert(cuts.end(), {r.offset, r.offset + r.numel});
  for (const auto& r : extra_decay_) cuts.insert(cuts.end(), {r.offset, r.offset + r.numel});
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  float *p = params_.data_ptr<float>(), *m = m_.data_ptr<float>(), *v = v_.data_ptr<float>();
  const float* g = grads_.data_ptr<float>();
  AdamWScalars s{1, float(1 - cfg_.beta1), float(cfg_.beta2), float(1 - cfg_.beta2), float(std::sqrt(bc2)),
                 float(cfg_.eps), 0};
  for (std::size_t i = 0; i + 1 < cuts.size(); ++i) {
    const std::int64_t a = cuts[i], n = cuts[i + 1] - a;
    double k = 1;
    for (const auto& r : lr_scale_)
      if (a >= r.offset && a < r.offset + r.numel) k = r.value;
    std::vector<float> decays;  // in step()'s order: the group's, then each extra range's
    if (a < n_decay_ && cfg_.weight_decay != 0) decays.push_back(float(1 - lr * k * cfg_.weight_decay));
    for (const auto& r : extra_decay_)
      if (a >= r.offset && a < r.offset + r.numel) decays.push_back(float(1 - lr * r.value));
    // Overlapping extra ranges (never made by make_optimizer) decay twice, as before.
    for (std::size_t j = 0; j + 1 < decays.size(); ++j)
      for (std::int64_t e = a; e < a + n; ++e) p[e] *= decays[j];
    s.decay = decays.empty() ? 1.0f : decays.back();
    s.step = float(-lr * k / bc1);
    adamw_cpu(p + a, g + a, m + a, v + a, n, s);
  }
}

void FlatAdamW::step(const torch::Tensor& lr) {
  if (!fused_) throw std::logic_error("FlatAdamW::step(Tensor): needs fused mode");
  torch::NoGradGuard no_grad;
  device_step_.add_(1);  // the host's t_ follows through count_step()
  fused_step(lr, 0);
}

void FlatAdamW::set_steps(std::int64_t t) {
  t_ = t;
  if (device_step_.defined()) device_step_.fill_(double(t));
}

bool FlatAdamW::fused_available() { return TORCH_VERSION_MAJOR >= 2; }

void FlatAdamW::set_fused(bool on) {
  if (on && !fused_available()) throw std::logic_error("FlatAdamW: fused AdamW needs LibTorch 2.x");
  fused_ = on;
  if (!on) return;
  device_step_ = torch::full({}, double(t_), params_.options());
  groups_ = groups();
}

// Where the LR multiplier or the decay changes, the buffers are cut; pieces with
// equal values form one group. An extra decay is decoupled at the plain lr
// (step()'s unfused arithmetic), which the kernel's lr * decay matches only where
// the multiplier is 1, as it is for the embeddings it serves.
std::vector<FlatAdamW::Group> FlatAdamW::groups() const {
  std::vector<std::int64_t> cuts{0, n_decay_, params_.numel()};
  for (const auto& r : lr_scale_) cuts.insert(cuts.end(), {r.offset, r.offset + r.numel});
  for (const auto& r : extra_decay_) cuts.insert(cuts.end(), {r.offset, r.offset + r.numel});
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  auto value_at = [](const std::vector<Range>& rs, std::int64_t at, double none) {
    for (const auto& r : rs)
      if (at >= r.offset && at < r.offset + r.numel) return r.value;
    return none;
  };
  std::map<std::pair<double, double>, Group> by_value;
  for (std::size_t i = 0; i + 1 < cuts.size(); ++i) {
    const std::int64_t a = cuts[i], n = cuts[i + 1] - a;
    if (n == 0) continue;
    const double k = value_at(lr_scale_, a, 1.0);
    const double extra = value_at(extra_decay_, a, 0.0);
    if (extra != 0 && k != 1) throw std::logic_error("FlatAdamW: an extra decay on LR-scaled parameters");
    const double wd = a < n_decay_ ? cfg_.weight_decay : extra;
    Group& g = by_value[{k, wd}];
    g.lr_mult = k, g.decay = wd;
    g.params.push_back(params_.narrow(0, a, n));
    g.grads.push_back(grads_.narrow(0, a, n));
    g.m.push_back(m_.narrow(0, a, n));
    g.v.push_back(v_.narrow(0, a, n));
    g.steps.push_back(device_step_);  // read by the kernel, never written
  }
  std::vector<Group> out;
  for (auto& [key, g] : by_value) out.push_back(std::move(g));
  return out;
}

void FlatAdamW::fused_step(const std::optional<torch::Tensor>& lr_tensor, double lr) {
#if TORCH_VERSION_MAJOR >= 2
  for (const auto& g : groups_) {
    if (lr_tensor)
      at::_fused_adamw_(g.params, g.grads, g.m, g.v, {}, g.steps, *lr_tensor * g.lr_mult, cfg_.beta1, cfg_.beta2,
                        g.decay, cfg_.eps, /*amsgrad=*/false, /*maximize=*/false);
    else
      at::_fused_adamw_(g.params, g.grads, g.m, g.v, {}, g.steps, lr * g.lr_mult, cfg_.beta1, cfg_.beta2, g.decay,
                        cfg_.eps, /*amsgrad=*/false, /*maximize=*/false);
  }
#else
  (void)lr_tensor, (void)lr;
  throw std::logic_error("FlatAdamW: fused AdamW needs LibTorch 2.x");
#endif
}

template <class F>
void FlatAdamW::pieces(std::int64_t lo, std::int64_t hi, F&& f) const {
  std::int64_t at = lo;
  for (const auto& r : lr_scale_) {
    const std::int64_t b = std::max(at, r.offset), e = std::min(hi, r.offset + r.numel);
    if (b >= e) continue;
    if (b > at) f(at, b - at, 1.0);
    f(b, e - b, r.value);
    at = e;
  }
  if (at < hi) f(at, hi - at, 1.0);
}

FlatAdamW::Range FlatAdamW::range_of(const torch::Tensor& p) const {
  const std::int64_t off = p.data_ptr<float>() - params_.data_ptr<float>();
  if (off < 0 || off + p.numel() > params_.numel()) throw std::logic_error("FlatAdamW: not one of its parameters");
  return {off, p.numel(), 0};
}

void FlatAdamW::scale_lr(const std::vector<torch::Tensor>& params, double mult) {
  if (mult == 1) return;
  for (const auto& p : params) {
    Range r = range_of(p);
    r.value = mult;
    lr_scale_.push_back(r);
  }
  std::sort(lr_scale_.begin(), lr_scale_.end(), [](const Range& a, const Range& b) { return a.offset < b.offset; });
  std::vector<Range> merged;
  for (const auto& r : lr_scale_) {
    if (!merged.empty() && merged.back().offset + merged.back().numel > r.offset)
      throw std::logic_error("FlatAdamW::scale_lr: a parameter scaled twice");
    if (!merged.empty() && merged.back().offset + merged.back().numel == r.offset && merged.back().value == r.value)
      merged.back().numel += r.numel;
    else
      merged.push_back(r);
  }
  lr_scale_ = std::move(merged);
  if (fused_) groups_ = groups();
}

void FlatAdamW::add_decay(const std::vector<torch::Tensor>& params, double wd) {
  if (wd == 0) return;
  for (const auto& p : params) {
    Range r = range_of(p);
    if (r.offset < n_decay_) throw std::logic_error("FlatAdamW::add_decay: not a parameter of the no-decay group");
    r.value = wd;
    extra_decay_.push_back(r);
  }
  if (fused_) groups_ = groups();
}

}  // namespace scalelab::trainer
