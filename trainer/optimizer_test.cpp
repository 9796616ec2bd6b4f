#include <doctest/doctest.h>

#include <torch/version.h>

#include <cmath>

#include "trainer/optimizer.h"

using namespace scalelab::trainer;

namespace {
// Fresh leaves with the same values: one set for FlatAdamW, one for torch's AdamW.
std::vector<torch::Tensor> leaf_copies(const std::vector<torch::Tensor>& shapes) {
  std::vector<torch::Tensor> v;
  for (auto& s : shapes) v.push_back(s.clone().requires_grad_(true));
  return v;
}
}  // namespace

TEST_CASE("FlatAdamW matches torch::optim::AdamW with a decayed and an undecayed group") {
  torch::manual_seed(2);
  std::vector<torch::Tensor> shapes = {torch::randn({6, 5}), torch::randn({4, 6}), torch::randn({5}),
                                       torch::randn({3, 2})};
  auto mine = leaf_copies(shapes), ref = leaf_copies(shapes);
  OptimConfig cfg;
  cfg.lr = 1e-2;
  cfg.weight_decay = 0.1;
  FlatAdamW flat({mine[0], mine[1]}, {mine[2], mine[3]}, cfg);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(std::vector<torch::Tensor>{ref[0], ref[1]},
                      std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(cfg.lr).betas({0.9, 0.95}).eps(1e-8).weight_decay(0.1)));
  groups.emplace_back(std::vector<torch::Tensor>{ref[2], ref[3]},
                      std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(cfg.lr).betas({0.9, 0.95}).eps(1e-8).weight_decay(0.0)));
  torch::optim::AdamW adam(groups, torch::optim::AdamWOptions(cfg.lr));
  for (int step = 0; step < 4; ++step) {
    const double lr = 1e-2 * (1 + step);
    flat.zero_grad();
    adam.zero_grad();
    std::vector<torch::Tensor> gs;
    for (auto& s : shapes) gs.push_back(torch::randn(s.sizes()));
    // Gradients arrive through autograd, accumulating into the flat buffer.
    torch::Tensor lm = torch::zeros({}), lr_ = torch::zeros({});
    for (std::size_t i = 0; i < shapes.size(); ++i) {
      lm = lm + (mine[i] * gs[i]).sum();
      lr_ = lr_ + (ref[i] * gs[i]).sum();
    }
    lm.backward();
    lr_.backward();
    for (auto& g : adam.param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
    flat.step(lr);
    adam.step();
    for (std::size_t i = 0; i < shapes.size(); ++i) CHECK(torch::allclose(mine[i], ref[i], 1e-5, 1e-6));
  }
  CHECK(flat.steps() == 4);
  // Parameters really are views of the flat buffer.
  CHECK(mine[0].data_ptr<float>() == flat.params().data_ptr<float>());
  CHECK(flat.numel() == 30 + 24 + 5 + 6);
}

TEST_CASE("grad_norm and clip agree with clip_grad_norm_") {
  torch::manual_seed(3);
  auto a = torch::randn({10, 3}).requires_grad_(true), b = torch::randn({7}).requires_grad_(true);
  auto a2 = a.detach().clone().requires_grad_(true), b2 = b.detach().clone().requires_grad_(true);
  FlatAdamW flat({a}, {b}, OptimConfig{});
  flat.zero_grad();
  ((a * a).sum() * 3 + b.sum()).backward();
  ((a2 * a2).sum() * 3 + b2.sum()).backward();
  auto norm = flat.grad_norm();
  const double ref_norm = torch::nn::utils::clip_grad_norm_(std::vector<torch::Tensor>{a2, b2}, 1.0);
  CHECK(norm.item<double>() == doctest::Approx(ref_norm).epsilon(1e-6));
  flat.clip(norm, 1.0);
  CHECK(torch::allclose(a.grad(), a2.grad(), 1e-5, 1e-7));
  CHECK(torch::allclose(b.grad(), b2.grad(), 1e-5, 1e-7));
  CHECK(flat.grad_norm().item<double>() == doctest::Approx(1.0).epsilon(1e-5));
}

