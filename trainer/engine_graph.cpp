// A training step as one CUDA graph (TrainOptions::cuda_graphs). A tiny model's
// step is hundreds of kernel launches of microseconds each, so the host's launch
// rate, not the GPU, sets its speed; replaying a captured graph launches them all
// at once. A graph replays fixed device addresses, so the step reads its batches
// and learning rate from tensors allocated once, the optimizer keeps its step
// count on the device (FlatAdamW's fused mode), and nothing in it syncs the host.
#include "common/error.h"
#include "trainer/device.h"
#include "trainer/engine.h"

namespace scalelab::trainer {

void Engine::set_cuda_graphs(bool on) {
  if (!on) {
    graphs_ = false;
    graph_.reset();
    return;
  }
  if (!device_.is_cuda()) user_error("cuda_graphs needs a CUDA device (device {})", device_.str());
  if (task_data_) user_error("cuda_graphs: task data is not supported (its batches are built per item)");
  if (spec_.model.dropout > 0) user_error("cuda_graphs: model.dropout > 0 is not supported");
  if (!FlatAdamW::fused_available()) user_error("cuda_graphs needs LibTorch 2.x (fused AdamW)");
  graphs_ = true;
}

// What the graph records: the same operations as Engine::step, on the fixed tensors.
void Engine::graph_body() {
  opt_->zero_grad();
  torch::Tensor loss_sum;
  for (int micro = 0; micro < micro_steps_; ++micro) {
    torch::Tensor loss;
    {
      AutocastScope autocast(device_);
      loss = model_->forward(static_x_[std::size_t(micro)], static_y_[std::size_t(micro)]);
    }
    (micro_steps_ > 1 ? loss / micro_steps_ : loss).backward();
    torch::Tensor l = loss.detach();
    loss_sum = micro == 0 ? l : loss_sum + l;
  }
  static_loss_ = micro_steps_ > 1 ? loss_sum / micro_steps_ : loss_sum;
  static_norm_ = opt_->grad_norm();
  if (spec_.optim.grad_clip > 0) opt_->clip(static_norm_, spec_.optim.grad_clip);
  opt_->step(static_lr_);
}

// Warm-up runs real steps, so the state they change is put back before capture:
// the run's first graphed step then computes exactly what an eager one would.
void Engine::capture_step() {
  torch::NoGradGuard outside;  // the snapshots themselves need no autograd
  const torch::Tensor params = opt_->params().clone(), m = opt_->exp_avg().clone(), v = opt_->exp_avg_sq().clone();
  const std::int64_t t = opt_->steps();
  graph_ = std::make_unique<cuda::StepGraph>(device_);
  auto body = [this] {
    torch::AutoGradMode grad(true);
    graph_body();
  };
  graph_->warm_up(body, 3);
  opt_->params().copy_(params);
  opt_->exp_avg().copy_(m);
  opt_->exp_avg_sq().copy_(v);
  opt_->set_steps(t);
  graph_->capture(body);
}

StepOutput Engine::graph_step(std::int64_t step, double lr) {
  if (static_x_.empty()) {
    const auto opts = torch::TensorOptions().dtype(torch::kLong).device(device_);
    for (int micro = 0; micro < micro_steps_; ++micro) {
      static_x_.push_back(torch::zeros({spec_.micro_batch, spec_.model.seq_len}, opts));
      static_y_.push_back(torch::zeros({spec_.micro_batch, spec_.model.seq_len}, opts));
    }
    static_lr_ = torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat).device(device_));
  }
  for (int micro = 0; micro < micro_steps_; ++micro) {
    Batch b = train_batch(step, micro);
    static_x_[std::size_t(micro)].copy_(b.x, /*non_blocking=*/true);
    static_y_[std::size_t(micro)].copy_(b.y, /*non_blocking=*/true);
  }
  static_lr_.fill_(lr);
  if (!graph_) capture_step();
  graph_->replay();
  opt_->count_step();
  // Copies: the next replay overwrites the graph's own outputs.
  return {static_loss_.clone(), static_norm_.clone()};
}

}  // namespace scalelab::trainer
