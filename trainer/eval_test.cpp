// The final validation pass (eval.final_tokens): the last step's loss is measured on
// many more held-out tokens than the curve's intermediate points (docs/config.md).
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>

#include "trainer/data.h"
#include "trainer/engine.h"
#include "trainer/test_util.h"
#include "trainer/trainer.h"

using namespace scalelab;
using namespace scalelab::trainer;
namespace fs = std::filesystem;

namespace {

using Capture = testing::RowCapture;

fs::path temp_dir(const std::string& name) { return testing::temp_dir("eval", name); }

RunSpec tiny_spec() {
  RunSpec s = testing::phrase_spec();
  s.tokens = 40 * 256;
  s.log_every = 5;
  s.eval_every = 10;
  s.eval_batches = 2;  // 8 sequences, 256 tokens per intermediate pass
  s.checkpoint_every = 20;
  s.schedule.warmup_steps = 5;
  return s;
}

std::shared_ptr<const Corpus> open_corpus(const RunSpec& s) {
  return std::make_shared<const Corpus>(Corpus::open(s.data, s.model.seq_len, s.model.vocab));
}

std::vector<MetricRow> val_rows(const std::vector<MetricRow>& rows) {
  std::vector<MetricRow> out;
  for (auto& r : rows)
    if (r.split == "val") out.push_back(r);
  return out;
}

struct Trained {
  TrainResult result;
  std::vector<MetricRow> val;
};

Trained train_with_final_tokens(std::int64_t final_tokens, const std::string& name) {
  RunSpec s = tiny_spec();
  s.eval_final_tokens = final_tokens;
  Capture sink;
  Trained t;
  t.result = train(s, testing::quiet(temp_dir(name)), sink);
  t.val = val_rows(sink.rows);
  return t;
}

}  // namespace

TEST_CASE("the validation split read in order: disjoint windows, as many as fit") {
  const RunSpec s = tiny_spec();
  const auto c = open_corpus(s);
  const std::int64_t T = s.model.seq_len, n = c->val_sequences();
  CHECK(n == (c->val().count - 1) / T);
  CHECK(n > 50);
  const Batch b = c->val_sequence_batch(n - 3, 3);
  REQUIRE(b.x.size(0) == 3);
  for (std::int64_t r = 0; r < 3; ++r) {
    const std::int64_t start = (n - 3 + r) * T;
    CHECK(b.x[r][0].item<std::int64_t>() == c->val().token(start));
    CHECK(b.y[r][T - 1].item<std::int64_t>() == c->val().token(start + T));
  }
  CHECK_THROWS_AS(c->val_sequence_batch(n - 1, 2), std::out_of_range);
}

TEST_CASE("the final pass covers final_tokens or the whole split, with a smaller SE than eval.batches") {
  RunSpec s = tiny_spec();
  const auto corpus = open_corpus(s);
  Engine e(s, corpus, torch::kCPU);
  const std::int64_t total = total_steps(s);
  for (std::int64_t k = 0; k < total; ++k) (void)e.step(k, lr_at(s.optim, s.schedule, k, total));
  const ValLoss few = e.eval_loss();
  const ValLoss all = e.eval_final_loss();
  CHECK(e.final_eval_sequences() == corpus->val_sequences());
  REQUIRE(few.se);
  REQUIRE(all.se);
  MESSAGE("eval.batches (", s.eval_batches * s.micro_batch, " sequences): ", few.mean, " +- ", *few.se,
          "; final pass (", e.final_eval_sequences(), " sequences): ", all.mean, " +- ", *all.se);
  CHECK(*all.se < 0.5 * *few.se);
  CHECK(std::abs(all.mean - few.mean) < 4 * *few.se);

  // final_tokens below the split: that many tokens (whole sequences, at least one).
  s.eval_final_tokens = 10 * s.model.seq_len + 5;
  Engine part(s, corpus, torch::kCPU);
  CHECK(part.final_eval_sequences() == 10);
  s.eval_final_tokens = 1;
  Engine one(s, corpus, torch::kCPU);
  CHECK(one.final_eval_sequences() == 1);
  CHECK(!one.eval_final_loss().se);  // one sequence: no spread
}

TEST_CASE("final_tokens past the split uses the whole split; intermediate val rows ignore the key") {
  const std::int64_t split = open_corpus(tiny_spec())->val().count;
  const Trained huge = train_with_final_tokens(std::int64_t(1) << 40, "huge");
  const Trained exact = train_with_final_tokens(split, "exact");
  const Trained small = train_with_final_tokens(256, "small");  // = eval.batches x micro_batch x seq_len
  for (const Trained* t : {&huge, &exact, &small}) {
    REQUIRE(t->result.status == "done");
    REQUIRE(t->val.size() == 4);  // steps 10, 20, 30, 40
    CHECK(t->val.back().step == 40);
    CHECK(t->result.final_val_loss == t->val.back().loss);  // the final row is the final pass
  }
  CHECK(*huge.result.final_val_loss == *exact.result.final_val_loss);
  CHECK(*huge.result.final_val_loss_se == *exact.result.final_val_loss_se);
  CHECK(*huge.result.final_val_loss_se < 0.5 * *small.result.final_val_loss_se);
  for (std::size_t i = 0; i + 1 < huge.val.size(); ++i) {
    CHECK(huge.val[i].loss == small.val[i].loss);
    CHECK(huge.val[i].loss == exact.val[i].loss);
  }
}

TEST_CASE("task data: the final pass covers every test item, micro_batch at a time") {
  RunSpec s;
  s.data.kind = "task";
  s.task.name = "addition";
  s.task.digits = 2;
  s.task.test_items = 50;
  auto task = std::shared_ptr<const tasks::Task>(tasks::Task::make(s.task));
  s.model.n_layer = 1;
  s.model.d_model = 32;
  s.model.n_head = 2;
  s.model.seq_len = task->length() - 1;
  s.model.vocab = task->vocab();
  s.micro_batch = 16;  // 50 items: chunks of 16, 16, 16 and 2
  s.batch_tokens = 16 * s.model.seq_len;
  s.tokens = 20.0 * double(s.batch_tokens);
  s.optim.lr = 1e-2;
  s.eval_batches = 4;  // 64 >= 50: the intermediate pass sees every item too, in one forward pass
  Engine e(s, nullptr, torch::kCPU, true, task);
  for (int k = 0; k < 20; ++k) (void)e.step(k, s.optim.lr);
  CHECK(e.final_eval_sequences() == 50);
  const ValLoss whole = e.eval_loss(), chunked = e.eval_final_loss();
  CHECK(chunked.mean == doctest::Approx(whole.mean).epsilon(1e-5));
  REQUIRE(chunked.se);
  CHECK(*chunked.se == doctest::Approx(*whole.se).epsilon(1e-4));
  // Up to final_tokens / seq_len items.
  s.eval_final_tokens = 7 * s.model.seq_len;
  Engine capped(s, nullptr, torch::kCPU, true, task);
  CHECK(capped.final_eval_sequences() == 7);
}
