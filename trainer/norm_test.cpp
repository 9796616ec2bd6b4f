// LayerNorm and the fused residual add before it (norm.cpp) against LibTorch's own
// ops, in every form this CPU can run (AVX-512, AVX2+FMA, SSE2).
#include <ATen/Parallel.h>
#include <doctest/doctest.h>

#include <limits>
#include <vector>

#include "trainer/isa_forms.h"
#include "trainer/kernels.h"

using namespace scalelab::trainer;
using testing::isa_forms;
using testing::IsaCap;
using testing::IsaForm;

namespace {

double max_err(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<double>(); }


torch::Tensor leaf(const torch::Tensor& t) { return t.detach().clone().requires_grad_(); }

// One comparison: x = res + branch (+ bias), y = layer_norm(x); loss = <x, gx> + <y, gy>,
// so both outputs' gradients reach the inputs, as in a block (gx undefined: x unused
// after, as after the last block).
void check_add_norm(int64_t n, bool with_bias, bool with_gx) {
  CAPTURE(n);
  CAPTURE(with_bias);
  CAPTURE(with_gx);
  // 150 rows: more than two of norm.cpp's 64-row chunks and a partial one.
  auto res = leaf(torch::randn({3, 50, n}) * 3 + 1), branch = leaf(torch::randn({3, 50, n}));
  auto bias = with_bias ? leaf(torch::randn({n})) : torch::Tensor();
  auto gamma = leaf(torch::randn({n})), beta = with_bias ? leaf(torch::randn({n})) : torch::Tensor();
  auto gx = with_gx ? torch::randn({3, 50, n}) : torch::Tensor(), gy = torch::randn({3, 50, n});
  auto [x, y] = cpu::add_layer_norm(res, branch, bias, gamma, beta, 1e-5);
  auto r2 = leaf(res), br2 = leaf(branch), b2 = with_bias ? leaf(bias) : torch::Tensor();
  auto g2 = leaf(gamma), be2 = with_bias ? leaf(beta) : torch::Tensor();
  auto x2 = with_bias ? r2 + br2 + b2 : r2 + br2;
  auto y2 = torch::layer_norm(x2, {n}, g2, be2, 1e-5);
  CHECK(max_err(x, x2) < 1e-5);
  CHECK(max_err(y, y2) < 1e-4);
  auto loss = [&](const torch::Tensor& a, const torch::Tensor& b) {
    return with_gx ? (a * gx).sum() + (b * gy).sum() : (b * gy).sum();
  };
  loss(x, y).backward();
  loss(x2, y2).backward();
  CHECK(max_err(res.grad(), r2.grad()) < 1e-3);
  CHECK(max_err(branch.grad(), br2.grad()) < 1e-3);
  CHECK(max_err(gamma.grad(), g2.grad()) < 1e-3);
  if (with_bias) {
    CHECK(max_err(bias.grad(), b2.grad()) < 1e-3);
    CHECK(max_err(beta.grad(), be2.grad()) < 1e-3);
  }
}

}  // namespace

TEST_CASE("cpu::add_layer_norm matches add + torch::layer_norm, forward and backward, in every form") {
  torch::manual_seed(3);
  for (const IsaForm& isa : isa_forms()) {
    if (!isa.here) {
      MESSAGE("SKIP: " << isa.name << " form: this CPU lacks it");
      continue;
    }
    CAPTURE(isa.name);
    IsaCap cap(isa.level);
    // 128: whole vectors only; 37: a tail past the last vector in every form; 3: no whole vector.
    for (int64_t n : {128, 37, 3})
      for (bool with_bias : {true, false})
        for (bool with_gx : {true, false}) check_add_norm(n, with_bias, with_gx);
  }
}

TEST_CASE("cpu::layer_norm matches torch::layer_norm, forward and backward, in every form") {
  torch::manual_seed(4);
  for (const IsaForm& isa : isa_forms()) {
    if (!isa.here) continue;  // reported by the case above
    CAPTURE(isa.name);
    IsaCap cap(isa.level);
    for (bool with_beta : {true, false}) {
      auto x = leaf(torch::randn({130, 37}) * 5 - 2), gamma = leaf(torch::randn({37}));
      auto beta = with_beta ? leaf(torch::randn({37})) : torch::Tensor();
      auto gy = torch::randn({130, 37});
      auto y = cpu::layer_norm(x, gamma, beta, 1e-5);
      auto x2 = leaf(x), g2 = leaf(gamma), b2 = with_beta ? leaf(beta) : torch::Tensor();
      auto y2 = torch::layer_norm(x2, {37}, g2, b2, 1e-5);
      CHECK(max_err(y, y2) < 1e-4);
      y.backward(gy);
      y2.backward(gy);
      CHECK(max_err(x.grad(), x2.grad()) < 1e-3);
      CHECK(max_err(gamma.grad(), g2.grad()) < 1e-3);
      if (with_beta) CHECK(max_err(beta.grad(), b2.grad()) < 1e-3);
    }
  }
}

TEST_CASE("cpu::add_layer_norm: gradients are the same bits on one thread and on two") {
  torch::manual_seed(6);
  auto res = torch::randn({700, 64}), branch = torch::randn({700, 64}), gy = torch::randn({700, 64});
  std::vector<torch::Tensor> runs[2];
  const int before = at::get_num_threads();
  for (int t : {1, 2}) {
    at::set_num_threads(t);
    auto r = leaf(res), br = leaf(branch), b = leaf(torch::ones({64})), g = leaf(torch::ones({64}));
    auto be = leaf(torch::zeros({64}));
    auto [x, y] = cpu::add_layer_norm(r, br, b, g, be, 1e-5);
    (y * gy).sum().backward();
    runs[t - 1] = {y.detach(), r.grad(), b.grad(), g.grad(), be.grad()};
  }
  at::set_num_threads(before);
  for (std::size_t i = 0; i < runs[0].size(); ++i) CHECK(torch::equal(runs[0][i], runs[1][i]));
}

TEST_CASE("cpu::layer_norm: a NaN row stays NaN and leaves the other rows alone; bad shapes throw") {
  auto x = torch::randn({4, 16});
  x[2][5] = std::numeric_limits<float>::quiet_NaN();
  auto y = cpu::layer_norm(x, torch::ones({16}), torch::zeros({16}), 1e-5);
  CHECK(y[2].isnan().all().item<bool>());
  CHECK(!y[1].isnan().any().item<bool>());
  CHECK(max_err(y[1], torch::layer_norm(x[1], {16}, {}, {}, 1e-5)) < 1e-5);
  CHECK_THROWS(cpu::layer_norm(x, torch::ones({15}), torch::Tensor(), 1e-5));
  CHECK_THROWS(cpu::add_layer_norm(x, torch::randn({4, 15}), torch::Tensor(), torch::ones({16}), torch::Tensor(), 1e-5));
  CHECK_THROWS(cpu::layer_norm(x.to(torch::kDouble), torch::ones({16}), torch::Tensor(), 1e-5));
}