TEST_CASE("scale_lr: a parameter's lr (and so its decay) is mult * lr, as an AdamW group of its own") {
  torch::manual_seed(3);
  std::vector<torch::Tensor> shapes = {torch::randn({6, 5}), torch::randn({4, 6}), torch::randn({3, 3}),
                                       torch::randn({5})};
  auto mine = leaf_copies(shapes), ref = leaf_copies(shapes);
  OptimConfig cfg;
  cfg.weight_decay = 0.1;
  FlatAdamW flat({mine[0], mine[1], mine[2]}, {mine[3]}, cfg);
  flat.scale_lr({mine[1], mine[0]}, 0.25);  // any order; adjacent ranges merge
  auto opts = [&](double wd) {
    return std::make_unique<torch::optim::AdamWOptions>(
        torch::optim::AdamWOptions(1e-2).betas({0.9, 0.95}).eps(1e-8).weight_decay(wd));
  };
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(std::vector<torch::Tensor>{ref[0], ref[1]}, opts(0.1));
  groups.emplace_back(std::vector<torch::Tensor>{ref[2]}, opts(0.1));
  groups.emplace_back(std::vector<torch::Tensor>{ref[3]}, opts(0.0));
  torch::optim::AdamW adam(groups, torch::optim::AdamWOptions(1e-2));
  for (int step = 0; step < 4; ++step) {
    const double lr = 1e-2 * (1 + step);
    flat.zero_grad();
    adam.zero_grad();
    torch::Tensor lm = torch::zeros({}), lr_ = torch::zeros({});
    for (std::size_t i = 0; i < shapes.size(); ++i) {
      auto g = torch::randn(shapes[i].sizes());
      lm = lm + (mine[i] * g).sum();
      lr_ = lr_ + (ref[i] * g).sum();
    }
    lm.backward();
    lr_.backward();
    for (std::size_t k = 0; k < 3; ++k)
      static_cast<torch::optim::AdamWOptions&>(adam.param_groups()[k].options()).lr(k == 0 ? 0.25 * lr : lr);
    flat.step(lr);
    adam.step();
    for (std::size_t i = 0; i < shapes.size(); ++i) CHECK(torch::allclose(mine[i], ref[i], 1e-5, 1e-6));
  }
  CHECK_THROWS_AS(flat.scale_lr({mine[0]}, 0.5), std::logic_error);  // scaled twice
}

namespace {
// Two optimizers over identical parameters, one fused: decayed and undecayed
// groups, a μP-style LR multiplier on part of the decayed group and an extra
// decay on part of the undecayed one, so that the kernel's grouping is exercised.
struct Twins {
  std::vector<torch::Tensor> a, b;
  std::unique_ptr<FlatAdamW> plain, fused;
  Twins() {
    torch::manual_seed(5);
    std::vector<torch::Tensor> shapes = {torch::randn({6, 5}), torch::randn({4, 6}), torch::randn({5}),
                                         torch::randn({3, 2})};
    a = leaf_copies(shapes), b = leaf_copies(shapes);
    OptimConfig cfg;
    cfg.weight_decay = 0.1;
    for (auto* side : {&a, &b}) {
      auto& p = *side;
      auto opt = std::make_unique<FlatAdamW>(std::vector<torch::Tensor>{p[0], p[1]},
                                             std::vector<torch::Tensor>{p[2], p[3]}, cfg);
      opt->scale_lr({p[1]}, 0.25);
      opt->add_decay({p[3]}, 0.5);
      (side == &a ? plain : fused) = std::move(opt);
    }
    fused->set_fused(true);
  }
  void grads(int seed) {
    for (auto* side : {&a, &b}) {
      torch::manual_seed(seed);
      (side == &a ? plain : fused)->zero_grad();
      torch::Tensor l = torch::zeros({});
      for (auto& p : *side) l = l + (p * torch::randn(p.sizes())).sum();
      l.backward();
    }
  }
};
}  // namespace

TEST_CASE("fused AdamW (LibTorch 2.x's kernel, the CUDA default) matches the flat update up to rounding") {
  if (!FlatAdamW::fused_available()) {
    MESSAGE("SKIP: fused AdamW needs LibTorch 2.x (this build has " TORCH_VERSION "); the 2.x build runs this test");
    auto p = torch::randn({3}).requires_grad_(true);
    FlatAdamW flat({p}, {}, OptimConfig{});
    CHECK_THROWS_AS(flat.set_fused(true), std::logic_error);
    return;
  }
  Twins t;
  for (int step = 0; step < 6; ++step) {
    t.grads(10 + step);
    const double lr = 1e-2 * (1 + step);
    t.plain->step(lr);
    if (step % 2 == 0) t.fused->step(lr);
    else t.fused->step(torch::full({}, lr)), t.fused->count_step();  // the graph's form
    for (std::size_t i = 0; i < t.a.size(); ++i) CHECK(torch::allclose(t.a[i], t.b[i], 1e-5, 1e-6));
  }
  CHECK(t.fused->steps() == 6);
  CHECK(torch::allclose(t.plain->exp_avg_sq(), t.fused->exp_avg_sq(), 1e-5, 1e-9));
  // A checkpoint's step count reaches the kernel's device counter.
  t.plain->set_steps(100), t.fused->set_steps(100);
  t.grads(99);
  t.plain->step(1e-2), t.fused->step(1e-2);
  for (std::size_t i = 0; i < t.a.size(); ++i) CHECK(torch::allclose(t.a[i], t.b[i], 1e-5, 1e-6));
}

