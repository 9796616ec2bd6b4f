#include <doctest/doctest.h>
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "common/error.h"
#include "trainer/checkpoint.h"
#include "trainer/divergence.h"
#include "trainer/test_util.h"
#include "trainer/trainer.h"

using namespace scalelab::trainer;
namespace fs = std::filesystem;

namespace {

struct Capture : MetricSink {
  std::vector<MetricRow> rows;
  std::vector<std::size_t> rows_at_flush;
  void log(const MetricRow& r) override { rows.push_back(r); }
  void flush() override { rows_at_flush.push_back(rows.size()); }
};

using testing::quiet;
fs::path temp_dir(const std::string& name) { return testing::temp_dir("train", name); }

RunSpec tiny_spec() {
  RunSpec s = testing::phrase_spec();
  s.tokens = 60 * 256;
  s.log_every = 5;
  s.eval_every = 20;
  s.eval_batches = 2;
  s.checkpoint_every = 10;
  s.schedule.warmup_steps = 5;
  return s;
}

std::vector<MetricRow> split_rows(const std::vector<MetricRow>& rows, const std::string& split) {
  std::vector<MetricRow> out;
  for (auto& r : rows)
    if (r.split == split) out.push_back(r);
  return out;
}

}  // namespace

TEST_CASE("training lowers the loss and reports consistent rows") {
  const RunSpec s = tiny_spec();
  Capture sink;
  const fs::path dir = temp_dir("basic");
  const TrainResult r = train(s, quiet(dir), sink);
  CHECK(r.status == "done");
  CHECK(r.error.empty());
  CHECK(r.steps == 60);
  CHECK(r.tokens == doctest::Approx(60.0 * 256));
  const auto train_rows = split_rows(sink.rows, "train");
  const auto val_rows = split_rows(sink.rows, "val");
  REQUIRE(train_rows.size() == 12);
  REQUIRE(val_rows.size() == 3);
  CHECK(train_rows.front().step == 5);
  CHECK(train_rows.back().step == 60);
  CHECK(val_rows.back().step == 60);
  const double fpt = flops_per_token(s.model, "6N+attn");
  for (auto& row : sink.rows) {
    CHECK(row.tokens == doctest::Approx(row.step * 256.0));
    CHECK(row.flops == doctest::Approx(row.tokens * fpt));
    CHECK(std::isfinite(row.loss));
  }
  CHECK(train_rows.front().loss < std::log(256.0) + 0.2);
  CHECK(train_rows.back().loss < train_rows.front().loss - 1.0);
  CHECK(val_rows.back().loss < val_rows.front().loss);
  CHECK(train_rows.back().lr == doctest::Approx(s.optim.lr * s.schedule.min_lr_ratio));
  CHECK(train_rows.front().grad_norm > 0);
  CHECK(r.final_train_loss == train_rows.back().loss);
  CHECK(r.final_val_loss == val_rows.back().loss);
  // 2 batches x 4 sequences of the validation split: a spread, small beside the loss.
  REQUIRE(r.final_val_loss_se);
  CHECK(*r.final_val_loss_se > 0);
  CHECK(*r.final_val_loss_se < *r.final_val_loss);
  const auto bytes = static_cast<double>(fs::file_size(s.data.path));
  CHECK(r.unique_tokens == bytes - std::round(0.1 * bytes));
  CHECK(r.unique_tokens == unique_train_tokens(s));
  // A flush precedes each checkpoint (steps 10..60) and covers every row logged so far.
  CHECK(sink.rows_at_flush.size() >= 6);
  CHECK(sink.rows_at_flush.back() == sink.rows.size());
  CHECK(fs::exists(checkpoint_path(dir.string())));
  CHECK(!fs::exists(dir / "checkpoint.pt.tmp"));
}

