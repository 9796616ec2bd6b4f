// The fused element-wise kernels (pointwise.cpp) against LibTorch's own ops, in
// every form this CPU can run (AVX-512, AVX2+FMA, scalar).
#include <doctest/doctest.h>

#include <limits>

#include "trainer/isa_forms.h"
#include "trainer/kernels.h"
#include "trainer/onednn_check.h"

using namespace scalelab::trainer;
using testing::isa_forms;
using testing::IsaCap;
using testing::IsaForm;
using testing::have_onednn;

namespace {

double max_err(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<double>(); }


}  // namespace

TEST_CASE("cpu::linear_gelu matches linear + exact gelu, forward and backward, in every form") {
  if (!have_onednn()) return;
  torch::manual_seed(1);
  // 300 rows: more than one GEMM chunk and a partial one; 37 outputs: a vector tail.
  for (const IsaForm& isa : isa_forms()) {
    if (!isa.here) {
      MESSAGE("SKIP: " << isa.name << " form: this CPU lacks it");
      continue;
    }
    IsaCap cap(isa.level);
    for (bool bias : {true, false}) {
      CAPTURE(isa.name);
      CAPTURE(bias);
      auto x = (torch::randn({3, 100, 24}) * 2).requires_grad_();
      auto w = torch::randn({37, 24}, torch::requires_grad());
      auto b = bias ? torch::randn({37}, torch::requires_grad()) : torch::Tensor();
      auto gy = torch::randn({3, 100, 37});
      auto y = cpu::linear_gelu(x, w, b);
      y.backward(gy);
      auto x2 = x.detach().clone().requires_grad_(), w2 = w.detach().clone().requires_grad_();
      auto b2 = bias ? b.detach().clone().requires_grad_() : torch::Tensor();
      auto ref = torch::gelu(torch::nn::functional::linear(x2, w2, b2));
      ref.backward(gy);
      CHECK(y.sizes() == ref.sizes());
      CHECK(max_err(y, ref) < 1e-4);
      CHECK(max_err(x.grad(), x2.grad()) < 1e-3);
      CHECK(max_err(w.grad(), w2.grad()) < 1e-3);
      if (bias) CHECK(max_err(b.grad(), b2.grad()) < 1e-3);
    }
  }
}

TEST_CASE("cpu::mlp matches linear, exact gelu and linear, forward and backward, in every form") {
  if (!have_onednn()) return;
  torch::manual_seed(2);
  for (const IsaForm& isa : isa_forms()) {
    if (!isa.here) continue;  // reported by the case above
    IsaCap cap(isa.level);
    for (bool bias : {true, false}) {
      CAPTURE(isa.name);
      CAPTURE(bias);
      // 300 rows: a whole 256-row chunk and a partial one, both GEMMs and the dW sums over both.
      // Weights at ~1/sqrt(fan-in), so every value and gradient is O(1) and one tolerance fits all.
      auto x = torch::randn({3, 100, 24}, torch::requires_grad());
      auto w1 = (torch::randn({40, 24}) / 5).requires_grad_(), w2 = (torch::randn({17, 40}) / 6).requires_grad_();
      auto b = bias ? torch::randn({40}, torch::requires_grad()) : torch::Tensor();
      auto gy = torch::randn({3, 100, 17});
      auto y = cpu::mlp(x, w1, b, w2);
      y.backward(gy);
      auto leaf = [](const torch::Tensor& t) { return t.detach().clone().requires_grad_(); };
      auto x2 = leaf(x), w12 = leaf(w1), w22 = leaf(w2), b2 = bias ? leaf(b) : torch::Tensor();
      namespace F = torch::nn::functional;
      auto ref = F::linear(torch::gelu(F::linear(x2, w12, b2)), w22);
      ref.backward(gy);
      CHECK(y.sizes() == ref.sizes());
      CHECK(max_err(y, ref) < 1e-4);
      CHECK(max_err(x.grad(), x2.grad()) < 1e-3);
      CHECK(max_err(w1.grad(), w12.grad()) < 1e-3);
      CHECK(max_err(w2.grad(), w22.grad()) < 1e-3);
      if (bias) CHECK(max_err(b.grad(), b2.grad()) < 1e-3);
    }
  }
}

TEST_CASE("cpu::linear_gelu: far tails, zero and NaN") {
  if (!have_onednn()) return;
  for (const IsaForm& isa : isa_forms()) {
    if (!isa.here) continue;
    IsaCap cap(isa.level);
    CAPTURE(isa.name);
    const float nan = std::numeric_limits<float>::quiet_NaN();
    auto x = torch::tensor({-30.0f, -6.0f, -1e-3f, 0.0f, 1e-3f, 6.0f, 30.0f, nan, 2.0f}).view({9, 1});
    auto w = torch::ones({1, 1});
    auto y = cpu::linear_gelu(x, w, torch::Tensor()).view({9});
    auto ref = torch::gelu(x).view({9});
    for (int i = 0; i < 7; ++i) CHECK(y[i].item<float>() == doctest::Approx(ref[i].item<float>()).epsilon(1e-5));
    CHECK(std::isnan(y[7].item<float>()));
    CHECK(y[8].item<float>() == doctest::Approx(ref[8].item<float>()).epsilon(1e-6));
    // Infinities as torch has them: gelu(inf) = inf, gelu(-inf) = -inf * 0 = NaN.
    const float inf = std::numeric_limits<float>::infinity();
    auto big = cpu::linear_gelu(torch::tensor({inf, -inf}).view({2, 1}), w, torch::Tensor()).view({2});
    auto big_ref = torch::gelu(torch::tensor({inf, -inf}));
    for (int i = 0; i < 2; ++i) {
      const float got = big[i].item<float>(), want = big_ref[i].item<float>();
      CHECK((std::isnan(want) ? std::isnan(got) : got == want));
    }
  }
}

TEST_CASE("cpu::cross_entropy matches torch's, forward and backward, in every form") {
  torch::manual_seed(2);
  for (const IsaForm& isa : isa_forms()) {
    if (!isa.here) continue;
    IsaCap cap(isa.level);
    for (int64_t V : {256, 13, 5}) {  // whole vectors, a tail, a row shorter than a vector
      CAPTURE(isa.name);
      CAPTURE(V);
      auto logits = (torch::randn({50, V}) * 4).requires_grad_();
      auto target = torch::randint(0, V, {50}, torch::kLong);
      auto loss = cpu::cross_entropy(logits, target);
      (loss * 3).backward();
      auto l2 = logits.detach().clone().requires_grad_();
      auto ref = torch::nn::functional::cross_entropy(l2, target);
      (ref * 3).backward();
      CHECK(loss.dim() == 0);
      CHECK(loss.item<double>() == doctest::Approx(ref.item<double>()).epsilon(1e-5));
      CHECK(max_err(logits.grad(), l2.grad()) < 1e-6);
    }
  }
}

TEST_CASE("cpu::cross_entropy: a NaN logit makes the loss NaN; a bad target throws") {
  auto logits = torch::randn({4, 20});
  logits[2][7] = std::numeric_limits<float>::quiet_NaN();
  CHECK(std::isnan(cpu::cross_entropy(logits, torch::tensor({1, 2, 3, 4}, torch::kLong)).item<float>()));
  CHECK_THROWS_WITH(cpu::cross_entropy(torch::randn({2, 20}), torch::tensor({1, 20}, torch::kLong)),
                    doctest::Contains("target 20 is outside [0, 20)"));
  CHECK_THROWS(cpu::cross_entropy(torch::randn({2, 20}), torch::tensor({1, 2}, torch::kInt)));
}
