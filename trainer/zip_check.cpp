#include "trainer/zip_check.h"

#include <zlib.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <vector>

namespace scalelab::trainer {

namespace {

using Bytes = std::vector<unsigned char>;

std::uint32_t u32(const Bytes& b, std::size_t at) {
  return std::uint32_t(b[at]) | std::uint32_t(b[at + 1]) << 8 | std::uint32_t(b[at + 2]) << 16 |
         std::uint32_t(b[at + 3]) << 24;
}
std::uint16_t u16(const Bytes& b, std::size_t at) { return static_cast<std::uint16_t>(b[at] | b[at + 1] << 8); }

// Reads n bytes at offset `at`; empty when the file is shorter. Only the zip's
// directory and headers are held in memory: entry data is streamed (a checkpoint
// can be gigabytes, and the loader reads it again right after).
Bytes read_at(std::ifstream& f, std::uint64_t at, std::size_t n) {
  Bytes b(n);
  f.clear();
  f.seekg(static_cast<std::streamoff>(at));
  if (!f.read(reinterpret_cast<char*>(b.data()), static_cast<std::streamsize>(n))) return {};
  return b;
}

uLong stream_crc(std::ifstream& f, std::uint64_t at, std::uint64_t size) {
  uLong sum = crc32(0L, Z_NULL, 0);
  std::vector<char> buf(1 << 20);
  f.clear();
  f.seekg(static_cast<std::streamoff>(at));
  for (std::uint64_t left = size; left > 0;) {
    const auto n = static_cast<std::streamsize>(std::min<std::uint64_t>(left, buf.size()));
    if (!f.read(buf.data(), n)) break;
    sum = crc32(sum, reinterpret_cast<const Bytef*>(buf.data()), static_cast<uInt>(n));
    left -= static_cast<std::uint64_t>(n);
  }
  return sum;
}

}  // namespace

std::optional<std::string> zip_damage(const std::string& path) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) return "cannot be opened";
  const auto file_size = static_cast<std::uint64_t>(f.tellg());
  // The end-of-central-directory record: the last 22 bytes, after a comment of up to 65,535.
  const std::uint64_t tail_len = std::min<std::uint64_t>(file_size, 22 + 65535);
  const Bytes tail = read_at(f, file_size - tail_len, tail_len);
  std::optional<std::size_t> eocd;
  for (std::size_t i = tail.size() >= 22 ? tail.size() - 22 + 1 : 0; i-- > 0;)
    if (u32(tail, i) == 0x06054b50) {
      eocd = i;
      break;
    }
  if (!eocd) return "no zip directory: the file is truncated or not a checkpoint";
  const std::uint64_t eocd_at = file_size - tail_len + *eocd;
  const std::size_t entries = u16(tail, *eocd + 10);
  const std::uint64_t dir_size = u32(tail, *eocd + 12), dir_at = u32(tail, *eocd + 16);
  // ZIP64 (archives over 4 GB or 65,535 entries) keeps its sizes elsewhere: left to LibTorch.
  if (dir_at == 0xffffffffu || dir_size == 0xffffffffu || entries == 0xffff) return std::nullopt;
  if (dir_at + dir_size > eocd_at) return "its zip directory points past the end of the file";
  const Bytes dir = read_at(f, dir_at, dir_size);
  std::size_t at = 0;
  for (std::size_t e = 0; e < entries; ++e) {
    if (at + 46 > dir.size() || u32(dir, at) != 0x02014b50) return fmt::format("zip directory entry {} is damaged", e);
    const std::uint16_t method = u16(dir, at + 10);
    const std::uint32_t crc = u32(dir, at + 16), csize = u32(dir, at + 20), size = u32(dir, at + 24);
    const std::size_t name_len = u16(dir, at + 28), extra_len = u16(dir, at + 30), comment_len = u16(dir, at + 32);
    const std::uint64_t local = u32(dir, at + 42);
    if (at + 46 + name_len > dir.size()) return fmt::format("zip directory entry {} is damaged", e);
    const std::string name(reinterpret_cast<const char*>(&dir[at + 46]), name_len);
    at += 46 + name_len + extra_len + comment_len;
    if (csize == 0xffffffffu || size == 0xffffffffu || local == 0xffffffffu) continue;  // ZIP64 entry
    const Bytes header = read_at(f, local, 30);
    if (header.empty() || u32(header, 0) != 0x04034b50) return fmt::format("entry '{}' has no local header", name);
    const std::uint64_t data = local + 30 + u16(header, 26) + u16(header, 28);
    if (data + csize > file_size) return fmt::format("entry '{}' runs past the end of the file", name);
    if (method != 0) continue;  // LibTorch stores entries uncompressed; others are LibTorch's to read
    if (csize != size) return fmt::format("entry '{}' has inconsistent sizes", name);
    if (stream_crc(f, data, size) != crc) return fmt::format("entry '{}': CRC mismatch", name);
  }
  return std::nullopt;
}

}  // namespace scalelab::trainer
