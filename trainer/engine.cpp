#include "trainer/engine.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "trainer/device.h"

namespace scalelab::trainer {

std::unique_ptr<FlatAdamW> make_optimizer(GPT& model, const OptimConfig& optim) {
  auto [decay, rest] = model->param_groups();
  auto opt = std::make_unique<FlatAdamW>(decay, rest, optim);
  opt->add_decay(model->embeddings(), optim.embedding_weight_decay);
  opt->scale_lr(model->hidden_matrices(), mup_scales(model->config()).hidden_lr);
  return opt;
}

Engine::Engine(const RunSpec& spec, std::shared_ptr<const Corpus> corpus, torch::Device device,
               bool cpu_kernels, std::shared_ptr<const tasks::Task> task)
    : spec_(spec), corpus_(std::move(corpus)), device_(device), task_(std::move(task)) {
  if (spec.micro_batch < 1) user_error("micro_batch must be >= 1 (got {})", spec.micro_batch);
  if (spec.batch_tokens < 1) user_error("batch_tokens must be >= 1 (got {})", spec.batch_tokens);
  if (spec.eval_batches < 1) user_error("eval_batches must be >= 1 (got {})", spec.eval_batches);
  if (spec.eval_final_tokens < 1)
    user_error("eval.final_tokens must be >= 1 (got {})", spec.eval_final_tokens);
  const std::int64_t per_micro = std::int64_t(spec.micro_batch) * spec.model.seq_len;
  micro_steps_ = static_cast<int>(std::max<std::int64_t>(1, (spec.batch_tokens + per_micro - 1) / per_micro));
  torch::manual_seed(spec.seed);
  model_ = GPT(spec.model);
  model_->to(device_);
  model_->set_cpu_kernels(cpu_kernels && device_.is_cpu());
  model_->train();
  opt_ = make_optimizer(model_, spec.optim);
  // One kernel per parameter group instead of a dozen per step: launches are what a
  // small model's GPU step is made of. The CPU keeps the flat update (bit-exact resume).
  if (device_.is_cuda() && FlatAdamW::fused_available()) opt_->set_fused(true);
  task_data_ = spec.data.kind == "task";
  if (task_data_ && !task_) throw std::logic_error("Engine: task data without a task");
  if (!task_) return;
  const int need = task_->length() - 1;
  if (need > spec.model.seq_len)
    user_error("task {}: its items need model.seq_len >= {} (got {})", task_->name(), need, spec.model.seq_len);
  if (!task_data_ && !(byte_level() && task_->single_char_symbols()))
    user_error("task {}: only tasks written in single characters (addition, induction, sparse_parity) can be "
               "evaluated on a byte-level text model; train on the task with data.kind = \"task\"",
               task_->name());
  map_ = token_map(*task_, !task_data_);
  for (int t : map_)
    if (t >= spec.model.vocab)
      user_error("task {}: token {} does not fit model.vocab = {}", task_->name(), t, spec.model.vocab);
}

std::int64_t Engine::tokens_per_step() const {
  return std::int64_t(micro_steps_) * spec_.micro_batch * spec_.model.seq_len;
}

torch::Tensor Engine::to_device(const torch::Tensor& t) const {
  if (device_.is_cpu()) return t;
  // From pinned memory the copy is truly asynchronous: the host never waits on the GPU here.
  return t.pin_memory().to(device_, /*non_blocking=*/true);
}

Batch Engine::train_batch(std::int64_t step, int micro) {
  if (device_.is_cpu()) return corpus_->train_batch(spec_.seed, step, micro, spec_.micro_batch);
  if (!prefetch_) {
    auto make = [this](std::int64_t s, int m) {
      Batch b = corpus_->train_batch(spec_.seed, s, m, spec_.micro_batch);
      return Batch{b.x.pin_memory(), b.y.pin_memory()};
    };
    prefetch_ = std::make_unique<Prefetcher>(make, micro_steps_, step, 2 * micro_steps_);
  }
  return prefetch_->get(step, micro);
}

StepOutput Engine::step(std::int64_t step, double lr) {
  if (graphs_) return graph_step(step, lr);
  opt_->zero_grad();
  torch::Tensor loss_sum;
  for (int micro = 0; micro < micro_steps_; ++micro) {
    torch::Tensor loss;
    if (task_data_) {
      std::vector<tasks::Item> items;
      items.reserve(std::size_t(spec_.micro_batch));
      for (int r = 0; r < spec_.micro_batch; ++r) items.push_back(task_->train_item(spec_.seed, step, micro, r));
      TaskBatch b = task_batch(*task_, items, map_);
      AutocastScope autocast(device_);
      loss = model_->forward_at(to_device(b.x), to_device(b.positions), to_device(b.targets));
    } else {
      Batch b = train_batch(step, micro);
      torch::Tensor x = to_device(b.x), y = to_device(b.y);
      AutocastScope autocast(device_);
      loss = model_->forward(x, y);
    }
    // Each micro-batch carries 1/micro_steps of the step's mean loss.
    (micro_steps_ > 1 ? loss / micro_steps_ : loss).backward();
    torch::Tensor l = loss.detach();
    loss_sum = micro == 0 ? l : loss_sum + l;
  }
  StepOutput out;
  out.loss = micro_steps_ > 1 ? loss_sum / micro_steps_ : loss_sum;
  out.grad_norm = opt_->grad_norm();
  if (spec_.optim.grad_clip > 0) opt_->clip(out.grad_norm, spec_.optim.grad_clip);
  opt_->step(lr);
  return out;
}

namespace {

// Every sequence (item) weighs the same in the mean, so the per-sequence losses
// give both the loss and its standard error from one forward pass.
ValLoss mean_and_se(const torch::Tensor& per_seq) {
  const torch::Tensor l = per_seq.to(torch::kCPU, torch::kDouble);
  const auto n = l.numel();
  ValLoss v;
  v.mean = l.mean().item<double>();
  if (n > 1) v.se = l.std(/*unbiased=*/true).item<double>() / std::sqrt(double(n));
  return v;
}

}  // namespace

torch::Tensor Engine::sequence_losses(const Batch& b) {
  namespace F = torch::nn::functional;
  torch::Tensor logits, y = to_device(b.y);
  {
    AutocastScope autocast(device_);
    logits = model_->logits(to_device(b.x));
  }
  return F::cross_entropy(logits.to(torch::kFloat).view({-1, spec_.model.vocab}), y.reshape(-1),
                          F::CrossEntropyFuncOptions().reduction(torch::kNone))
      .view({y.size(0), y.size(1)})
      .mean(1);
}

torch::Tensor Engine::item_losses(const std::vector<tasks::Item>& items) {
  namespace F = torch::nn::functional;
  TaskBatch b = task_batch(*task_, items, map_);
  torch::Tensor logits;
  {
    AutocastScope autocast(device_);
    logits = model_->logits_at(to_device(b.x), to_device(b.positions));
  }
  // Targets are item-major (task_batch), so each row below is one item's answer tokens.
  return F::cross_entropy(logits.to(torch::kFloat), to_device(b.targets),
                          F::CrossEntropyFuncOptions().reduction(torch::kNone))
      .view({std::int64_t(items.size()), -1})
      .mean(1);
}

ValLoss Engine::eval_loss() {
  torch::NoGradGuard no_grad;
  model_->eval();
  torch::Tensor per_seq;
  if (task_data_) {
    // The answer-token loss on the first test items: the same fixed items every time.
    const auto& test = task_->test();
    const auto n = std::min<std::size_t>(test.size(), std::size_t(spec_.eval_batches) * std::size_t(spec_.micro_batch));
    per_seq = item_losses(std::vector<tasks::Item>(test.begin(), test.begin() + std::ptrdiff_t(n)));
  } else {
    std::vector<torch::Tensor> parts;
    for (int i = 0; i < spec_.eval_batches; ++i)
      parts.push_back(sequence_losses(corpus_->val_batch(i, spec_.eval_batches, spec_.micro_batch)));
    per_seq = torch::cat(parts);
  }
  model_->train();
  return mean_and_se(per_seq);
}

std::int64_t Engine::final_eval_sequences() const {
  const std::int64_t want = std::max<std::int64_t>(1, spec_.eval_final_tokens / spec_.model.seq_len);
  const std::int64_t have = task_data_ ? std::int64_t(task_->test().size()) : corpus_->val_sequences();
  return std::min(want, have);
}

ValLoss Engine::eval_final_loss() {
  torch::NoGradGuard no_grad;
  model_->eval();
  const std::int64_t n = final_eval_sequences();
  // Chunks of micro_batch: the logits of one forward pass at a time, as in training;
  // only the per-sequence losses (a few thousand floats) are kept, on the device until the end.
  std::vector<torch::Tensor> parts;
  for (std::int64_t first = 0; first < n; first += spec_.micro_batch) {
    const int rows = static_cast<int>(std::min<std::int64_t>(spec_.micro_batch, n - first));
    torch::Tensor l;
    if (task_data_) {
      const auto& test = task_->test();
      l = item_losses(std::vector<tasks::Item>(test.begin() + std::ptrdiff_t(first),
                                               test.begin() + std::ptrdiff_t(first + rows)));
    } else {
      l = sequence_losses(corpus_->val_sequence_batch(first, rows));
    }
    parts.push_back(l);
  }
  model_->train();
  return mean_and_se(torch::cat(parts));
}

std::vector<EvalRow> Engine::eval_task(std::int64_t step) {
  auto rows = evaluate_task(model_, *task_, task_->test(), map_, device_, step, task_->name());
  auto train = evaluate_task(model_, *task_, task_->train_sample(), map_, device_, step, task_->name() + "/train");
  rows.insert(rows.end(), train.begin(), train.end());
  return rows;
}

}  // namespace scalelab::trainer
