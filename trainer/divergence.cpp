#include "trainer/divergence.h"

#include <fmt/format.h>

#include <cmath>

namespace scalelab::trainer {

void DivergenceWatch::observe(const torch::Tensor& loss, const torch::Tensor& grad_norm,
                              std::int64_t step) {
  if (immediate_) {
    if (first_step_ < 0) {
      const float l = loss.item<float>(), n = grad_norm.item<float>();
      if (!std::isfinite(l) || !std::isfinite(n)) record(step, l, n);
    }
    return;
  }
  torch::Tensor v = torch::stack({loss.to(torch::kFloat), grad_norm.to(torch::kFloat)});
  if (!first_.defined()) {
    first_ = torch::full({}, -1, torch::TensorOptions().dtype(torch::kInt64).device(v.device()));
    values_ = torch::zeros({2}, v.options());
  }
  torch::Tensor fresh = torch::logical_and(torch::isfinite(v).all().logical_not(), first_.lt(0));
  first_.masked_fill_(fresh, step);
  values_ = torch::where(fresh, v, values_);
}

std::optional<std::string> DivergenceWatch::check() {
  if (first_step_ < 0 && first_.defined()) {
    const std::int64_t step = first_.item<std::int64_t>();
    if (step >= 0) {
      const torch::Tensor v = values_.cpu();
      record(step, v[0].item<float>(), v[1].item<float>());
    }
  }
  if (first_step_ < 0) return std::nullopt;
  const bool loss_bad = !std::isfinite(loss_);
  const float bad = loss_bad ? loss_ : norm_;
  return fmt::format("{} is {} at step {}", loss_bad ? "loss" : "gradient norm",
                     std::isnan(bad) ? "nan" : "inf", first_step_);
}

void DivergenceWatch::record(std::int64_t step, float loss, float norm) {
  first_step_ = step;
  loss_ = loss;
  norm_ = norm;
}

}  // namespace scalelab::trainer
