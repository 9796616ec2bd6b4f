// Byte unigram entropy: the loss a model that ignores context can reach, a
// reference floor-from-above for byte-level runs.
#include <array>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "trainer/trainer.h"

namespace scalelab::trainer {

double unigram_entropy_nats(const std::string& text_path) {
  std::error_code ec;
  std::ifstream in(text_path, std::ios::binary);
  if (!std::filesystem::is_regular_file(text_path, ec) || !in) user_error("cannot open text file '{}'", text_path);
  std::array<std::uint64_t, 256> counts{};
  std::array<char, 1 << 16> buf;
  std::uint64_t total = 0;
  while (in) {
    in.read(buf.data(), buf.size());
    const auto n = in.gcount();
    for (std::streamsize i = 0; i < n; ++i) ++counts[static_cast<unsigned char>(buf[i])];
    total += static_cast<std::uint64_t>(n);
  }
  if (total == 0) user_error("text file '{}' is empty; its entropy is undefined", text_path);
  double h = 0;
  for (auto c : counts) {
    if (c == 0) continue;
    const double p = double(c) / double(total);
    h -= p * std::log(p);
  }
  return h;
}

}  // namespace scalelab::trainer
