#include "trainer/zip_check.h"

#include <zlib.h>

#include <fmt/format.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

namespace scalelab::trainer {

namespace {

std::uint32_t u32(const std::vector<unsigned char>& b, std::size_t at) {
  return std::uint32_t(b[at]) | std::uint32_t(b[at + 1]) << 8 | std::uint32_t(b[at + 2]) << 16 |
         std::uint32_t(b[at + 3]) << 24;
}
std::uint16_t u16(const std::vector<unsigned char>& b, std::size_t at) {
  return static_cast<std::uint16_t>(b[at] | b[at + 1] << 8);
}

// The end-of-central-directory record: the last 22+ bytes, after an optional comment.
std::optional<std::size_t> find_eocd(const std::vector<unsigned char>& b) {
  if (b.size() < 22) return std::nullopt;
  const std::size_t lowest = b.size() > 22 + 65535 ? b.size() - 22 - 65535 : 0;
  for (std::size_t i = b.size() - 22 + 1; i-- > lowest;)
    if (u32(b, i) == 0x06054b50) return i;
  return std::nullopt;
}

}  // namespace

std::optional<std::string> zip_damage(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return "cannot be opened";
  const std::vector<unsigned char> b((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const auto eocd = find_eocd(b);
  if (!eocd) return "no zip directory: the file is truncated or not a checkpoint";
  const std::size_t entries = u16(b, *eocd + 10);
  const std::size_t dir_size = u32(b, *eocd + 12), dir_at = u32(b, *eocd + 16);
  // ZIP64 (archives over 4 GB or 65,535 entries) keeps its sizes elsewhere: left to LibTorch.
  if (dir_at == 0xffffffffu || dir_size == 0xffffffffu || entries == 0xffff) return std::nullopt;
  if (dir_at + dir_size > *eocd) return "its zip directory points past the end of the file";
  std::size_t at = dir_at;
  for (std::size_t e = 0; e < entries; ++e) {
    if (at + 46 > *eocd || u32(b, at) != 0x02014b50) return fmt::format("zip directory entry {} is damaged", e);
    const std::uint16_t method = u16(b, at + 10);
    const std::uint32_t crc = u32(b, at + 16), csize = u32(b, at + 20), size = u32(b, at + 24);
    const std::size_t name_len = u16(b, at + 28), extra_len = u16(b, at + 30), comment_len = u16(b, at + 32);
    const std::size_t local = u32(b, at + 42);
    if (at + 46 + name_len > *eocd) return fmt::format("zip directory entry {} is damaged", e);
    const std::string name(reinterpret_cast<const char*>(&b[at + 46]), name_len);
    at += 46 + name_len + extra_len + comment_len;
    if (csize == 0xffffffffu || size == 0xffffffffu || local == 0xffffffffu) continue;  // ZIP64 entry
    if (local + 30 > b.size() || u32(b, local) != 0x04034b50) return fmt::format("entry '{}' has no local header", name);
    const std::size_t data = local + 30 + u16(b, local + 26) + u16(b, local + 28);
    if (data + csize > b.size()) return fmt::format("entry '{}' runs past the end of the file", name);
    if (method != 0) continue;  // LibTorch stores entries uncompressed; others are LibTorch's to read
    if (csize != size) return fmt::format("entry '{}' has inconsistent sizes", name);
    uLong sum = crc32(0L, Z_NULL, 0);
    for (std::size_t off = 0; off < size;) {  // crc32 takes a uInt length
      const auto n = static_cast<uInt>(std::min<std::size_t>(size - off, 1u << 30));
      sum = crc32(sum, &b[data + off], n);
      off += n;
    }
    if (sum != crc) return fmt::format("entry '{}': CRC mismatch", name);
  }
  return std::nullopt;
}

}  // namespace scalelab::trainer
