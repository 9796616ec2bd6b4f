// GPU correctness checks and the packing workload for bench/gpu.sh (docs/gpu.md).
//
//   bench_gpu_checks curves   --device D --data TEXT [--steps N] [--tiny] [--threads T]
//                             [--abs-tol A] [--rel-tol R]
//     (a) the same run on D and on the CPU through trainer::train: every logged
//         validation loss must agree within A + R * |cpu loss|;
//     (b) the run on D uninterrupted, and stopped at its middle then resumed from a
//         copy of its run directory: the resumed rows must match the uninterrupted
//         ones (on the CPU bit for bit, the project's guarantee; on a GPU within the
//         tolerance of (a), since its kernels are not bit-deterministic).
//     Exit 0 when both pass, 1 when one fails, 2 for bad input.
//   bench_gpu_checks pack-run --device D --data TEXT [--steps N] [--seed S] [--tiny]
//                             [--memory-fraction F]
//     One short run of a 3.3M-parameter GPT (0.03M with --tiny), the unit that
//     gpu.sh launches 20 of, packed and one at a time; prints its tokens and time.
#include <fmt/format.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/error.h"
#include "trainer/trainer.h"

namespace fs = std::filesystem;
using namespace scalelab::trainer;

namespace {

struct Args {
  std::string mode, device = "cpu", data;
  int steps = 200, threads = 0;
  std::uint64_t seed = 1;
  bool tiny = false;
  double abs_tol = 0.03, rel_tol = 0.01, memory_fraction = 0;
};

[[noreturn]] void bad_flag(const std::string& flag, const std::string& what) {
  fmt::print(stderr, "bench_gpu_checks: {}: {}\n", flag, what);
  std::exit(2);
}

double number(const std::string& flag, const std::string& v, double lo, double hi) {
  char* end = nullptr;
  const double x = std::strtod(v.c_str(), &end);
  if (end == v.c_str() || *end != '\0' || !(x >= lo && x <= hi))
    bad_flag(flag, fmt::format("expects a number in [{}, {}], got '{}'", lo, hi, v));
  return x;
}

Args parse_args(int argc, char** argv) {
  Args a;
  if (argc < 2 || (std::string(argv[1]) != "curves" && std::string(argv[1]) != "pack-run"))
    bad_flag("mode", "expects 'curves' or 'pack-run' as the first argument");
  a.mode = argv[1];
  for (int i = 2; i < argc; ++i) {
    const std::string f = argv[i];
    if (f == "--tiny") { a.tiny = true; continue; }
    if (i + 1 >= argc) bad_flag(f, f.rfind("--", 0) == 0 ? "expects a value" : "unknown argument");
    const std::string v = argv[++i];
    if (f == "--device") a.device = v;
    else if (f == "--data") a.data = v;
    else if (f == "--steps") a.steps = int(number(f, v, 4, 1e6));
    else if (f == "--threads") a.threads = int(number(f, v, 1, 1024));
    else if (f == "--seed") a.seed = std::uint64_t(number(f, v, 0, 1e15));
    else if (f == "--abs-tol") a.abs_tol = number(f, v, 0, 10);
    else if (f == "--rel-tol") a.rel_tol = number(f, v, 0, 1);
    else if (f == "--memory-fraction") a.memory_fraction = number(f, v, 0, 1);
    else bad_flag(f, "unknown flag (see the top of bench/gpu_checks.cpp)");
  }
  if (a.data.empty()) bad_flag("--data", "expects a UTF-8 text file to train on");
  if (a.threads == 0) a.threads = int(std::max(1u, std::thread::hardware_concurrency()));
  return a;
}

// curves: ~1M parameters, a validation point every 10% of the run. pack-run: 3.3M.
RunSpec spec_for(const Args& a, bool pack) {
  RunSpec s;
  s.model.n_layer = a.tiny ? 1 : 4;
  s.model.d_model = a.tiny ? 32 : (pack ? 256 : 128);
  s.model.n_head = a.tiny ? 2 : 4;
  s.model.seq_len = a.tiny ? 32 : (pack ? 256 : 128);
  s.data.path = a.data;
  s.data.val_fraction = 0.05;
  s.micro_batch = 16;
  s.batch_tokens = std::int64_t(s.micro_batch) * s.model.seq_len;
  s.tokens = double(a.steps) * double(s.batch_tokens);
  s.seed = a.seed;
  s.log_every = std::max(1, a.steps / 40);
  s.eval_every = pack ? 1'000'000 : std::max(1, a.steps / 10);
  s.eval_batches = pack ? 1 : 8;
  s.eval_final_tokens = std::int64_t(8) * s.micro_batch * s.model.seq_len;
  s.checkpoint_every = 1'000'000;  // only where the run stops or ends
  return s;
}

class Rows : public MetricSink {
 public:
  void log(const MetricRow& r) override { rows[{r.split, r.step}] = r.loss; }
  void flush() override {}
  std::map<std::pair<std::string, std::int64_t>, double> rows;
};

struct Run {
  TrainResult result;
  Rows rows;
};

Run train_on(const RunSpec& spec, const Args& a, const std::string& device, const fs::path& dir,
             bool resume = false, std::int64_t stop_after = -1) {
  TrainOptions opt;
  opt.run_dir = dir.string();
  opt.device = device;
  opt.threads = a.threads;
  opt.progress = Progress::Quiet;
  opt.resume = resume;
  opt.stop_after_steps = stop_after;
  if (device != "cpu") opt.gpu_memory_fraction = a.memory_fraction;
  Run r;
  r.result = train(spec, opt, r.rows);
  return r;
}

struct Deviation {
  double max_abs = 0;     // largest |a - b| over the rows compared
  double worst_excess = -1e300;  // largest |a - b| - tolerance (> 0: a failure)
  int compared = 0, missing = 0;
  std::int64_t worst_step = -1;
};

// Rows of `got` in `split` from step `from` on, against the same rows of `want`.
Deviation compare(const Rows& want, const Rows& got, const std::string& split, std::int64_t from,
                  double abs_tol, double rel_tol) {
  Deviation d;
  for (const auto& [key, loss] : got.rows) {
    if (key.first != split || key.second < from) continue;
    auto it = want.rows.find(key);
    if (it == want.rows.end()) { ++d.missing; continue; }
    const double diff = std::abs(loss - it->second);
    const double excess = diff - (abs_tol + rel_tol * std::abs(it->second));
    if (!(diff <= d.max_abs)) d.max_abs = diff;  // a NaN sticks
    if (excess > d.worst_excess || std::isnan(diff)) { d.worst_excess = std::isnan(diff) ? 1e300 : excess; d.worst_step = key.second; }
    ++d.compared;
  }
  return d;
}

bool passed(const Deviation& d, bool exact) {
  if (d.compared == 0 || d.missing > 0) return false;
  return exact ? d.max_abs == 0 : d.worst_excess <= 0;
}

void print_check(const char* name, const Deviation& d, bool ok, const std::string& extra) {
  fmt::print("RESULT check={} pass={} compared={} missing={} max_abs_dev={:.6g} worst_step={}{}\n", name,
             ok ? 1 : 0, d.compared, d.missing, d.max_abs, d.worst_step, extra);
  std::fflush(stdout);
}

int curves(const Args& a, const fs::path& dir) {
  const RunSpec spec = spec_for(a, false);
  const bool on_cpu = a.device == "cpu";
  const std::int64_t total = total_steps(spec), mid = total / 2;
  fmt::print("# curves: {} ({} params) for {} steps on {} and cpu ({} threads); tolerance {} + {} * |loss|\n",
             shape_name(spec.model), count_params(spec.model).total, total, a.device, a.threads,
             a.abs_tol, a.rel_tol);
  const Run dev = train_on(spec, a, a.device, dir / "device");
  const Run cpu = train_on(spec, a, "cpu", dir / "cpu");
  // (a) Device against CPU. On a CPU "device" the two runs must agree exactly.
  const Deviation val = compare(cpu.rows, dev.rows, "val", 0, a.abs_tol, a.rel_tol);
  const Deviation tr = compare(cpu.rows, dev.rows, "train", 0, a.abs_tol, a.rel_tol);
  const bool curve_ok = passed(val, on_cpu) && dev.result.status == "done" && cpu.result.status == "done";
  print_check("loss_curve", val, curve_ok,
              fmt::format(" train_max_abs_dev={:.6g} device_final_val={:.6g} cpu_final_val={:.6g} "
                          "device_tok_s={:.1f} cpu_tok_s={:.1f}",
                          tr.max_abs, dev.result.final_val_loss.value_or(NAN),
                          cpu.result.final_val_loss.value_or(NAN), dev.result.tokens_per_s,
                          cpu.result.tokens_per_s));
  // (b) Stopped at the middle, resumed from a copy of the run directory, as a run
  // moved to another machine would be.
  const Run part = train_on(spec, a, a.device, dir / "part", false, mid);
  fs::copy(dir / "part", dir / "resumed", fs::copy_options::recursive);
  const Run rest = train_on(spec, a, a.device, dir / "resumed", true);
  Deviation first = compare(dev.rows, rest.rows, "train", mid + 1, a.abs_tol, a.rel_tol);
  const Deviation rval = compare(dev.rows, rest.rows, "val", mid + 1, a.abs_tol, a.rel_tol);
  const bool resume_ok = part.result.status == "stopped" && rest.result.status == "done" &&
                         passed(first, on_cpu) && passed(rval, on_cpu);
  double first_dev = NAN;
  for (const auto& [key, loss] : rest.rows.rows)
    if (key.first == "train" && key.second > mid && dev.rows.rows.count(key)) { first_dev = std::abs(loss - dev.rows.rows.at(key)); break; }
  print_check("resume", first, resume_ok,
              fmt::format(" resumed_at={} first_row_abs_dev={:.6g} val_max_abs_dev={:.6g} exact_required={}",
                          part.result.steps, first_dev, rval.max_abs, on_cpu ? 1 : 0));
  return curve_ok && resume_ok ? 0 : 1;
}

int pack_run(const Args& a, const fs::path& dir) {
  const RunSpec spec = spec_for(a, true);
  const auto t0 = std::chrono::steady_clock::now();
  const Run r = train_on(spec, a, a.device, dir / "run");
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  fmt::print("RESULT check=pack_run seed={} params={} status={} steps={} tokens={:.0f} train_wall_s={:.3f} "
             "tok_s={:.1f}\n",
             a.seed, count_params(spec.model).total, r.result.status, r.result.steps, r.result.tokens, wall,
             r.result.tokens_per_s);
  return r.result.status == "done" ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse_args(argc, argv);
  const fs::path dir = fs::temp_directory_path() / fmt::format("scalelab-gpu-checks-{}", ::getpid());
  int rc = 2;
  try {
    fs::create_directories(dir);
    rc = a.mode == "curves" ? curves(a, dir) : pack_run(a, dir);
  } catch (const scalelab::UserError& e) {
    fmt::print(stderr, "bench_gpu_checks: {}\n", e.what());
  } catch (const std::exception& e) {
    fmt::print(stderr, "bench_gpu_checks: {}\n", e.what());
    rc = 1;
  }
  fs::remove_all(dir);
  return rc;
}
