// Training-step time on an algorithmic task with the logits computed only at
// the answer positions (what Engine::step does for task data), against the same
// step computing the logits at every position and masking the loss (the
// baseline), measured in the same process on one CPU thread.
// Usage: bench_task_step [steps]
#include <fmt/format.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdlib>
#include <string>

#include "trainer/device.h"
#include "trainer/engine.h"
#include "trainer/task_data.h"

using namespace scalelab;
using namespace scalelab::trainer;
using Clock = std::chrono::steady_clock;

namespace {

struct Case {
  const char* name;
  tasks::TaskConfig task;
  int n_layer, d_model, n_head, batch;
};

double bench(const Case& c, bool answer_only, int steps) {
  auto task = std::shared_ptr<const tasks::Task>(tasks::Task::make(c.task));
  RunSpec s;
  s.data.kind = "task";
  s.task = c.task;
  s.model.n_layer = c.n_layer;
  s.model.d_model = c.d_model;
  s.model.n_head = c.n_head;
  s.model.seq_len = task->length() - 1;
  s.model.vocab = task->vocab();
  s.micro_batch = c.batch;
  s.batch_tokens = std::int64_t(c.batch) * s.model.seq_len;
  Engine e(s, nullptr, torch::kCPU, true, task);
  const auto map = token_map(*task, false);
  auto full_step = [&](std::int64_t step) {
    e.optimizer().zero_grad();
    std::vector<tasks::Item> items;
    for (int r = 0; r < c.batch; ++r) items.push_back(task->train_item(1, step, 0, r));
    TaskBatch b = task_batch(*task, items, map);
    // Baseline: every position's logits, the loss masked to the answer positions.
    auto y = torch::full({b.x.numel()}, -100, torch::kInt64);
    y.index_put_({b.positions}, b.targets);
    auto logits = e.model()->logits(b.x);
    auto loss = torch::nn::functional::cross_entropy(logits.view({-1, s.model.vocab}), y);
    loss.backward();
    e.optimizer().step(1e-3);
  };
  auto run = [&](std::int64_t step) { answer_only ? (void)e.step(step, 1e-3) : full_step(step); };
  for (int i = 0; i < 5; ++i) run(i);
  const auto t0 = Clock::now();
  for (int i = 0; i < steps; ++i) run(5 + i);
  return std::chrono::duration<double>(Clock::now() - t0).count() / steps;
}

}  // namespace

int main(int argc, char** argv) {
  const int steps = argc > 1 ? std::atoi(argv[1]) : 50;
  configure_cpu_threads(1);
  tasks::TaskConfig add;
  add.name = "addition";
  tasks::TaskConfig ind;
  ind.name = "induction";
  tasks::TaskConfig mod;
  mod.name = "modular";
  mod.p = 113;
  tasks::TaskConfig big = mod;
  big.p = 1999;  // a vocabulary of 2,001: the head is most of a step's work
  const Case cases[] = {{"addition 3-digit, L2-D32", add, 2, 32, 2, 256},
                        {"induction 40+12, L2-D32", ind, 2, 32, 2, 64},
                        {"modular p=113, L1-D128", mod, 1, 128, 4, 512},
                        {"modular p=1999, L1-D128", big, 1, 128, 4, 512}};
  for (const auto& c : cases) {
    const double full = bench(c, false, steps), answer = bench(c, true, steps);
    fmt::print("RESULT {:<26} answer-only {:.2f} ms/step, all-position logits {:.2f} ms/step: {:.2f}x\n", c.name,
               answer * 1e3, full * 1e3, full / answer);
  }
}
