// Parameter and FLOP accounting by formula. The formulas must agree with the
// module actually built in model.cpp; shape_test.cpp checks them against numel.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>

#include "common/error.h"
#include "trainer/trainer.h"

namespace scalelab::trainer {

ParamCounts count_params(const ModelConfig& m) {
  check_size(m);  // the integer arithmetic below must not overflow
  const std::int64_t d = m.d_model, L = m.n_layer, V = m.vocab, T = m.seq_len;
  const std::int64_t b = m.bias ? 1 : 0;
  // Per block: c_attn 3d^2(+3d), attn c_proj d^2(+d), c_fc 4d^2(+4d), mlp c_proj 4d^2(+d),
  // two LayerNorms d(+d) each.
  // Attention-only blocks: c_attn and c_proj, one LayerNorm.
  const std::int64_t per_layer = m.mlp ? 12 * d * d + b * 9 * d + 2 * (d + b * d) : 4 * d * d + b * 4 * d + (d + b * d);
  const std::int64_t final_norm = d + b * d;
  ParamCounts c;
  c.embedding = V * d + T * d + (m.tie_embeddings ? 0 : V * d);
  c.non_embedding = L * per_layer + final_norm;
  c.total = c.embedding + c.non_embedding;
  return c;
}

std::string canonical_flop_convention(const std::string& name) {
  std::string up;
  for (char ch : name)
    if (!std::isspace(static_cast<unsigned char>(ch))) up += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  if (up == "6N+ATTN") return "6N+attn";
  if (up == "6N") return "6N";
  user_error("flop_convention: unknown '{}' (expected \"6N+attn\" or \"6N\")", name);
}

namespace {
std::int64_t params_by_convention(const ModelConfig& m, const std::string& param_convention) {
  const ParamCounts c = count_params(m);
  if (param_convention == "non_embedding") return c.non_embedding;
  if (param_convention == "total") return c.total;
  user_error("param_convention: unknown '{}' (expected \"non_embedding\" or \"total\")",
             param_convention);
}
}  // namespace

double flops_per_token(const ModelConfig& m, const std::string& flop_convention,
                       const std::string& param_convention) {
  const std::string conv = canonical_flop_convention(flop_convention);
  if (conv == "6N") return 6.0 * static_cast<double>(params_by_convention(m, param_convention));
  // The head is a matmul whether or not it is tied; the position embedding is a
  // lookup and costs nothing. QK^T and AV: 2 * 2 * T * d per layer forward, x3.
  const double d = m.d_model;
  const double matmul = static_cast<double>(count_params(m).non_embedding) + double(m.vocab) * d;
  return 6.0 * matmul + 12.0 * m.n_layer * double(m.seq_len) * d;
}

namespace {
// Past this width one attention-only block (4 d^2) is already beyond kMaxParams.
const double kMaxDModel = std::sqrt(kMaxParams / 4);

int d_model_for(int n_layer, const ShapeRule& rule) {
  const double units = std::max(1.0, std::round(rule.aspect_ratio * n_layer / rule.head_dim));
  const double d = units * rule.head_dim;  // in floating point: the int product overflowed (fuzzer)
  if (!(d <= kMaxDModel))
    user_error("model.aspect_ratio {:g} with model.head_dim {} gives d_model {:.3g} at n_layer {}; beyond {:.0f} one "
               "block alone has more than {:.0e} parameters",
               rule.aspect_ratio, rule.head_dim, d, n_layer, kMaxDModel, kMaxParams);
  return static_cast<int>(d);
}
}  // namespace

ModelConfig shape_for_params(double target, const ShapeRule& rule, const ModelConfig& base) {
  if (!(target > 0)) user_error("shape: target parameter count must be > 0 (got {})", target);
  if (target > kMaxParams) user_error("{:.3g} parameters asked; at most {:.0e} are supported", target, kMaxParams);
  if (rule.head_dim < 1) user_error("shape.head_dim must be >= 1 (got {})", rule.head_dim);
  if (!(rule.aspect_ratio > 0)) user_error("shape.aspect_ratio must be > 0 (got {})", rule.aspect_ratio);
  ModelConfig best = base;
  double best_err = std::numeric_limits<double>::infinity();
  // Non-embedding params grow monotonically with depth (d_model never shrinks), so
  // once a candidate overshoots the target, deeper ones only get further away.
  for (int L = std::max(1, rule.min_layers); L <= 4096; ++L) {
    ModelConfig m = base;
    m.n_layer = L;
    m.d_model = d_model_for(L, rule);
    m.n_head = m.d_model / rule.head_dim;
    const double n = static_cast<double>(count_params(m).non_embedding);
    const double err = std::fabs(std::log(n / target));
    if (err < best_err) {
      best_err = err;
      best = m;
    }
    if (n > target) break;
  }
  return best;
}

std::string shape_name(const ModelConfig& m) {
  return fmt::format("L{}-D{}-H{}-T{}", m.n_layer, m.d_model, m.n_head, m.seq_len);
}

}  // namespace scalelab::trainer