TEST_CASE("a run stopped and resumed reproduces the uninterrupted run bit for bit") {
  const RunSpec s = tiny_spec();
  Capture whole;
  CHECK(train(s, quiet(temp_dir("whole")), whole).status == "done");

  const fs::path dir = temp_dir("resumed");
  TrainOptions first = quiet(dir);
  first.stop_after_steps = 23;  // between checkpoints, not on a log step
  Capture part1;
  const TrainResult r1 = train(s, first, part1);
  CHECK(r1.status == "stopped");
  CHECK(r1.steps == 23);
  CHECK(fs::exists(dir / "checkpoint.pt"));
  TrainOptions second = quiet(dir);
  second.resume = true;
  Capture part2;
  const TrainResult r2 = train(s, second, part2);
  CHECK(r2.status == "done");
  CHECK(r2.steps == 60);
  CHECK(r2.unique_tokens == r1.unique_tokens);

  std::vector<MetricRow> joined = part1.rows;
  joined.insert(joined.end(), part2.rows.begin(), part2.rows.end());
  REQUIRE(joined.size() == whole.rows.size());
  for (std::size_t i = 0; i < joined.size(); ++i) {
    CAPTURE(i);
    CHECK(joined[i].step == whole.rows[i].step);
    CHECK(joined[i].split == whole.rows[i].split);
    CHECK(joined[i].loss == whole.rows[i].loss);  // exact equality, not Approx
    CHECK(joined[i].grad_norm == whole.rows[i].grad_norm);
    CHECK(joined[i].lr == whole.rows[i].lr);
    CHECK(joined[i].tokens == whole.rows[i].tokens);
  }
  CHECK(part2.rows.back().wall_s >= part1.rows.back().wall_s);
}

TEST_CASE("a stop request checkpoints and returns at once") {
  const fs::path dir = temp_dir("stop");
  std::atomic<bool> stop{true};
  TrainOptions o = quiet(dir);
  o.stop = &stop;
  Capture sink;
  const TrainResult r = train(tiny_spec(), o, sink);
  CHECK(r.status == "stopped");
  CHECK(r.steps == 0);
  CHECK(fs::exists(dir / "checkpoint.pt"));
  CHECK(sink.rows.empty());
}

TEST_CASE("a huge learning rate diverges: status, step, no crash, no NaN rows") {
  RunSpec s = tiny_spec();
  s.optim.lr = 1e6;
  s.optim.grad_clip = 0;
  s.schedule.warmup_steps = 0;
  s.schedule.kind = "constant";
  Capture sink;
  const TrainResult r = train(s, quiet(temp_dir("nan")), sink);
  CHECK(r.status == "diverged");
  CHECK(r.steps >= 1);
  CHECK(r.steps < 60);
  bool expected = false;
  for (const char* what : {"loss", "gradient norm"})
    for (const char* kind : {"nan", "inf"})
      expected |= r.error == fmt::format("{} is {} at step {}", what, kind, r.steps);
  CHECK_MESSAGE(expected, r.error);
  for (auto& row : sink.rows) {
    CHECK(std::isfinite(row.loss));
    CHECK(std::isfinite(row.grad_norm));
  }
}

TEST_CASE("DivergenceWatch reports the first bad step in both modes") {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::nanf("");
  for (bool immediate : {true, false}) {
    CAPTURE(immediate);
    DivergenceWatch w(immediate);
    auto t = [](float v) { return torch::tensor(v); };
    w.observe(t(2.5f), t(1.0f), 1);
    CHECK(!w.check());
    w.observe(t(3.0f), t(inf), 2);   // gradient blew up first
    w.observe(t(nan), t(nan), 3);    // later steps do not overwrite it
    CHECK(w.check() == std::optional<std::string>("gradient norm is inf at step 2"));
    DivergenceWatch l(immediate);
    l.observe(t(nan), t(1.0f), 4);
    l.observe(t(inf), t(1.0f), 5);
    CHECK(l.check() == std::optional<std::string>("loss is nan at step 4"));
  }
}

TEST_CASE("start-up errors are UserErrors") {
  const fs::path dir = temp_dir("errors");
  Capture sink;
  RunSpec s = tiny_spec();
  TrainOptions o = quiet(dir);
  o.device = "tpu";
  CHECK_THROWS_AS(train(s, o, sink), scalelab::UserError);
  if (!torch::cuda::is_available()) {
    o.device = "cuda:0";
    CHECK_THROWS_AS(train(s, o, sink), scalelab::UserError);
  }
  o.device = "cpu";
  s.data.path = (dir / "missing.txt").string();
  CHECK_THROWS_AS(train(s, o, sink), scalelab::UserError);
  s = tiny_spec();
  s.schedule.kind = "step";
  CHECK_THROWS_AS(train(s, o, sink), scalelab::UserError);
  s = tiny_spec();
  s.model.d_model = 30;  // not a multiple of n_head = 4
  s.model.n_head = 4;
  CHECK_THROWS_AS(train(s, o, sink), scalelab::UserError);
  // Resuming with a different model is refused rather than silently restarted.
  CHECK(train(tiny_spec(), [&] { auto x = quiet(dir / "r"); x.stop_after_steps = 2; return x; }(), sink).status == "stopped");
  s = tiny_spec();
  s.model.d_model = 64;
  TrainOptions again = quiet(dir / "r");
  again.resume = true;
  CHECK_THROWS_AS(train(s, again, sink), scalelab::UserError);
}