namespace {
// step()'s element-wise arithmetic before the fused CPU loop, op for op, over
// copies of the flat buffers: the decay group [0, n_decay) with LR multiplier k on
// [k_lo, k_hi), an extra decay xd on [x_lo, x_hi) of the no-decay group.
struct OldUpdate {
  std::int64_t n_decay, k_lo, k_hi, x_lo, x_hi;
  double k, wd, xd;
  void step(torch::Tensor& p, const torch::Tensor& g, torch::Tensor& m, torch::Tensor& v, std::int64_t t,
            double lr) const {
    const double b1 = 0.9, b2 = 0.95, bc1 = 1 - std::pow(b1, double(t)), bc2 = 1 - std::pow(b2, double(t));
    auto span = [](torch::Tensor& x, std::int64_t lo, std::int64_t hi) { return x.narrow(0, lo, hi - lo); };
    const std::int64_t n = p.numel();
    const std::int64_t cut[] = {0, k_lo, k_hi, n_decay, n};
    for (int i = 0; i < 3; ++i) span(p, cut[i], cut[i + 1]).mul_(1 - lr * (i == 1 ? k : 1) * wd);
    span(p, x_lo, x_hi).mul_(1 - lr * xd);
    m.lerp_(g, 1 - b1);
    v.mul_(b2).addcmul_(g, g, 1 - b2);
    torch::Tensor d = torch::sqrt(v).div_(std::sqrt(bc2)).add_(1e-8);
    for (int i = 0; i < 4; ++i)
      span(p, cut[i], cut[i + 1]).addcdiv_(span(m, cut[i], cut[i + 1]), span(d, cut[i], cut[i + 1]),
                                           -lr * (i == 1 ? k : 1) / bc1);
  }
};
}  // namespace

TEST_CASE("the fused CPU update matches the element-wise ops it replaced, with LR pieces, extra decay and clipping") {
  torch::manual_seed(8);
  // Odd sizes: pieces start and end off the vector loop's 8-lane boundaries.
  std::vector<torch::Tensor> p = {torch::randn({7, 5}), torch::randn({13, 3}), torch::randn({21}),
                                  torch::randn({9}), torch::randn({11, 2}), torch::randn({3})};
  for (auto& x : p) x.requires_grad_(true);
  OptimConfig cfg;
  cfg.weight_decay = 0.1;
  FlatAdamW flat({p[0], p[1], p[2]}, {p[3], p[4], p[5]}, cfg);
  flat.scale_lr({p[1]}, 0.25);
  flat.add_decay({p[4]}, 0.5);
  const OldUpdate old{35 + 39 + 21, 35, 35 + 39, 95 + 9, 95 + 9 + 22, 0.25, 0.1, 0.5};
  torch::Tensor rp = flat.params().clone(), rm = flat.exp_avg().clone(), rv = flat.exp_avg_sq().clone();
  for (int step = 1; step <= 8; ++step) {
    flat.zero_grad();
    torch::Tensor l = torch::zeros({});
    for (auto& x : p) l = l + (x * torch::randn(x.sizes()) * (step % 2 ? 3.0 : 0.01)).sum();
    l.backward();
    const torch::Tensor norm = flat.grad_norm();
    flat.clip(norm, 1.0);  // odd steps clip, even steps stay under the threshold
    CHECK((norm.item<double>() > 1) == (step % 2 == 1));
    if (step % 2) CHECK(flat.grad_norm().item<double>() == doctest::Approx(1.0).epsilon(1e-5));
    const double lr = 1e-2 * step;
    old.step(rp, flat.grads(), rm, rv, step, lr);
    flat.step(lr);
    CHECK(torch::allclose(flat.params(), rp, 1e-6, 1e-7));
    CHECK(torch::allclose(flat.exp_avg(), rm, 1e-6, 1e-9));
    CHECK(torch::allclose(flat.exp_avg_sq(), rv, 1e-6, 1e-12));
  }
}
