// Trainer throughput: forward + backward + AdamW steps of the real training step
// (Engine::step, with its data sampling), timed after warmup. By default, on one
// CPU thread, two small GPTs plus the share of step time spent in metric-sink
// calls; RESULT lines in that mode are parsed by trainer_vs_peer.sh and keep
// their format. --device/--params/--shape/--peak-tflops serve bench/gpu.sh
// (docs/gpu.md), which adds device, peak and MFU fields to the same lines.
#include <fmt/format.h>
#include <torch/torch.h>
#include <torch/version.h>
#include <unistd.h>

#include <algorithm>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <regex>
#include <string>
#include <vector>

#include "common/accelerators.h"
#include "common/error.h"
#include "trainer/device.h"
#include "trainer/engine.h"
#include "trainer/gemm.h"
#include "trainer/trainer.h"

namespace fs = std::filesystem;
using namespace scalelab::trainer;
using Clock = std::chrono::steady_clock;

namespace {

struct Shape {
  std::string name;
  int n_layer, d_model, n_head, seq_len;
  int vocab = 256;
  int batch = 16;  // sequences per step unless --batch says otherwise
};

// nanoGPT-like shapes for the GPU table: its Shakespeare-char model (10M) and
// GPT-2 small (124M); byte vocab below 50M, where a 50304-token embedding
// alone would be most of the parameters. Totals: 0.86M, 10.8M, 51M, 124M.
const Shape kPresets[] = {{"1M", 4, 128, 4, 256, 256, 64},
                          {"10M", 6, 384, 6, 256, 256, 64},
                          {"50M", 8, 512, 8, 1024, 50304, 16},
                          {"124M", 12, 768, 12, 1024, 50304, 16}};
const Shape kCpuShapes[] = {{"0.84M", 4, 128, 4, 128}, {"0.12M", 2, 64, 2, 64}};

[[noreturn]] void bad_flag(const std::string& flag, const std::string& what) {
  fmt::print(stderr, "bench_trainer: {}: {}\n", flag, what);
  std::exit(2);
}

// "L12-D768-H12-T1024", optionally "-V50304".
std::optional<Shape> parse_shape(const std::string& text) {
  static const std::regex re("L([0-9]+)-D([0-9]+)-H([0-9]+)-T([0-9]+)(-V([0-9]+))?");
  std::smatch m;
  if (!std::regex_match(text, m, re)) return std::nullopt;
  Shape s{text, std::stoi(m[1]), std::stoi(m[2]), std::stoi(m[3]), std::stoi(m[4])};
  if (m[6].matched) s.vocab = std::stoi(m[6]);
  if (s.n_layer < 1 || s.n_head < 1 || s.d_model % s.n_head != 0 || s.seq_len < 2 || s.vocab < 2)
    return std::nullopt;
  return s;
}

// A preset's name or its parameter count ("50e6", "124M" both pick 124M's row).
std::optional<Shape> preset(const std::string& text) {
  for (const Shape& s : kPresets)
    if (text == s.name) return s;
  char* end = nullptr;
  double n = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || *end != '\0' || n <= 0) return std::nullopt;
  const Shape* best = nullptr;
  for (const Shape& s : kPresets) {
    const double want = std::stod(s.name) * 1e6;
    if (!best || std::abs(std::log(n / want)) < std::abs(std::log(n / (std::stod(best->name) * 1e6))))
      best = &s;
  }
  return *best;
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::size_t b = 0;
  for (std::size_t e; (e = s.find(',', b)) != std::string::npos; b = e + 1) out.push_back(s.substr(b, e - b));
  out.push_back(s.substr(b));
  return out;
}

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// nanoGPT's train.bin/val.bin of uniform random token ids below vocab.
DataConfig make_token_data(const fs::path& dir, int vocab) {
  const fs::path d = dir / fmt::format("tokens-{}", vocab);
  fs::create_directories(d);
  std::mt19937 rng(7);
  for (const char* name : {"train.bin", "val.bin"}) {
    std::vector<std::uint16_t> ids(1 << 21);
    for (auto& t : ids) t = static_cast<std::uint16_t>(rng() % unsigned(vocab));
    std::ofstream(d / name, std::ios::binary)
        .write(reinterpret_cast<const char*>(ids.data()), std::streamsize(ids.size() * 2));
  }
  DataConfig c;
  c.kind = "tokens";
  c.path = d.string();
  return c;
}

std::string make_corpus(const fs::path& dir) {
  fs::create_directories(dir);
  const fs::path path = dir / "corpus.txt";
  std::mt19937 rng(7);
  std::string bytes(1 << 20, '\0');
  for (auto& c : bytes) c = static_cast<char>('a' + rng() % 26);
  std::ofstream(path, std::ios::binary) << bytes;
  return path.string();
}

