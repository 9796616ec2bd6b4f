// The GPU's asynchronous loss readback, run on the CPU: the same rows as the
// synchronous loop, divergence still caught, and no row in flight at a checkpoint.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <regex>

#include "trainer/readback.h"
#include "trainer/test_util.h"
#include "trainer/trainer.h"

using namespace scalelab::trainer;
namespace fs = std::filesystem;

namespace {

using Capture = testing::RowCapture;

RunSpec short_spec() {
  RunSpec s = testing::phrase_spec();
  s.tokens = 40 * 256;
  s.log_every = 3;
  s.eval_every = 10;
  s.eval_batches = 2;
  s.checkpoint_every = 7;
  s.schedule.warmup_steps = 4;
  return s;
}

}  // namespace

TEST_CASE("Readback hands rows out in order with the scalars' values, and drain empties it") {
  Readback rb(torch::Device(torch::kCPU));
  for (int i = 1; i <= 3; ++i) {
    MetricRow r;
    r.step = i;
    r.split = "train";
    r.lr = 0.1 * i;
    rb.push(r, torch::full({}, 2.5f * float(i)), torch::full({}, 0.5 * i, torch::kDouble));
  }
  CHECK(rb.pending() == 3);
  auto rows = rb.ready();  // a CPU copy has always landed
  REQUIRE(rows.size() == 3);
  for (int i = 0; i < 3; ++i) {
    CHECK(rows[std::size_t(i)].step == i + 1);
    CHECK(rows[std::size_t(i)].loss == double(2.5f * float(i + 1)));
    CHECK(rows[std::size_t(i)].grad_norm == double(float(0.5 * (i + 1))));
    CHECK(rows[std::size_t(i)].lr == doctest::Approx(0.1 * (i + 1)));
  }
  CHECK(rb.pending() == 0);
  rb.push(MetricRow{}, torch::zeros({}), torch::zeros({}));
  CHECK(rb.drain().size() == 1);
  CHECK(rb.drain().empty());
}

TEST_CASE("asynchronous readback logs exactly the synchronous loop's rows, flushed before each checkpoint") {
  const RunSpec s = short_spec();
  Capture sync_sink, async_sink;
  TrainOptions a = testing::quiet(testing::temp_dir("readback", "sync"));
  TrainOptions b = testing::quiet(testing::temp_dir("readback", "async"));
  b.async_readback = true;
  const TrainResult ra = train(s, a, sync_sink), rb = train(s, b, async_sink);
  CHECK(ra.status == "done");
  CHECK(rb.status == "done");
  REQUIRE(sync_sink.rows.size() == async_sink.rows.size());
  for (std::size_t i = 0; i < sync_sink.rows.size(); ++i) {
    const auto &x = sync_sink.rows[i], &y = async_sink.rows[i];
    CHECK(x.step == y.step);
    CHECK(x.split == y.split);
    CHECK(x.loss == y.loss);  // bit for bit: the same computation, read later
    CHECK(x.grad_norm == y.grad_norm);
    CHECK(x.lr == y.lr);
  }
  CHECK(sync_sink.rows_at_flush == async_sink.rows_at_flush);
  CHECK(ra.final_train_loss == rb.final_train_loss);
  CHECK(ra.final_val_loss == rb.final_val_loss);
}

TEST_CASE("asynchronous readback still stops a diverging run, with no non-finite row logged") {
  RunSpec s = short_spec();
  s.optim.lr = 1e6;
  s.optim.grad_clip = 0;
  s.schedule.warmup_steps = 0;
  s.schedule.kind = "constant";
  Capture sink;
  TrainOptions o = testing::quiet(testing::temp_dir("readback", "nan"));
  o.async_readback = true;
  const TrainResult r = train(s, o, sink);
  CHECK(r.status == "diverged");
  CHECK(r.steps < 40);
  std::smatch m;
  const std::regex re("(loss|gradient norm) is (nan|inf) at step ([0-9]+)");
  REQUIRE_MESSAGE(std::regex_match(r.error, m, re), r.error);
  const auto first = std::stoll(m[3].str());
  CHECK(first >= 1);
  CHECK(first <= r.steps);  // found at the next row or sync point, never before it happened
  for (auto& row : sink.rows) {
    CHECK(std::isfinite(row.loss));
    CHECK(std::isfinite(row.grad_norm));
    if (row.split == "train") CHECK(row.step < first);
  }
}

TEST_CASE("the build's CUDA facilities, seen from a machine without a GPU") {
#if SCALELAB_CUDA
  CHECK(scalelab::trainer::cuda::built_with_cuda());  // CI's 2.x job builds this flavour
#else
  CHECK_FALSE(scalelab::trainer::cuda::built_with_cuda());
#endif
  const torch::Device cpu(torch::kCPU);
  if (!std::filesystem::exists("/dev/nvidia0")) CHECK_FALSE(torch::cuda::is_available());
  scalelab::trainer::cuda::Fence f;
  f.record(cpu);
  CHECK(f.ready());
  f.wait();
  CHECK(scalelab::trainer::cuda::device_name(cpu) == "cpu");
  CHECK_THROWS_WITH(scalelab::trainer::cuda::set_memory_fraction(cpu, 1.5),
                    "gpu memory fraction must be in (0, 1], got 1.5");
  CHECK_THROWS_WITH(scalelab::trainer::cuda::StepGraph{cpu},
                    doctest::Contains("CUDA device"));
}

TEST_CASE("CUDA graphs and a memory cap are refused or ignored on the CPU, in one line") {
  RunSpec s = short_spec();
  Capture sink;
  TrainOptions o = testing::quiet(testing::temp_dir("readback", "graphs"));
  o.cuda_graphs = true;
  CHECK_THROWS_WITH(train(s, o, sink), "cuda_graphs needs a CUDA device (device cpu)");
  o.cuda_graphs = false;
  o.gpu_memory_fraction = 2;
  CHECK_THROWS_WITH(train(s, o, sink), "gpu_memory_fraction must be in (0, 1], got 2");
  o.gpu_memory_fraction = 0.5;  // a CPU run has no GPU memory to cap
  CHECK(train(s, o, sink).status == "done");
}
