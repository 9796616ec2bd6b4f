#include <doctest/doctest.h>

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
