#include "trainer/optimizer.h"

#include <torch/version.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>
#include <utility>

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
  if (fused_) {
    device_step_.fill_(double(t_));
    return fused_step(std::nullopt, lr);
  }
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