// ---- Cooldown ladders: a trunk keeps checkpoints, branches fork from them ----

namespace {

// A WSD run of 40 steps cooling down over the last 10 (from step 30), and its
// trunk: the same warmup, then the peak LR, for longer than 30 steps so that no
// row up to 30 is logged only because it ended the trunk.
RunSpec wsd_spec() {
  RunSpec s = tiny_spec();
  s.tokens = 40 * 256;
  s.eval_every = 5;
  s.schedule.kind = "wsd";
  s.schedule.warmup_steps = 3;
  s.schedule.decay_fraction = 0.25;
  return s;
}

RunSpec trunk_spec() {
  RunSpec s = wsd_spec();
  s.tokens = 36 * 256;
  s.schedule.kind = "constant";
  return s;
}

std::vector<MetricRow> rows_between(const std::vector<MetricRow>& rows, std::int64_t lo, std::int64_t hi) {
  std::vector<MetricRow> out;
  for (auto& r : rows)
    if (r.step > lo && r.step <= hi) out.push_back(r);
  return out;
}

void check_same_rows(const std::vector<MetricRow>& got, const std::vector<MetricRow>& want) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    CAPTURE(i);
    CAPTURE(want[i].step);
    CHECK(got[i].step == want[i].step);
    CHECK(got[i].split == want[i].split);
    CHECK(got[i].loss == want[i].loss);  // bit for bit, not Approx
    CHECK(got[i].grad_norm == want[i].grad_norm);
    CHECK(got[i].lr == want[i].lr);
    CHECK(got[i].tokens == want[i].tokens);
    CHECK(got[i].flops == want[i].flops);
  }
}

// The independent WSD run and the trunk, trained once for all the fork tests.
struct Ladder {
  fs::path trunk_dir;
  std::vector<MetricRow> independent, trunk;
};

const Ladder& ladder() {
  static const Ladder l = [] {
    Ladder x;
    Capture whole, trunk;
    REQUIRE(train(wsd_spec(), quiet(temp_dir("fork-independent")), whole).status == "done");
    x.trunk_dir = temp_dir("fork-trunk");
    TrainOptions o = quiet(x.trunk_dir);
    o.keep_at = {30};
    REQUIRE(train(trunk_spec(), o, trunk).status == "done");
    x.independent = whole.rows;
    x.trunk = trunk.rows;
    return x;
  }();
  return l;
}

TrainOptions branch_options(const fs::path& dir) {
  TrainOptions o = quiet(dir);
  o.fork_from = fork_checkpoint_path(ladder().trunk_dir.string(), 30);
  return o;
}

}  // namespace

TEST_CASE("a branch forked from the trunk at its cooldown start reproduces the WSD run bit for bit") {
  const Ladder& l = ladder();
  const std::string fork_file = fork_checkpoint_path(l.trunk_dir.string(), 30);
  CHECK(fs::exists(fork_file));
  CHECK(!fs::exists(fork_file + ".tmp"));
  // The trunk's rows up to the fork are the WSD run's: same warmup, LR, batches.
  check_same_rows(rows_between(l.trunk, 0, 30), rows_between(l.independent, 0, 30));

  Capture branch;
  const fs::path dir = temp_dir("fork-branch");
  const TrainResult r = train(wsd_spec(), branch_options(dir), branch);
  CHECK(r.status == "done");
  CHECK(r.steps == 40);
  CHECK(r.tokens == 40.0 * 256);
  // No row for the fork step itself: the caller copies the trunk's rows up to 30.
  REQUIRE(!branch.rows.empty());
  CHECK(branch.rows.front().step > 30);
  check_same_rows(branch.rows, rows_between(l.independent, 30, 40));
  CHECK(r.final_val_loss == split_rows(l.independent, "val").back().loss);
  CHECK(fs::exists(dir / "checkpoint.pt"));
}

TEST_CASE("a fork branch starts at the fork step with its own tokens and no trunk wall time") {
  const Ladder& l = ladder();
  TrainOptions o = branch_options(temp_dir("fork-at-once"));
  o.stop_after_steps = 30;  // stop before its first step
  Capture sink;
  const TrainResult r = train(wsd_spec(), o, sink);
  CHECK(r.status == "stopped");
  CHECK(r.steps == 30);
  CHECK(r.tokens == 30.0 * 256);
  CHECK(sink.rows.empty());
  // The trunk's 30 steps took real time; the branch has spent next to none.
  const auto trunk30 = rows_between(l.trunk, 29, 30);
  REQUIRE(!trunk30.empty());
  CHECK(r.wall_s < 0.5 * trunk30.back().wall_s);
}

