// report_png_check FILE [WIDTH HEIGHT]: exits 0 when FILE is a PNG of that size
// (if given) with at least 0.5% of its pixels off the background colour.
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "reports/png_check.h"

int main(int argc, char** argv) {
  if (argc != 2 && argc != 4) {
    std::fprintf(stderr, "usage: report_png_check FILE [WIDTH HEIGHT]\n");
    return 2;
  }
  try {
    auto s = scalelab::reports::summarize_png(argv[1]);
    std::printf("%s: %dx%d, %d colours, %.1f%% of pixels off the background\n", argv[1], s.width, s.height, s.colours,
                100 * s.varied);
    if (argc == 4 && (s.width != std::atoi(argv[2]) || s.height != std::atoi(argv[3]))) {
      std::fprintf(stderr, "%s: %dx%d, want %sx%s\n", argv[1], s.width, s.height, argv[2], argv[3]);
      return 1;
    }
    if (s.varied < 0.005) {
      std::fprintf(stderr, "%s: blank (%.2f%% of pixels off the background)\n", argv[1], 100 * s.varied);
      return 1;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
