#pragma once
// Reads a PNG far enough to check a rendered figure or screenshot: its size,
// and whether it is more than one flat colour. Decodes with zlib (8-bit
// grey, grey+alpha, RGB, RGBA and palette images, not interlaced).
#include <string>

namespace scalelab::reports {

struct PngSummary {
  int width = 0, height = 0;
  double varied = 0;  // fraction of pixels whose colour differs from the most common one
  int colours = 0;    // distinct colours seen, counted up to 4096
};

// Throws std::runtime_error naming the file when it is not a PNG this can read.
PngSummary summarize_png(const std::string& path);

}  // namespace scalelab::reports