TEST_CASE("a fork branch stopped and resumed from its own checkpoint gives the same rows") {
  const Ladder& l = ladder();
  const fs::path dir = temp_dir("fork-resumed");
  // A copy of the trunk's fork file, deleted after the first session: the resume
  // must come from the branch's own checkpoint, not need the trunk.
  fs::create_directories(dir / "trunk");
  const std::string fork_copy = fork_checkpoint_path((dir / "trunk").string(), 30);
  fs::copy_file(fork_checkpoint_path(l.trunk_dir.string(), 30), fork_copy);
  TrainOptions first = quiet(dir / "branch");
  first.fork_from = fork_copy;
  first.stop_after_steps = 33;
  Capture part1, part2;
  const TrainResult r1 = train(wsd_spec(), first, part1);
  CHECK(r1.status == "stopped");
  CHECK(r1.steps == 33);
  fs::remove(fork_copy);
  TrainOptions second = first;
  second.stop_after_steps = -1;
  second.resume = true;
  const TrainResult r2 = train(wsd_spec(), second, part2);
  CHECK(r2.status == "done");
  CHECK(r2.steps == 40);
  std::vector<MetricRow> joined = part1.rows;
  joined.insert(joined.end(), part2.rows.begin(), part2.rows.end());
  check_same_rows(joined, rows_between(l.independent, 30, 40));
}

TEST_CASE("a resumed trunk passing a kept step again keeps the existing fork file") {
  const fs::path dir = temp_dir("fork-trunk-again");
  TrainOptions o = quiet(dir);
  o.keep_at = {30};
  o.stop_after_steps = 25;
  Capture sink;
  REQUIRE(train(trunk_spec(), o, sink).status == "stopped");
  fs::copy_file(dir / "checkpoint.pt", dir / "at-25.pt");
  o.stop_after_steps = -1;
  o.resume = true;
  REQUIRE(train(trunk_spec(), o, sink).status == "done");
  const std::string fork_file = fork_checkpoint_path(dir.string(), 30);
  REQUIRE(fs::exists(fork_file));
  const auto written = fs::last_write_time(fork_file);
  // Back to step 25, as after a crash between the fork file and checkpoint.pt.
  fs::copy_file(dir / "at-25.pt", dir / "checkpoint.pt", fs::copy_options::overwrite_existing);
  ::usleep(20000);  // a rewrite would show in the modification time
  CHECK(train(trunk_spec(), o, sink).status == "done");
  CHECK(fs::last_write_time(fork_file) == written);
}

TEST_CASE("fork and keep_at errors are UserErrors naming the problem") {
  const Ladder& l = ladder();
  Capture sink;
  const fs::path dir = temp_dir("fork-errors");
  TrainOptions o = branch_options(dir / "missing");
  o.fork_from = fork_checkpoint_path(l.trunk_dir.string(), 35);
  CHECK_THROWS_WITH_AS(train(wsd_spec(), o, sink),
                       fmt::format("fork checkpoint {} not found: the trunk has not reached step 35 yet",
                                   o.fork_from).c_str(),
                       scalelab::UserError);

  RunSpec wide = wsd_spec();
  wide.model.d_model = 64;
  CHECK_THROWS_WITH_AS(train(wide, branch_options(dir / "wide"), sink),
                       doctest::Contains("different model"), scalelab::UserError);
  RunSpec batch = wsd_spec();
  batch.batch_tokens = 512;
  batch.tokens = 20 * 512;
  CHECK_THROWS_WITH_AS(train(batch, branch_options(dir / "batch"), sink),
                       doctest::Contains("tokens per step"), scalelab::UserError);
  // Cooling from step 20 means the trunk's constant LR at 20..29 was wrong for it.
  RunSpec early = wsd_spec();
  early.schedule.decay_fraction = 0.5;
  CHECK_THROWS_WITH_AS(train(early, branch_options(dir / "early"), sink),
                       doctest::Contains("leaves its peak at step 20"), scalelab::UserError);

  TrainOptions k = quiet(dir / "keep");
  k.keep_at = {0, 10, 37};
  CHECK_THROWS_WITH_AS(train(trunk_spec(), k, sink),
                       "keep_at: step(s) 0, 37 outside this run's steps [1, 36]", scalelab::UserError);
}