RunSpec spec_for(const Shape& s, const DataConfig& data, int batch) {
  RunSpec r;
  r.model.n_layer = s.n_layer;
  r.model.d_model = s.d_model;
  r.model.n_head = s.n_head;
  r.model.seq_len = s.seq_len;
  r.model.vocab = s.vocab;
  r.data = data;
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

Throughput time_steps(const RunSpec& spec, double min_seconds, int warmup, bool cpu_kernels,
                      const torch::Device& device, bool cuda_graphs) {
  auto corpus = std::make_shared<const Corpus>(Corpus::open(spec.data, spec.model.seq_len, spec.model.vocab));
  Engine engine(spec, corpus, device, cpu_kernels);
  if (cuda_graphs) engine.set_cuda_graphs(true);  // UserError off CUDA
  const std::int64_t total = 1'000'000;
  std::int64_t step = 0;
  StepOutput out;
  for (; step < warmup; ++step) out = engine.step(step, lr_at(spec.optim, spec.schedule, step, total));
  if (out.loss.defined()) (void)out.loss.item<double>();  // a GPU's queue drained before the clock starts
  int n = 0;
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

struct Args {
  double seconds = 5;
  int warmup = 3;
  std::string only = "all";
  std::vector<Shape> shapes;  // --params / a custom --shape; empty: the CPU pair
  int batch = 0;              // 0: the shape's own
  std::string device = "cpu";
  bool reference = false, logging = true, cuda_graphs = false, json = false;
  std::optional<std::string> peak;  // a number or "auto"
};

const char* kUsage =
    "usage: bench_trainer [--seconds S] [--warmup N] [--shape all|0.84M|0.12M|LnDdHhTt[-Vv]]\n"
    "                     [--params 1M,10M,50M,124M|50e6] [--batch B] [--device cpu|cuda|cuda:N]\n"
    "                     [--cuda-graphs] [--peak-tflops X|auto] [--json] [--reference] [--no-logging]\n";

Args parse_args(int argc, char** argv) {
  Args a;
  auto value = [&](int& i, const std::string& flag) -> std::string {
    if (i + 1 >= argc) bad_flag(flag, "expects a value");
    return argv[++i];
  };
  auto number = [&](const std::string& flag, const std::string& v, double lo) {
    char* end = nullptr;
    double x = std::strtod(v.c_str(), &end);
    if (end == v.c_str() || *end != '\0' || !(x >= lo)) bad_flag(flag, fmt::format("expects a number >= {}, got '{}'", lo, v));
    return x;
  };
  for (int i = 1; i < argc; ++i) {
    const std::string f = argv[i];
    if (f == "--seconds") a.seconds = number(f, value(i, f), 0);
    else if (f == "--warmup") a.warmup = int(number(f, value(i, f), 0));
    else if (f == "--batch") a.batch = int(number(f, value(i, f), 1));
    else if (f == "--device") a.device = value(i, f);
    else if (f == "--peak-tflops") {
      a.peak = value(i, f);
      if (*a.peak != "auto") (void)number(f, *a.peak, 1e-9);
    } else if (f == "--shape") {
      a.only = value(i, f);
      if (a.only == "all" || a.only == "0.84M" || a.only == "0.12M") continue;
      auto s = parse_shape(a.only);
      if (!s) bad_flag(f, fmt::format("expects all, 0.84M, 0.12M or L<layers>-D<width>-H<heads>-T<seq>[-V<vocab>] with heads dividing width, got '{}'", a.only));
      a.shapes.push_back(*s);
    } else if (f == "--params") {
      for (const auto& p : split_commas(value(i, f))) {
        auto s = preset(p);
        if (!s) bad_flag(f, fmt::format("expects 1M, 10M, 50M, 124M or a count like 50e6, got '{}'", p));
        a.shapes.push_back(*s);
      }
    } else if (f == "--cuda-graphs") a.cuda_graphs = true;
    else if (f == "--json") a.json = true;
    else if (f == "--reference") a.reference = true;  // plain LibTorch ops, no oneDNN kernels
    else if (f == "--no-logging") a.logging = false;
    else {
      fmt::print(stderr, "{}", kUsage);
      std::exit(2);
    }
  }
  return a;
}

// The peak to divide by: a number, or the detected GPU's entry in the table.
std::optional<double> peak_tflops(const Args& a, std::string& gpu_name) {
  if (!a.peak) return std::nullopt;
  if (*a.peak != "auto") return std::stod(*a.peak);
  const auto gpus = scalelab::detect_gpus();
  if (gpus.empty()) return std::nullopt;
  gpu_name = gpus.front().name;
  const auto* acc = scalelab::match_accelerator(gpu_name);
  return acc ? std::optional<double>(acc->peak_tflops) : std::nullopt;
}

void report(const Args& a, const Shape& s, const RunSpec& spec, const Throughput& t,
            std::optional<double> peak) {
  const auto n = count_params(spec.model).total;
  const bool extended = !a.shapes.empty() || a.device != "cpu" || a.peak;
  const std::string mfu = peak ? fmt::format("{:.4f}", t.gflop_s / (*peak * 1e3)) : "na";
  if (a.json) {
    fmt::print("{{\"impl\":\"scalelab\",\"shape\":\"{}\",\"arch\":\"{}\",\"params\":{},\"device\":\"{}\","
               "\"batch\":{},\"cuda_graphs\":{},\"steps\":{},\"step_ms\":{:.3f},\"tok_s\":{:.1f},"
               "\"gflop_s\":{:.2f},\"peak_tflops\":{},\"mfu\":{}}}\n",
               s.name, shape_name(spec.model), n, a.device, spec.micro_batch, a.cuda_graphs, t.steps,
               1e3 * t.step_s, t.tok_s, t.gflop_s, peak ? fmt::format("{}", *peak) : "null",
               peak ? mfu : "null");
  } else if (!extended) {
    fmt::print("RESULT impl=scalelab shape={} params={} steps={} step_ms={:.2f} tok_s={:.1f} "
               "gflop_s={:.2f}\n",
               s.name, n, t.steps, 1e3 * t.step_s, t.tok_s, t.gflop_s);
  } else {
    fmt::print("RESULT impl=scalelab shape={} params={} steps={} step_ms={:.2f} tok_s={:.1f} "
               "gflop_s={:.2f} device={} batch={} cuda_graphs={} peak_tflops={} mfu={}\n",
               s.name, n, t.steps, 1e3 * t.step_s, t.tok_s, t.gflop_s, a.device, spec.micro_batch,
               a.cuda_graphs ? 1 : 0, peak ? fmt::format("{}", *peak) : "na", mfu);
  }
  std::fflush(stdout);
}

int run(const Args& a) {
  const torch::Device device = parse_device(a.device);
  if (a.cuda_graphs && !device.is_cuda()) bad_flag("--cuda-graphs", "needs --device cuda");
  torch::set_num_threads(1);
  configure_cpu_threads(1);
  keep_freed_memory();
  std::string gpu;
  const auto peak = peak_tflops(a, gpu);
  if (a.peak && *a.peak == "auto" && !peak)
    fmt::print(stderr, "bench_trainer: --peak-tflops auto: {}; MFU not reported\n",
               gpu.empty() ? "no GPU detected" : "'" + gpu + "' is not in common/accelerators");
  const fs::path dir = fs::temp_directory_path() / fmt::format("scalelab-bench-{}", ::getpid());
  DataConfig text;
  text.path = make_corpus(dir);
  const bool kernels = device.is_cpu() && !a.reference && scalelab::trainer::cpu::have_fast_gemm();
  fmt::print("# scalelab bench_trainer: {}, LibTorch {}, path: {}{}\n",
             device.is_cpu() ? std::string("1 thread") : a.device, TORCH_VERSION,
             kernels ? "oneDNN kernels" : device.is_cpu() ? "reference LibTorch ops" : "LibTorch CUDA ops, bf16 autocast",
             gpu.empty() ? "" : ", GPU: " + gpu);
  std::vector<Shape> shapes = a.shapes;
  if (shapes.empty())
    for (const Shape& s : kCpuShapes)
      if (a.only == "all" || a.only == s.name) shapes.push_back(s);
  for (const Shape& s : shapes) {
    const DataConfig data = s.vocab == 256 ? text : make_token_data(dir, s.vocab);
    const RunSpec spec = spec_for(s, data, a.batch > 0 ? a.batch : s.batch);
    const Throughput t = time_steps(spec, a.seconds, a.warmup, kernels, device, a.cuda_graphs);
    report(a, s, spec, t, peak);
    if (a.logging && !a.reference && !a.json && device.is_cpu() && a.shapes.empty())
      logging_overhead(spec, dir / s.name, t.step_s);
  }
  fs::remove_all(dir);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse_args(argc, argv);
  try {
    return run(a);
  } catch (const scalelab::UserError& e) {
    fmt::print(stderr, "bench_trainer: {}\n", e.what());
    return 2;
  }
}
