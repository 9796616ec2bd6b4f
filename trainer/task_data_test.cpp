#include <doctest/doctest.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <map>

#include "trainer/engine.h"
#include "trainer/model.h"
#include "trainer/task_data.h"
#include "trainer/test_util.h"
#include "trainer/trainer.h"

using namespace scalelab;
using namespace scalelab::trainer;
namespace fs = std::filesystem;

namespace {

struct Capture : MetricSink {
  std::vector<MetricRow> rows;
  std::vector<EvalRow> evals;
  std::size_t evals_at_last_flush = 0;
  void log(const MetricRow& r) override { rows.push_back(r); }
  void log_eval(const EvalRow& r) override { evals.push_back(r); }
  void flush() override { evals_at_last_flush = evals.size(); }
};

using testing::quiet;
fs::path temp_dir(const std::string& name) { return testing::temp_dir("task", name); }

RunSpec addition_spec() {
  RunSpec s;
  s.data.kind = "task";
  s.task.name = "addition";
  s.task.digits = 2;
  s.task.test_items = 200;
  auto t = tasks::Task::make(s.task);
  s.model.n_layer = 2;
  s.model.d_model = 32;
  s.model.n_head = 2;
  s.model.seq_len = t->length() - 1;
  s.model.vocab = t->vocab();
  s.micro_batch = 64;
  s.batch_tokens = 64 * s.model.seq_len;
  s.tokens = 300.0 * double(s.batch_tokens);
  s.optim.lr = 1e-2;
  s.schedule.warmup_steps = 10;
  s.eval_every = 100;
  s.log_every = 10;
  s.checkpoint_every = 50;
  return s;
}

std::map<std::string, double> at_step(const std::vector<EvalRow>& rows, std::int64_t step, const std::string& task) {
  std::map<std::string, double> m;
  for (auto& r : rows)
    if (r.step == step && r.task == task) m[r.metric] = r.value;
  return m;
}

}  // namespace

TEST_CASE("attention-only blocks: parameter count equals numel, and the model runs") {
  ModelConfig m;
  m.n_layer = 2;
  m.d_model = 32;
  m.n_head = 2;
  m.seq_len = 16;
  m.vocab = 12;
  m.mlp = false;
  GPT g(m);
  std::int64_t n = 0;
  for (auto& p : g->parameters()) n += p.numel();
  CHECK(count_params(m).total == n);
  auto [decay, rest] = g->param_groups();
  std::int64_t grouped = 0;
  for (auto& p : decay) grouped += p.numel();
  for (auto& p : rest) grouped += p.numel();
  CHECK(grouped == n);
  auto idx = torch::randint(12, {3, 16}, torch::kInt64);
  CHECK(g->logits(idx).sizes() == torch::IntArrayRef({3, 16, 12}));
}

TEST_CASE("embedding_init_std sets the embeddings' scale") {
  ModelConfig m;
  m.n_layer = 1;
  m.d_model = 64;
  m.n_head = 2;
  m.seq_len = 64;
  m.vocab = 256;
  m.embedding_init_std = 0.5;
  torch::manual_seed(1);
  GPT g(m);
  CHECK(g->embeddings()[0].std().item<double>() == doctest::Approx(0.5).epsilon(0.05));
}

TEST_CASE("logits at the answer positions equal the full logits there") {
  RunSpec s = addition_spec();
  auto task = tasks::Task::make(s.task);
  torch::manual_seed(3);
  GPT g(s.model);
  g->eval();
  std::vector<tasks::Item> items(task->test().begin(), task->test().begin() + 5);
  TaskBatch b = task_batch(*task, items, token_map(*task, false));
  CHECK(b.positions.size(0) == 5 * task->answer_len());
  torch::NoGradGuard no_grad;
  auto full = g->logits(b.x).reshape({-1, s.model.vocab}).index_select(0, b.positions);
  auto some = g->logits_at(b.x, b.positions);
  CHECK(torch::allclose(full, some, 1e-5, 1e-5));
  // The answer targets are the item's answer tokens, and the inputs end before the last one.
  CHECK(b.targets[0].item<std::int64_t>() == items[0].answer[0]);
  CHECK(b.x.size(1) == task->length() - 1);
}

TEST_CASE("training on a task learns it, reports the contract's metrics, and resumes bit for bit") {
  const RunSpec s = addition_spec();
  Capture whole;
  const TrainResult r = train(s, quiet(temp_dir("whole")), whole);
  REQUIRE(r.status == "done");
  auto first = at_step(whole.evals, 100, "addition"), last = at_step(whole.evals, 300, "addition");
  for (auto metric : {"exact_match", "token_logprob", "seq_logprob", "token_acc", "edit_distance", "answer_len",
                      "pos_acc_0", "pos_acc_1", "pos_acc_2"}) {
    CHECK(first.count(metric) == 1);
    CHECK(last.count(metric) == 1);
  }
  CHECK(at_step(whole.evals, 300, "addition/train").size() == last.size());
  CHECK(last["answer_len"] == 3);
  CHECK(last["token_logprob"] > first["token_logprob"]);
  CHECK(last["token_acc"] > 0.5);
  for (auto& e : whole.evals) CHECK(e.n == 200);
  CHECK(whole.evals_at_last_flush == whole.evals.size());
  CHECK(r.final_evals.size() == 2 * last.size());
  CHECK_FALSE(r.unique_tokens);  // addition draws from a million problems: no fixed training set
  REQUIRE(r.final_val_loss_se);  // over the evaluated test items
  CHECK(*r.final_val_loss_se > 0);

  const fs::path dir = temp_dir("resumed");
  TrainOptions stop = quiet(dir);
  stop.stop_after_steps = 130;
  Capture part1, part2;
  CHECK(train(s, stop, part1).status == "stopped");
  TrainOptions go = quiet(dir);
  go.resume = true;
  CHECK(train(s, go, part2).status == "done");
  const auto a = at_step(whole.evals, 300, "addition"), b = at_step(part2.evals, 300, "addition");
  REQUIRE(a.size() == b.size());
  for (auto& [k, v] : a) CHECK(b.at(k) == v);  // exact: same batches, same arithmetic
  CHECK(part2.rows.back().loss == whole.rows.back().loss);
}

TEST_CASE("embedding weight decay shrinks only the embeddings") {
  RunSpec s = addition_spec();
  s.optim.lr = 1e-3;
  s.optim.weight_decay = 0;
  s.optim.embedding_weight_decay = 100;  // lr * wd = 0.1 per step: unmistakable
  auto task = tasks::Task::make(s.task);
  Engine e(s, nullptr, torch::kCPU, true, std::shared_ptr<const tasks::Task>(std::move(task)));
  const double before = e.model()->embeddings()[0].norm().item<double>();
  for (int i = 0; i < 5; ++i) (void)e.step(i, s.optim.lr);
  CHECK(e.model()->embeddings()[0].norm().item<double>() < 0.8 * before);
}
