// How fast can a CPU training step be, given the GEMMs it must do? For each of the
// trainer's CPU shapes (bench_trainer's 0.84M and 0.12M) this times oneDNN's sgemm
// (trainer/gemm.h, what the trainer calls) on every linear-layer product of one
// step, forward and backward, at their real sizes and layouts, and prints the sum:
// a floor under the step time that no fusion of the element-wise work can go below
// (attention's products are not included; they only add to it). Against a peer's
// measured tokens/s this gives the highest ratio the target could reach here.
//
//   bench/gemm_floor [--seconds-per-gemm S] [--peer-tok-s-0.84M X] [--peer-tok-s-0.12M Y]
#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "trainer/gemm.h"

namespace {

using scalelab::trainer::cpu::sgemm;
using Clock = std::chrono::steady_clock;

struct Gemm {
  std::string what;
  bool ta, tb;
  std::int64_t M, N, K;
};

// The products of one step of a GPT with L layers, width C, M = batch x T tokens
// and vocab V (tied head): y = x W^T forward, dx = dy W and dW = dy^T x backward.
std::vector<Gemm> step_gemms(int L, std::int64_t C, std::int64_t M, std::int64_t V) {
  struct Layer {
    const char* name;
    std::int64_t out, in;
    int count;
  };
  const Layer layers[] = {{"c_attn", 3 * C, C, L}, {"attn.c_proj", C, C, L}, {"c_fc", 4 * C, C, L},
                          {"mlp.c_proj", C, 4 * C, L}, {"head", V, C, 1}};
  std::vector<Gemm> out;
  for (const Layer& l : layers)
    for (int i = 0; i < l.count; ++i) {
      out.push_back({fmt::format("{} fwd", l.name), false, true, M, l.out, l.in});
      out.push_back({fmt::format("{} dx", l.name), false, false, M, l.in, l.out});
      out.push_back({fmt::format("{} dW", l.name), true, false, l.out, l.in, M});
    }
  return out;
}

// Seconds per call, the best of repeated timed batches (operands warm, as in a step
// where the previous op just wrote them).
double time_gemm(const Gemm& g, double seconds) {
  const std::int64_t a_rows = g.ta ? g.K : g.M, a_cols = g.ta ? g.M : g.K;
  const std::int64_t b_rows = g.tb ? g.N : g.K, b_cols = g.tb ? g.K : g.N;
  std::vector<float> A(std::size_t(a_rows * a_cols), 0.01f), B(std::size_t(b_rows * b_cols), 0.02f),
      C(std::size_t(g.M * g.N));
  auto run = [&] { sgemm(g.ta, g.tb, g.M, g.N, g.K, 1, A.data(), a_cols, B.data(), b_cols, 0, C.data(), g.N); };
  for (int i = 0; i < 5; ++i) run();
  double best = 1e30;
  const auto t0 = Clock::now();
  while (std::chrono::duration<double>(Clock::now() - t0).count() < seconds) {
    const auto s = Clock::now();
    for (int i = 0; i < 5; ++i) run();
    best = std::min(best, std::chrono::duration<double>(Clock::now() - s).count() / 5);
  }
  return best;
}

struct Shape {
  const char* name;
  int L;
  std::int64_t C, T, batch, V;
  double peer_tok_s;
};

[[noreturn]] void usage(const std::string& why) {
  fmt::print(stderr, "gemm_floor: {} (see --help)\n", why);
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  if (!scalelab::trainer::cpu::have_fast_gemm()) usage("no oneDNN sgemm in this process (SCALELAB_ONEDNN=0?)");
  double seconds = 0.2;
  Shape shapes[] = {{"0.84M", 4, 128, 128, 16, 256, 0}, {"0.12M", 2, 64, 64, 16, 256, 0}};
  for (int i = 1; i < argc; ++i) {
    const std::string f = argv[i];
    if (f == "--help" || f == "-h") {
      fmt::print("usage: gemm_floor [--seconds-per-gemm S] [--peer-tok-s-0.84M X] [--peer-tok-s-0.12M Y]\n");
      return 0;
    }
    if (i + 1 >= argc) usage(f + " needs a value");
    char* end = nullptr;
    const double v = std::strtod(argv[++i], &end);
    if (!end || *end || !(v > 0)) usage(fmt::format("{} expects a positive number, got '{}'", f, argv[i]));
    if (f == "--seconds-per-gemm") seconds = v;
    else if (f == "--peer-tok-s-0.84M") shapes[0].peer_tok_s = v;
    else if (f == "--peer-tok-s-0.12M") shapes[1].peer_tok_s = v;
    else usage("unknown flag " + f);
  }
  fmt::print("# gemm_floor: oneDNN sgemm, {} thread(s) as the process has; linear layers of one training step\n",
             std::getenv("OMP_NUM_THREADS") ? std::getenv("OMP_NUM_THREADS") : "all");
  for (const Shape& s : shapes) {
    double total_s = 0, flops = 0;
    std::set<std::string> shown;
    for (const Gemm& g : step_gemms(s.L, s.C, s.batch * s.T, s.V)) {
      const double t = time_gemm(g, seconds), f = 2.0 * double(g.M) * double(g.N) * double(g.K);
      total_s += t;
      flops += f;
      if (shown.insert(g.what).second)  // each layer's products once: the layers are alike
        fmt::print("GEMM shape={} op={:<14} M={:<5} N={:<5} K={:<5} us={:8.1f} gflop_s={:6.1f}\n", s.name, g.what,
                   g.M, g.N, g.K, 1e6 * t, f / t / 1e9);
    }
    const double tokens = double(s.batch * s.T), ceiling = tokens / total_s;
    fmt::print("FLOOR shape={} linear_gemm_ms={:.2f} gflop={:.3f} gflop_s={:.1f} max_tok_s={:.0f}", s.name,
               1e3 * total_s, flops / 1e9, flops / total_s / 1e9, ceiling);
    if (s.peer_tok_s > 0) fmt::print(" peer_tok_s={:.0f} max_ratio={:.2f}", s.peer_tok_s, ceiling / s.peer_tok_s);
    fmt::print("\n");
  }
}
