// μP's width multipliers (Yang et al. 2022, Tensor Programs V, "μP for Adam";
// as in EleutherAI's nanoGPT-mup). docs/mup.md has the table and the reasons.
// Torch-free: the config readers check the keys without the plugin.
#include <fmt/format.h>

#include <cmath>

#include "common/error.h"
#include "trainer/trainer.h"

namespace scalelab::trainer {

MupScales mup_scales(const ModelConfig& m) {
  MupScales s;
  // At m = 1 every factor below is exactly 1.0, so mup at its base width is sp bit for bit.
  if (m.parametrization != "mup" || m.mup_base_width <= 0 || m.d_model == m.mup_base_width) return s;
  s.width_mult = double(m.d_model) / m.mup_base_width;
  s.hidden_init = 1 / std::sqrt(s.width_mult);
  s.hidden_lr = 1 / s.width_mult;
  // The base model keeps n_head, so d_head_base = d_head / m, and
  // sqrt(d_head_base) / d_head = (1 / sqrt(d_head)) * (1 / sqrt(m)).
  s.attn = 1 / std::sqrt(s.width_mult);
  s.output = 1 / s.width_mult;
  return s;
}

std::optional<KeyProblem> parametrization_problem(const ModelConfig& m) {
  if (m.parametrization != "sp" && m.parametrization != "mup")
    return KeyProblem{"model.parametrization",
                      fmt::format("expected one of \"sp\", \"mup\", got \"{}\"", m.parametrization)};
  if (m.parametrization == "sp") {
    if (m.mup_base_width != 0)
      return KeyProblem{"model.mup_base_width", "only used with model.parametrization = \"mup\""};
    return std::nullopt;
  }
  if (m.mup_base_width <= 0)
    return KeyProblem{"model.mup_base_width",
                      "missing; model.parametrization = \"mup\" needs the base width (the d_model its "
                      "hyperparameters were tuned at), e.g. mup_base_width = 64"};
  // Below its base width μP would scale hidden learning rates up, past the tuned
  // values, where nothing has been checked; widths are planned upward from the base.
  if (m.mup_base_width > m.d_model)
    return KeyProblem{"model.mup_base_width",
                      fmt::format("{} is larger than model.d_model ({}); the base width must be at most the "
                                  "model's width (use the smallest width of the sweep)",
                                  m.mup_base_width, m.d_model)};
  return std::nullopt;
}

void check_parametrization(const ModelConfig& m) {
  if (auto p = parametrization_problem(m)) user_error("{}: {}", p->key, p->what);
}

}  // namespace scalelab::trainer
