#include <doctest/doctest.h>

#include <cmath>

#include "common/error.h"
#include "trainer/model.h"
#include "trainer/trainer.h"

using namespace scalelab::trainer;

namespace {

ModelConfig cfg(int L, int d, int H, int T, int V = 256, bool tie = true, bool bias = true) {
  ModelConfig m;
  m.n_layer = L;
  m.d_model = d;
  m.n_head = H;
  m.seq_len = T;
  m.vocab = V;
  m.tie_embeddings = tie;
  m.bias = bias;
  return m;
}

std::int64_t numel_of(GPT& g) {
  std::int64_t n = 0;
  for (auto& p : g->parameters()) n += p.numel();
  return n;
}

std::int64_t embedding_numel(GPT& g) {
  std::int64_t n = 0;
  for (auto& kv : g->named_parameters())
    if (kv.key() == "wte" || kv.key() == "wpe" || kv.key() == "lm_head") n += kv.value().numel();
  return n;
}

}  // namespace

TEST_CASE("count_params matches the reference shapes") {
  CHECK(count_params(cfg(4, 128, 4, 128)).total == 842496);
  CHECK(count_params(cfg(2, 64, 2, 64)).total == 120576);
}

TEST_CASE("count_params equals the numel of the module actually built") {
  for (const ModelConfig& m : {cfg(4, 128, 4, 128), cfg(2, 64, 2, 64), cfg(3, 96, 3, 50, 1000, false),
                               cfg(2, 64, 4, 32, 256, true, false), cfg(1, 32, 1, 16, 77, false, false)}) {
    CAPTURE(shape_name(m));
    CAPTURE(m.tie_embeddings);
    CAPTURE(m.bias);
    GPT g(m);
    const ParamCounts c = count_params(m);
    CHECK(c.total == numel_of(g));
    CHECK(c.embedding == embedding_numel(g));
    CHECK(c.non_embedding == c.total - c.embedding);
  }
}

TEST_CASE("flops_per_token conventions, computed by hand") {
  const ModelConfig m = cfg(2, 64, 2, 64);
  // N = 2 * (12*64^2 + 13*64) + 2*64 = 100096; head 256*64 = 16384; attn 12*2*64*64 = 98304.
  CHECK(flops_per_token(m, "6N+attn") == doctest::Approx(6.0 * (100096 + 16384) + 98304));
  CHECK(flops_per_token(m, "6n+attn") == doctest::Approx(797184));
  CHECK(flops_per_token(m, "6N") == doctest::Approx(6.0 * 100096));
  CHECK(flops_per_token(m, "6N", "total") == doctest::Approx(6.0 * 120576));
  CHECK_THROWS_AS(flops_per_token(m, "6N", "all"), scalelab::UserError);
}

TEST_CASE("canonical_flop_convention") {
  CHECK(canonical_flop_convention("6N+attn") == "6N+attn");
  CHECK(canonical_flop_convention("6n+attn") == "6N+attn");
  CHECK(canonical_flop_convention("6N") == "6N");
  CHECK(canonical_flop_convention("6n") == "6N");
  try {
    canonical_flop_convention("8N");
    FAIL("expected UserError");
  } catch (const scalelab::UserError& e) {
    const std::string msg = e.what();
    CHECK(msg.find("8N") != std::string::npos);
    CHECK(msg.find("6N+attn") != std::string::npos);
  }
}

TEST_CASE("shape_for_params follows the rule and lands near the target") {
  ModelConfig base = cfg(1, 32, 1, 256, 50304, true, true);
  for (const ShapeRule& rule : {ShapeRule{32, 32, 1}, ShapeRule{64, 64, 2}, ShapeRule{16, 16, 4}}) {
    for (double target : {3e5, 1e6, 1e7, 1e8}) {
      CAPTURE(target);
      CAPTURE(rule.aspect_ratio);
      const ModelConfig m = shape_for_params(target, rule, base);
      const double n = double(count_params(m).non_embedding);
      CHECK(m.d_model % rule.head_dim == 0);
      CHECK(m.d_model >= rule.head_dim);
      CHECK(m.n_head * rule.head_dim == m.d_model);
      CHECK(m.n_layer >= rule.min_layers);
      CHECK(m.d_model == std::max(1L, std::lround(rule.aspect_ratio * m.n_layer / rule.head_dim)) * rule.head_dim);
      CHECK(m.seq_len == base.seq_len);
      CHECK(m.vocab == base.vocab);
      if (m.n_layer > rule.min_layers) CHECK(std::fabs(std::log(n / target)) < std::log(2.0));
      // No neighbouring depth is closer in log space.
      for (int dl : {-1, 1}) {
        const int L = m.n_layer + dl;
        if (L < rule.min_layers) continue;
        ModelConfig o = m;
        o.n_layer = L;
        o.d_model = std::max(1L, std::lround(rule.aspect_ratio * L / rule.head_dim)) * rule.head_dim;
        CHECK(std::fabs(std::log(double(count_params(o).non_embedding) / target)) >=
              std::fabs(std::log(n / target)) - 1e-12);
      }
    }
  }
  CHECK(shape_for_params(10, ShapeRule{32, 32, 3}, base).n_layer == 3);  // min_layers floor
  CHECK_THROWS_AS(shape_for_params(0, ShapeRule{}, base), scalelab::UserError);
  // A fuzzer's aspect ratio: d_model = 524305556 * 32 overflowed int before it was refused.
  CHECK_THROWS_WITH_AS(shape_for_params(1e6, ShapeRule{5.36889e11, 32, 1}, base),
                       doctest::Contains("model.aspect_ratio 5.36889e+11 with model.head_dim 32 gives d_model"),
                       scalelab::UserError);
  CHECK_THROWS_AS(shape_for_params(1e6, ShapeRule{1e6, 1000, 1}, base), scalelab::UserError);
}

TEST_CASE("shape_name") { CHECK(shape_name(cfg(4, 128, 4, 128)) == "L4-D128-H4-T128"); }
