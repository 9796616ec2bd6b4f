// Trainer throughput on one CPU thread: forward + backward + AdamW steps of the
// real training step (Engine::step, with its data sampling), timed after warmup,
// for two small GPTs; plus the share of step time spent in metric-sink calls.
// Output lines starting with RESULT are parsed by trainer_vs_peer.sh.
#include <fmt/format.h>
#include <torch/torch.h>
#include <torch/version.h>
#include <unistd.h>

#include <algorithm>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "trainer/device.h"
#include "trainer/engine.h"
#include "trainer/gemm.h"
#include "trainer/trainer.h"

namespace fs = std::filesystem;
using namespace scalelab::trainer;
using Clock = std::chrono::steady_clock;

namespace {

struct Shape {
  const char* name;
  int n_layer, d_model, n_head, seq_len;
};

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string make_corpus(const fs::path& dir) {
  fs::create_directories(dir);
  const fs::path path = dir / "corpus.txt";
  std::mt19937 rng(7);
  std::string bytes(1 << 20, '\0');
  for (auto& c : bytes) c = static_cast<char>('a' + rng() % 26);
  std::ofstream(path, std::ios::binary) << bytes;
  return path.string();
}

RunSpec spec_for(const Shape& s, const std::string& corpus, int batch) {
  RunSpec r;
  r.model.n_layer = s.n_layer;
  r.model.d_model = s.d_model;
  r.model.n_head = s.n_head;
  r.model.seq_len = s.seq_len;
  r.model.vocab = 256;
  r.data.path = corpus;
  r.micro_batch = batch;
  r.batch_tokens = std::int64_t(batch) * s.seq_len;
  return r;
}

// A sink that does what a real one does per row (format, write), timing itself.
class TimedCsvSink : public MetricSink {
 public:
  explicit TimedCsvSink(const fs::path& path) : f_(std::fopen(path.c_str(), "w")) {}
  ~TimedCsvSink() override { std::fclose(f_); }
  void log(const MetricRow& r) override {
    auto t = Clock::now();
    fmt::print(f_, "{},{},{},{},{},{},{},{}\n", r.step, r.tokens, r.flops, r.split, r.loss, r.lr,
               r.grad_norm, r.wall_s);
    ++rows;
    seconds += since(t);
  }
  void flush() override {
    auto t = Clock::now();
    std::fflush(f_);
    seconds += since(t);
  }
  void heartbeat(std::int64_t, double, double) override {}
  double seconds = 0;
  int rows = 0;

 private:
  std::FILE* f_;
};

struct Throughput {
  double step_s, tok_s, gflop_s;
  int steps;
};

Throughput time_steps(const RunSpec& spec, double min_seconds, int warmup, bool cpu_kernels) {
  auto corpus = std::make_shared<const Corpus>(Corpus::open(spec.data, spec.model.seq_len, 256));
  Engine engine(spec, corpus, torch::Device(torch::kCPU), cpu_kernels);
  const std::int64_t total = 1'000'000;
  std::int64_t step = 0;
  for (; step < warmup; ++step) engine.step(step, lr_at(spec.optim, spec.schedule, step, total));
  int n = 0;
  StepOutput out;
  const auto t0 = Clock::now();
  while (n < 5 || since(t0) < min_seconds) {
    out = engine.step(step, lr_at(spec.optim, spec.schedule, step, total));
    ++step;
    ++n;
  }
  (void)out.loss.item<double>();
  const double dt = since(t0);
  const double tok_s = double(n) * double(engine.tokens_per_step()) / dt;
  const double fpt = flops_per_token(spec.model, "6N+attn");
  return {dt / n, tok_s, tok_s * fpt / 1e9, n};
}

// Runs train() with a row every step (the worst case) and compares the time
// spent inside sink calls with the time of the steps themselves.
void logging_overhead(const RunSpec& base, const fs::path& dir, double step_s) {
  RunSpec spec = base;
  const int steps = std::clamp(static_cast<int>(3.0 / step_s), 10, 300);
  spec.tokens = double(steps) * double(spec.batch_tokens);
  spec.log_every = 1;
  spec.eval_every = 1'000'000;
  spec.checkpoint_every = 1'000'000;
  fs::create_directories(dir);
  TimedCsvSink sink(dir / "metrics.csv");
  TrainOptions opt;
  opt.run_dir = (dir / "run").string();
  opt.threads = 1;
  opt.progress = Progress::Quiet;
  const auto t0 = Clock::now();
  TrainResult r = train(spec, opt, sink);
  const double wall = since(t0);
  const double per_row_us = 1e6 * sink.seconds / std::max(1, sink.rows);
  fmt::print("LOGGING rows={} sink_total_ms={:.3f} per_row_us={:.2f} step_ms={:.2f} "
             "overhead_pct={:.4f} (train() status={} wall={:.2f}s)\n",
             sink.rows, 1e3 * sink.seconds, per_row_us, 1e3 * step_s,
             100.0 * (sink.seconds / std::max(1, sink.rows)) / step_s, r.status, wall);
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 5;
  int warmup = 3;
  std::string only = "all";
  bool reference = false, logging = true;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--seconds" && i + 1 < argc) seconds = std::stod(argv[++i]);
    else if (a == "--warmup" && i + 1 < argc) warmup = std::stoi(argv[++i]);
    else if (a == "--shape" && i + 1 < argc) only = argv[++i];
    else if (a == "--reference") reference = true;  // plain LibTorch ops, no oneDNN kernels
    else if (a == "--no-logging") logging = false;
    else {
      fmt::print(stderr,
                 "usage: bench_trainer [--seconds S] [--warmup N] [--shape all|0.84M|0.12M] "
                 "[--reference] [--no-logging]\n");
      return 2;
    }
  }
  torch::set_num_threads(1);
  configure_cpu_threads(1);
  keep_freed_memory();
  const fs::path dir = fs::temp_directory_path() / fmt::format("scalelab-bench-{}", ::getpid());
  const std::string corpus = make_corpus(dir);
  const bool kernels = !reference && scalelab::trainer::cpu::have_fast_gemm();
  fmt::print("# scalelab bench_trainer: 1 thread, LibTorch {}, path: {}\n", TORCH_VERSION,
             kernels ? "oneDNN kernels" : "reference LibTorch ops");
  const Shape shapes[] = {{"0.84M", 4, 128, 4, 128}, {"0.12M", 2, 64, 2, 64}};
  for (const Shape& s : shapes) {
    if (only != "all" && only != s.name) continue;
    const RunSpec spec = spec_for(s, corpus, 16);
    const Throughput t = time_steps(spec, seconds, warmup, kernels);
    fmt::print("RESULT impl=scalelab shape={} params={} steps={} step_ms={:.2f} tok_s={:.1f} "
               "gflop_s={:.2f}\n",
               s.name, count_params(spec.model).total, t.steps, 1e3 * t.step_s, t.tok_s, t.gflop_s);
    std::fflush(stdout);
    if (logging && !reference) logging_overhead(spec, dir / s.name, t.step_s);
  }
  fs::remove_all(dir);
  return 0;
}
