#include <doctest/doctest.h>

#include <torch/version.h>
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
