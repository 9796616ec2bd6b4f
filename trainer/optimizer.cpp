#include "trainer/optimizer.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace scalelab::trainer {

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
  // No host sync: the coefficient stays a device scalar.
  grads_.mul_(torch::clamp_max(max_norm / (norm + 1e-6), 1.0));
}

void FlatAdamW::step(double lr) {
  torch::NoGradGuard no_grad;
  ++t_;
  const double b1 = cfg_.beta1, b2 = cfg_.beta2;
  const double bc1 = 1 - std::pow(b1, double(t_)), bc2 = 1 - std::pow(b2, double(t_));
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
}

void FlatAdamW::add_decay(const std::vector<torch::Tensor>& params, double wd) {
  if (wd == 0) return;
  for (const auto& p : params) {
    Range r = range_of(p);
    if (r.offset < n_decay_) throw std::logic_error("FlatAdamW::add_decay: not a parameter of the no-decay group");
    r.value = wd;
    extra_decay_.push_back(r);
  }
}

}  // namespace scalelab::trainer
