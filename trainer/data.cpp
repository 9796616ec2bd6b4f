#include "trainer/data.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <vector>

#include "common/error.h"

namespace scalelab::trainer {

// Read-only mapping: corpora may be far larger than RAM, and a sampler touches
// only the windows it draws.
class MappedFile {
 public:
  explicit MappedFile(const std::string& path) : path_(path) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec))
      user_error("data file '{}' does not exist or is not a regular file", path);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) user_error("cannot open data file '{}': {}", path, std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      ::close(fd);
      user_error("cannot stat data file '{}': {}", path, std::strerror(errno));
    }
    size_ = static_cast<std::size_t>(st.st_size);
    if (size_ > 0) {
      void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        ::close(fd);
        user_error("cannot map data file '{}': {}", path, std::strerror(errno));
      }
      data_ = static_cast<const unsigned char*>(p);
    }
    ::close(fd);
  }
  ~MappedFile() {
    if (data_) ::munmap(const_cast<unsigned char*>(data_), size_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const unsigned char* data() const { return data_; }
  std::size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  const unsigned char* data_ = nullptr;
  std::size_t size_ = 0;
};

std::int64_t Split::token(std::int64_t i) const {
  if (width == 1) return data[i];
  std::uint16_t v;
  std::memcpy(&v, data + 2 * i, 2);
  if constexpr (std::endian::native == std::endian::big) v = static_cast<std::uint16_t>((v << 8) | (v >> 8));
  return v;
}

namespace {

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

void require_windows(const Split& s, int seq_len, const char* what) {
  if (s.count < seq_len + 1)
    user_error("data '{}': the {} split has {} tokens; need at least seq_len+1 = {} "
               "(use a longer corpus{})",
               s.path, what, s.count, seq_len + 1,
               s.width == 1 ? " or adjust data.val_fraction" : "");
}

void require_vocab(const Split& s, int vocab) {
  std::int64_t max_id = 0;
  if (s.width == 1) {
    max_id = *std::max_element(s.data, s.data + s.count);
  } else if constexpr (std::endian::native == std::endian::little) {
    // mmap'd data is page-aligned, so the file can be read as uint16 directly (and fast:
    // this scans the whole corpus once per start).
    const auto* t = reinterpret_cast<const std::uint16_t*>(s.data);
    max_id = *std::max_element(t, t + s.count);
  } else {
    for (std::int64_t i = 0; i < s.count; ++i) max_id = std::max(max_id, s.token(i));
  }
  if (max_id >= vocab)
    user_error("data '{}': token id {} does not fit model.vocab = {} (need vocab > every id{})",
               s.path, max_id, vocab, s.width == 1 ? "; byte-level text needs vocab 256" : "");
}

Split whole_file(const std::string& path, int width) {
  auto file = std::make_shared<const MappedFile>(path);
  if (width == 2 && file->size() % 2 != 0)
    user_error("data '{}': size {} is odd; expected uint16 tokens (nanoGPT .bin)", path, file->size());
  Split s;
  s.file = file;
  s.data = file->data();
  s.count = static_cast<std::int64_t>(file->size()) / width;
  s.width = width;
  s.path = path;
  return s;
}

}  // namespace

std::int64_t sample_offset(std::uint64_t seed, std::int64_t step, int micro_step, int row,
                           std::int64_t windows) {
  std::uint64_t h = splitmix64(seed);
  h = splitmix64(h ^ static_cast<std::uint64_t>(step));
  h = splitmix64(h ^ static_cast<std::uint64_t>(micro_step));
  h = splitmix64(h ^ static_cast<std::uint64_t>(row));
  // Modulo bias is below windows / 2^64: immaterial.
  return static_cast<std::int64_t>(h % static_cast<std::uint64_t>(windows));
}

Corpus Corpus::open(const DataConfig& cfg, int seq_len, int vocab) {
  if (seq_len < 1) user_error("model.seq_len must be >= 1 (got {})", seq_len);
  Corpus c;
  c.seq_len_ = seq_len;
  if (cfg.kind == "text") {
    if (!(cfg.val_fraction > 0 && cfg.val_fraction < 1))
      user_error("data.val_fraction must be in (0, 1) (got {})", cfg.val_fraction);
    Split all = whole_file(cfg.path, 1);
    const auto n_val = static_cast<std::int64_t>(std::llround(cfg.val_fraction * double(all.count)));
    c.train_ = all;
    c.train_.count = all.count - n_val;
    c.val_ = all;
    c.val_.data = all.data + c.train_.count;
    c.val_.count = n_val;
    c.byte_level_ = true;
  } else if (cfg.kind == "tokens") {
    const std::filesystem::path dir(cfg.path);
    if (!std::filesystem::is_directory(dir))
      user_error("data.path '{}' is not a directory (kind \"tokens\" expects train.bin and val.bin in it)",
                 cfg.path);
    c.train_ = whole_file((dir / "train.bin").string(), 2);
    c.val_ = whole_file((dir / "val.bin").string(), 2);
    c.byte_level_ = false;
  } else {
    user_error("data.kind: unknown '{}' (expected \"text\" or \"tokens\")", cfg.kind);
  }
  require_windows(c.train_, seq_len, "train");
  require_windows(c.val_, seq_len, "validation");
  require_vocab(c.train_, vocab);
  require_vocab(c.val_, vocab);
  return c;
}

Batch Corpus::gather(const Split& s, const std::int64_t* starts, int rows) const {
  const int T = seq_len_;
  auto x = torch::empty({rows, T}, torch::kInt64);
  auto y = torch::empty({rows, T}, torch::kInt64);
  auto* px = x.data_ptr<std::int64_t>();
  auto* py = y.data_ptr<std::int64_t>();
  for (int r = 0; r < rows; ++r) {
    const std::int64_t o = starts[r];
    std::int64_t* xr = px + std::int64_t(r) * T;
    std::int64_t* yr = py + std::int64_t(r) * T;
    if (s.width == 1) {
      const unsigned char* src = s.data + o;
      for (int t = 0; t < T; ++t) xr[t] = src[t];
      for (int t = 0; t < T; ++t) yr[t] = src[t + 1];
    } else {
      for (int t = 0; t < T; ++t) xr[t] = s.token(o + t);
      for (int t = 0; t < T; ++t) yr[t] = s.token(o + t + 1);
    }
  }
  return {x, y};
}

Batch Corpus::train_batch(std::uint64_t seed, std::int64_t step, int micro_step, int rows) const {
  std::vector<std::int64_t> starts(rows);
  const std::int64_t w = train_.windows(seq_len_);
  for (int r = 0; r < rows; ++r) starts[r] = sample_offset(seed, step, micro_step, r, w);
  return gather(train_, starts.data(), rows);
}

Batch Corpus::val_batch(int index, int batches, int rows) const {
  std::vector<std::int64_t> starts(rows);
  const std::int64_t last = val_.windows(seq_len_) - 1;  // largest valid start
  const std::int64_t n = std::int64_t(batches) * rows;
  for (int r = 0; r < rows; ++r) {
    const std::int64_t k = std::int64_t(index) * rows + r;
    starts[r] = n > 1 ? static_cast<std::int64_t>((static_cast<__int128>(k) * last) / (n - 1)) : 0;
  }
  return gather(val_, starts.data(), rows);
}

Batch Corpus::val_sequence_batch(std::int64_t first, int rows) const {
  if (first < 0 || rows < 0 || first + rows > val_sequences())
    throw std::out_of_range("Corpus::val_sequence_batch: rows past the validation split");
  std::vector<std::int64_t> starts(rows);
  for (int r = 0; r < rows; ++r) starts[r] = (first + r) * seq_len_;
  return gather(val_, starts.data(), rows);
}

}  // namespace scalelab::trainer
