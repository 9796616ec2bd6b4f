#include "reports/png_check.h"

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <unordered_map>
#include <vector>

namespace scalelab::reports {

namespace {

std::uint32_t be32(const unsigned char* p) {
  return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) | p[3];
}

int paeth(int a, int b, int c) {
  const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

}  // namespace

PngSummary summarize_png(const std::string& path) {
  auto fail = [&](const std::string& why) { throw std::runtime_error(path + ": " + why); };
  std::ifstream f(path, std::ios::binary);
  if (!f) fail("cannot open");
  std::vector<unsigned char> b((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (b.size() < 33 || !std::equal(sig, sig + 8, b.begin())) fail("not a PNG file");
  PngSummary s;
  int depth = 0, type = -1, interlace = 0;
  std::vector<unsigned char> idat, palette;
  for (std::size_t at = 8; at + 12 <= b.size();) {
    const std::uint32_t len = be32(&b[at]);
    if (at + 12 + len > b.size()) fail("truncated chunk");
    const std::string kind(b.begin() + at + 4, b.begin() + at + 8);
    const unsigned char* d = &b[at + 8];
    if (kind == "IHDR") {
      s.width = static_cast<int>(be32(d));
      s.height = static_cast<int>(be32(d + 4));
      depth = d[8], type = d[9], interlace = d[12];
    } else if (kind == "PLTE") {
      palette.assign(d, d + len);
    } else if (kind == "IDAT") {
      idat.insert(idat.end(), d, d + len);
    } else if (kind == "IEND") {
      break;
    }
    at += 12 + len;
  }
  if (s.width <= 0 || s.height <= 0) fail("no IHDR chunk");
  if (depth != 8 || interlace != 0) fail("only 8-bit, non-interlaced PNGs are supported");
  const int channels = type == 0 ? 1 : type == 2 ? 3 : type == 3 ? 1 : type == 4 ? 2 : type == 6 ? 4 : 0;
  if (!channels) fail("unknown colour type");
  const std::size_t stride = static_cast<std::size_t>(s.width) * channels;
  std::vector<unsigned char> raw((stride + 1) * static_cast<std::size_t>(s.height));
  uLongf raw_len = raw.size();
  if (uncompress(raw.data(), &raw_len, idat.data(), idat.size()) != Z_OK || raw_len != raw.size())
    fail("image data does not inflate to the size its header gives");

  std::vector<unsigned char> prev(stride, 0), cur(stride);
  std::unordered_map<std::uint32_t, std::int64_t> counts;
  for (int y = 0; y < s.height; ++y) {
    const unsigned char* line = &raw[static_cast<std::size_t>(y) * (stride + 1)];
    const int filter = line[0];
    for (std::size_t i = 0; i < stride; ++i) {
      const int x = line[1 + i], a = i >= std::size_t(channels) ? cur[i - channels] : 0, up = prev[i],
                c = i >= std::size_t(channels) ? prev[i - channels] : 0;
      int v = 0;
      switch (filter) {
        case 0: v = x; break;
        case 1: v = x + a; break;
        case 2: v = x + up; break;
        case 3: v = x + (a + up) / 2; break;
        case 4: v = x + paeth(a, up, c); break;
        default: fail("bad filter type");
      }
      cur[i] = static_cast<unsigned char>(v);
    }
    for (int px = 0; px < s.width; ++px) {
      const unsigned char* p = &cur[static_cast<std::size_t>(px) * channels];
      std::uint32_t rgb;
      if (type == 3) {
        const std::size_t k = std::size_t(p[0]) * 3;
        if (k + 2 >= palette.size()) fail("palette index out of range");
        rgb = (std::uint32_t(palette[k]) << 16) | (std::uint32_t(palette[k + 1]) << 8) | palette[k + 2];
      } else if (channels <= 2) {
        rgb = std::uint32_t(p[0]) * 0x010101u;
      } else {
        rgb = (std::uint32_t(p[0]) << 16) | (std::uint32_t(p[1]) << 8) | p[2];
      }
      if (counts.size() < 4096 || counts.count(rgb)) ++counts[rgb];
    }
    std::swap(prev, cur);
  }
  std::int64_t top = 0, seen = 0;
  for (auto& [c, n] : counts) top = std::max(top, n), seen += n;
  const double total = double(s.width) * s.height;
  s.varied = (total - double(top)) / total;
  s.colours = static_cast<int>(counts.size());
  return s;
}

}  // namespace scalelab::reports
