#include "sweep/calibrate.h"

#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <filesystem>

#include "common/table.h"

namespace scalelab::sweep {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

// Times training steps from their metric rows and asks the trainer to stop once
// enough have been timed.
class TimingSink : public trainer::MetricSink {
 public:
  TimingSink(double seconds, std::atomic<bool>& stop) : seconds_(seconds), stop_(stop) {}
  void log(const trainer::MetricRow& row) override {
    if (row.split != "train") return;
    auto now = Clock::now();
    // The first step allocates and warms caches; timing starts after it.
    if (rows_++ == 0) {
      t0_ = now;
      step0_ = row.step;
      return;
    }
    t1_ = now;
    step1_ = row.step;
    if (step1_ - step0_ >= 3 && elapsed() >= seconds_) stop_ = true;
  }
  void flush() override {}
  double elapsed() const { return std::chrono::duration<double>(t1_ - t0_).count(); }
  std::int64_t steps() const { return step1_ - step0_; }

 private:
  double seconds_;
  std::atomic<bool>& stop_;
  int rows_ = 0;
  Clock::time_point t0_, t1_;
  std::int64_t step0_ = 0, step1_ = 0;
};

// A scratch directory for the calibration's checkpoint, removed on every path.
struct ScratchDir {
  fs::path path;
  ScratchDir() {
    std::string tmpl = (fs::temp_directory_path() / "scalelab-calibrate-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("cannot create a scratch directory in " + tmpl);
    path = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

}  // namespace

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

std::string throughput_key(const trainer::RunSpec& s) {
  const auto& m = s.model;
  // Attention-only blocks and answer-only logits (task data) change the cost of a step.
  return fmt::format("{}-V{}-mb{}-B{}{}{}{}{}", trainer::shape_name(m), m.vocab, s.micro_batch, s.batch_tokens,
                     m.tie_embeddings ? "" : "-untied", m.bias ? "" : "-nobias", m.mlp ? "" : "-attnonly",
                     s.data.kind == "task" ? "-task-" + s.task.name : "");
}

double measure_throughput(const trainer::RunSpec& spec, const CalibrationOptions& opt) {
  trainer::RunSpec s = spec;
  // A budget far beyond what is timed, so no schedule, eval or end-of-run work intrudes.
  s.tokens = static_cast<double>(s.batch_tokens) * 1e6;
  s.log_every = 1;
  s.eval_every = INT_MAX / 2;
  s.task_every = INT_MAX / 2;
  s.checkpoint_every = INT_MAX / 2;
  ScratchDir dir;
  std::atomic<bool> stop{false};
  TimingSink sink(opt.seconds, stop);
  trainer::TrainOptions to;
  to.run_dir = dir.path.string();
  to.device = opt.device;
  to.threads = opt.threads;
  to.progress = trainer::Progress::Quiet;
  to.stop = &stop;
  trainer::train(s, to, sink);
  if (sink.steps() < 1 || sink.elapsed() <= 0) throw std::runtime_error("calibration timed no steps");
  return static_cast<double>(sink.steps()) * static_cast<double>(s.batch_tokens) / sink.elapsed();
}

Calibrator::Calibrator(store::Store* cache, CalibrationOptions opt, std::function<void(const std::string&)> say)
    : cache_(cache), opt_(std::move(opt)), say_(std::move(say)), host_(host_name()) {}

double Calibrator::tokens_per_s(const trainer::RunSpec& spec) {
  auto key = throughput_key(spec);
  if (auto it = memo_.find(key); it != memo_.end()) return it->second;
  if (cache_) {
    if (auto v = cache_->throughput(key, opt_.device, host_, opt_.threads)) return memo_[key] = *v;
  }
  auto t0 = Clock::now();
  double tps = measure_throughput(spec, opt_);
  ++measured_;
  if (say_)
    say_(fmt::format("calibrated {} on {} x{} threads: {} tokens/s ({:.1f}s)", key, opt_.device, opt_.threads,
                     si(tps), std::chrono::duration<double>(Clock::now() - t0).count()));
  if (cache_) cache_->put_throughput(key, opt_.device, host_, opt_.threads, tps);
  return memo_[key] = tps;
}

}  // namespace scalelab::sweep
