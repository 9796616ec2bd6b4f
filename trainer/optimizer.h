#pragma once
// AdamW over flattened parameter storage.
//
// The constructor moves every parameter into one contiguous buffer (decayed
// group first) and makes each parameter a view of it; gradients likewise live
// in one buffer, into which autograd accumulates in place. One update is then a
// handful of large element-wise ops instead of a dozen small ops per tensor (on
// the CPU in float32, a single fused pass over the four buffers), the gradient
// norm is a single reduction, and zeroing is one memset.
#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "trainer/trainer.h"

namespace scalelab::trainer {

class FlatAdamW {
 public:
  FlatAdamW(const std::vector<torch::Tensor>& decay, const std::vector<torch::Tensor>& no_decay,
            const OptimConfig& cfg);

  void zero_grad();
  torch::Tensor grad_norm() const;  // L2 norm of all gradients; stays on the device
  // Scales gradients by min(1, max_norm / (norm + 1e-6)), as clip_grad_norm_ does
  // (a CPU norm is read on the host, and a factor of 1 skips the pass).
  void clip(const torch::Tensor& norm, double max_norm);
  void step(double lr);  // one AdamW update at learning rate lr
  // The same update with lr a device scalar and the step counter on the device, as
  // a captured CUDA graph replays it (no host value may change between replays);
  // needs fused mode. count_step() then advances the host's copy of the counter.
  void step(const torch::Tensor& lr);
  void count_step() { ++t_; }

  // Fused mode: LibTorch 2.x's _fused_adamw_ kernel, one launch per group of
  // (LR multiplier, decay) instead of a dozen element-wise ops over the buffer; the
  // default on CUDA. Same arithmetic up to rounding (optimizer_test.cpp).
  static bool fused_available();
  void set_fused(bool on);  // std::logic_error when !fused_available()
  bool fused() const { return fused_; }
  // Decoupled weight decay `wd` for parameters of the no-decay group (e.g. the
  // embeddings, for grokking), leaving the flat layout, and so checkpoints, unchanged.
  void add_decay(const std::vector<torch::Tensor>& params, double wd);
  // Parameters whose learning rate is mult * lr at every step (μP's hidden matrices),
  // their decoupled decay too, as torch.optim.AdamW does with a group's own lr. The
  // layout, and so checkpoints, are unchanged; the multipliers come from the config.
  void scale_lr(const std::vector<torch::Tensor>& params, double mult);

  std::int64_t steps() const { return t_; }
  void set_steps(std::int64_t t);
  std::int64_t numel() const { return params_.numel(); }
  torch::Tensor& exp_avg() { return m_; }
  torch::Tensor& exp_avg_sq() { return v_; }
  const torch::Tensor& params() const { return params_; }
  const torch::Tensor& grads() const { return grads_; }

 private:
  OptimConfig cfg_;
  torch::Tensor params_, grads_, m_, v_, scratch_;
  std::int64_t n_decay_ = 0;
  struct Range {
    std::int64_t offset, numel;
    double value;  // extra_decay_: the decay; lr_scale_: the LR multiplier
  };
  Range range_of(const torch::Tensor& p) const;
  void cpu_step(double lr, double bc1, double bc2);  // step() on CPU float32: one fused pass
  // Calls f(offset, numel, lr multiplier) on consecutive pieces of the flat range [lo, hi).
  template <class F>
  void pieces(std::int64_t lo, std::int64_t hi, F&& f) const;
  std::vector<Range> extra_decay_;
  std::vector<Range> lr_scale_;  // sorted, disjoint, adjacent equal ones merged
  std::int64_t t_ = 0;

  // Fused mode: the buffers cut where the LR multiplier or the decay changes, and
  // the pieces grouped by those two values (one kernel launch per group).
  struct Group {
    double lr_mult = 1, decay = 0;
    std::vector<torch::Tensor> params, grads, m, v, steps;
  };
  std::vector<Group> groups() const;
  void fused_step(const std::optional<torch::Tensor>& lr_tensor, double lr);
  bool fused_ = false;
  std::vector<Group> groups_;
  torch::Tensor device_step_;  // fused mode: the kernel reads the step from the device
};

}  // namespace scalelab::trainer
