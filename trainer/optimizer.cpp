#include "trainer/optimizer.h"

#include <cmath>

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
  if (cfg_.weight_decay != 0 && n_decay_ > 0)
    params_.narrow(0, 0, n_decay_).mul_(1 - lr * cfg_.weight_decay);
  for (const auto& r : extra_decay_) params_.narrow(0, r.offset, r.numel).mul_(1 - lr * r.wd);
  m_.lerp_(grads_, 1 - b1);
  v_.mul_(b2).addcmul_(grads_, grads_, 1 - b2);
  torch::sqrt_out(scratch_, v_).div_(std::sqrt(bc2)).add_(cfg_.eps);
  params_.addcdiv_(m_, scratch_, -lr / bc1);
}

void FlatAdamW::add_decay(const std::vector<torch::Tensor>& params, double wd) {
  if (wd == 0) return;
  const auto* base = params_.data_ptr<float>();
  for (const auto& p : params) {
    const std::int64_t off = p.data_ptr<float>() - base;
    if (off < n_decay_ || off + p.numel() > params_.numel())
      throw std::logic_error("FlatAdamW::add_decay: not a parameter of the no-decay group");
    extra_decay_.push_back({off, p.numel(), wd});
  }
}

}  // namespace scalelab::trainer
