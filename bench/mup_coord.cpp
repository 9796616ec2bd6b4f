// The μP coordinate check (trainer/mup_coord.h), printed: RMS of every layer's
// output after a few Adam steps at one fixed LR on one fixed batch of KJV text,
// for widths 32..512 under sp and under mup (base width 32). Under mup each row
// should stay within 2x (max/min); under sp the hidden and output rows grow with
// width. Exit status 1 when a mup row does not. Figures: docs/mup.md.
#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "trainer/device.h"
#include "trainer/mup_coord.h"

using namespace scalelab::trainer;

namespace {

const char* kUsage =
    "usage: bench_mup_coord [--text PATH | --random] [--steps N] [--lr X] [--seeds N] [--batch N]\n"
    "  --text PATH  the batch's text (default data/kjv.txt: scalelab data kjv --out data/kjv.txt)\n"
    "  --random     uniformly random tokens instead (little signal: the mup rows drift, docs/mup.md)\n";

bool parse(int argc, char** argv, CoordCheck& c) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--random") {
      c.text_path.clear();
      continue;
    }
    if (i + 1 >= argc) return false;
    const char* v = argv[++i];
    if (a == "--text") c.text_path = v;
    else if (a == "--steps") c.steps = std::atoi(v);
    else if (a == "--lr") c.lr = std::atof(v);
    else if (a == "--seeds") c.seeds = std::atoi(v);
    else if (a == "--batch") c.batch = std::atoi(v);
    else return false;
  }
  return c.steps >= 0 && c.lr > 0 && c.seeds > 0 && c.batch > 0;
}

}  // namespace

int main(int argc, char** argv) {
  CoordCheck c;
  c.seeds = 3;
  c.text_path = "data/kjv.txt";
  if (!parse(argc, argv, c)) return std::fputs(kUsage, stderr), 2;
  if (!c.text_path.empty() && !std::filesystem::exists(c.text_path))
    return std::fprintf(stderr, "bench_mup_coord: %s: no such file\n%s", c.text_path.c_str(), kUsage), 2;
  configure_cpu_threads(1);  // deterministic, and comparable between machines
  fmt::print("coordinate check: n_layer {}, n_head {}, seq_len {}, batch {} sequences of {}, {} Adam steps at "
             "lr {:g} (no decay, no clipping), mean of {} seeds; mup base width {}\n\n",
             c.n_layer, c.n_head, c.seq_len, c.batch, c.text_path.empty() ? "random tokens" : c.text_path, c.steps,
             c.lr, c.seeds, c.base_width);
  const auto t0 = std::chrono::steady_clock::now();
  const CoordTable sp = coord_check(c, "sp"), mup = coord_check(c, "mup");
  fmt::print("{}\n{}\n", format_table(sp), format_table(mup));
  bool ok = true;
  for (std::size_t l = 0; l < mup.layers.size(); ++l) ok = ok && mup.ratio(l) <= 2;
  fmt::print("mup: every row within 2x: {}   ({:.1f} s)\n", ok ? "yes" : "NO",
             std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return ok ? 0 : 1;
}
