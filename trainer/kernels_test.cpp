// The oneDNN CPU path must compute the same function, and the same gradients,
// as the plain LibTorch reference path.
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>

#include "trainer/gemm.h"
#include "trainer/isa_forms.h"
#include "trainer/kernels.h"
#include "trainer/model.h"
#include "trainer/onednn_check.h"

using namespace scalelab::trainer;
using testing::have_onednn;

namespace {

bool close(const torch::Tensor& a, const torch::Tensor& b, double tol = 1e-4) {
  const double scale = std::max(1.0, b.abs().max().item<double>());
  const double err = (a - b).abs().max().item<double>();
  if (err > tol * scale) MESSAGE("max abs error " << err << " (scale " << scale << ")");
  return err <= tol * scale;
}

torch::Tensor reference_attention(const torch::Tensor& qkv, int64_t H, double scale_mult = 1) {
  const int64_t B = qkv.size(0), T = qkv.size(1), C = qkv.size(2) / 3;
  auto parts = qkv.split(C, 2);
  auto heads = [&](const torch::Tensor& t) { return t.view({B, T, H, C / H}).transpose(1, 2); };
  auto att = torch::matmul(heads(parts[0]), heads(parts[1]).transpose(-2, -1)) * (scale_mult / std::sqrt(double(C / H)));
  auto mask = torch::ones({T, T}, torch::kBool).triu(1);
  att = torch::softmax(att.masked_fill(mask, -std::numeric_limits<float>::infinity()), -1);
  return torch::matmul(att, heads(parts[2])).transpose(1, 2).reshape({B, T, C});
}

}  // namespace

TEST_CASE("cpu::linear matches torch linear, forward and backward") {
  if (!have_onednn()) return;
  torch::manual_seed(0);
  for (bool bias : {true, false}) {
    auto x = torch::randn({3, 5, 24}, torch::requires_grad());
    auto w = torch::randn({40, 24}, torch::requires_grad());
    auto b = bias ? torch::randn({40}, torch::requires_grad()) : torch::Tensor();
    auto g = torch::randn({3, 5, 40});
    auto y = cpu::linear(x, w, b);
    y.backward(g);
    auto gx = x.grad().clone(), gw = w.grad().clone();
    auto gb = bias ? b.grad().clone() : torch::Tensor();
    x.mutable_grad().reset();
    w.mutable_grad().reset();
    if (bias) b.mutable_grad().reset();
    auto yr = torch::nn::functional::linear(x, w, b);
    yr.backward(g);
    CHECK(close(y, yr));
    CHECK(close(gx, x.grad()));
    CHECK(close(gw, w.grad()));
    if (bias) CHECK(close(gb, b.grad()));
  }
}

TEST_CASE("cpu::causal_attention matches masked softmax attention") {
  if (!have_onednn()) return;
  torch::manual_seed(1);
  // T on, below and off the kernel's 16-row block size; the softmax rows in every
  // form this CPU has (limit_pointwise_isa: 2 AVX-512, 1 AVX2, 0 scalar).
  for (auto [level, B, T, H, hd] : {std::array<int64_t, 5>{2, 2, 64, 2, 16}, {2, 1, 45, 3, 8}, {2, 2, 7, 1, 4},
                                    {2, 1, 128, 4, 32}, {1, 1, 45, 3, 8}, {1, 2, 7, 1, 4}, {0, 1, 45, 3, 8}}) {
    CAPTURE(level);
    CAPTURE(T);
    testing::IsaCap cap(int(level));
    auto qkv = torch::randn({B, T, 3 * H * hd}, torch::requires_grad());
    auto g = torch::randn({B, T, H * hd});
    for (double mult : {1.0, 0.5}) {  // 0.5: μP's attention factor at m = 4
      CAPTURE(mult);
      auto y = cpu::causal_attention(qkv, H, mult);
      y.backward(g);
      auto gq = qkv.grad().clone();
      qkv.mutable_grad().reset();
      auto yr = reference_attention(qkv, H, mult);
      yr.backward(g);
      CHECK(close(y, yr));
      CHECK(close(gq, qkv.grad()));
      qkv.mutable_grad().reset();
    }
  }
}

TEST_CASE("GPT: CPU kernel path and reference path agree on loss and every gradient") {
  if (!have_onednn()) return;
  ModelConfig m;
  m.n_layer = 2;
  m.d_model = 48;
  m.n_head = 3;
  m.seq_len = 40;
  m.vocab = 97;
  struct Case {
    bool tie;
    int base;  // > 0: mup
    bool bias = true, mlp = true;
  };
  for (Case c : {Case{true, 0}, Case{false, 0}, Case{true, 12}, Case{false, 24}, Case{true, 0, false},
                 Case{false, 0, true, false}, Case{true, 12, false, false}}) {
    CAPTURE(c.tie);
    CAPTURE(c.base);
    CAPTURE(c.bias);
    CAPTURE(c.mlp);
    m.tie_embeddings = c.tie;
    m.parametrization = c.base ? "mup" : "sp";
    m.mup_base_width = c.base;
    m.bias = c.bias;
    m.mlp = c.mlp;
    torch::manual_seed(5);
    GPT g(m);
    auto idx = torch::randint(0, 97, {3, 40}, torch::kInt64);
    auto tgt = torch::randint(0, 97, {3, 40}, torch::kInt64);
    g->set_cpu_kernels(true);
    REQUIRE(g->cpu_kernels());
    auto loss = g->forward(idx, tgt);
    loss.backward();
    std::vector<torch::Tensor> grads;
    for (auto& p : g->parameters()) {
      grads.push_back(p.grad().clone());
      p.mutable_grad().reset();
    }
    g->set_cpu_kernels(false);
    auto ref = g->forward(idx, tgt);
    ref.backward();
    CHECK(loss.item<double>() == doctest::Approx(ref.item<double>()).epsilon(1e-5));
    auto params = g->parameters();
    for (std::size_t i = 0; i < params.size(); ++i) CHECK(close(grads[i], params[i].grad()));
  }
}
