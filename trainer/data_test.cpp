#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include <fmt/format.h>
#include <unistd.h>

#include "common/error.h"
#include "trainer/data.h"

using namespace scalelab::trainer;
namespace fs = std::filesystem;

namespace {

fs::path temp_dir(const char* name) {
  fs::path d = fs::temp_directory_path() / fmt::format("scalelab-data-test-{}-{}", name, ::getpid());
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

void write_bytes(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary) << bytes;
}

void write_u16(const fs::path& p, const std::vector<std::uint16_t>& v) {
  std::ofstream f(p, std::ios::binary);
  for (auto t : v) {
    const char b[2] = {static_cast<char>(t & 0xff), static_cast<char>(t >> 8)};
    f.write(b, 2);
  }
}

// 9000 train bytes in [0, 128), 1000 validation bytes in [128, 256): any token
// tells which split it came from.
std::string two_region_text() {
  std::mt19937 rng(3);
  std::string s(10000, '\0');
  for (int i = 0; i < 10000; ++i) s[i] = static_cast<char>(i < 9000 ? rng() % 128 : 128 + rng() % 128);
  return s;
}

DataConfig text_cfg(const fs::path& p, double val = 0.1) {
  DataConfig c;
  c.kind = "text";
  c.path = p.string();
  c.val_fraction = val;
  return c;
}

}  // namespace

TEST_CASE("text: validation is the tail of the file and samples never cross into it") {
  const auto dir = temp_dir("split");
  write_bytes(dir / "c.txt", two_region_text());
  const Corpus c = Corpus::open(text_cfg(dir / "c.txt"), 32, 256);
  CHECK(c.byte_level());
  CHECK(c.train().count == 9000);
  CHECK(c.val().count == 1000);
  CHECK(c.val().data == c.train().data + c.train().count);
  RunSpec spec;
  spec.data = text_cfg(dir / "c.txt");
  CHECK(unique_train_tokens(spec) == double(c.train().count));  // what the planner sees
  spec.data.val_fraction = 0.12345;  // a fractional byte count: both round it the same way
  CHECK(unique_train_tokens(spec) == double(Corpus::open(spec.data, 32, 256).train().count));
  spec.data.path = (dir / "missing.txt").string();
  CHECK_FALSE(unique_train_tokens(spec));
  std::int64_t max_start = 0;
  for (int step = 0; step < 300; ++step) {
    Batch b = c.train_batch(1, step, 0, 8);
    CHECK(b.x.max().item<std::int64_t>() < 128);
    CHECK(b.y.max().item<std::int64_t>() < 128);
    for (int r = 0; r < 8; ++r) max_start = std::max(max_start, sample_offset(1, step, 0, r, c.train().windows(32)));
  }
  CHECK(max_start <= 9000 - 33);
  CHECK(max_start > 9000 - 33 - 200);  // the sampler reaches the end of the train split
  for (int i = 0; i < 4; ++i) {
    Batch v = c.val_batch(i, 4, 8);
    CHECK(v.x.min().item<std::int64_t>() >= 128);
    CHECK(v.y.min().item<std::int64_t>() >= 128);
  }
}

TEST_CASE("batches are a pure function of (seed, step, micro_step); y is x shifted") {
  const auto dir = temp_dir("det");
  write_bytes(dir / "c.txt", two_region_text());
  const Corpus a = Corpus::open(text_cfg(dir / "c.txt"), 16, 256);
  const Corpus b = Corpus::open(text_cfg(dir / "c.txt"), 16, 256);
  Batch x1 = a.train_batch(7, 42, 1, 4), x2 = b.train_batch(7, 42, 1, 4);
  CHECK(torch::equal(x1.x, x2.x));
  CHECK(torch::equal(x1.y, x2.y));
  CHECK(torch::equal(x1.x.slice(1, 1, 16), x1.y.slice(1, 0, 15)));
  CHECK(!torch::equal(x1.x, a.train_batch(7, 43, 1, 4).x));
  CHECK(!torch::equal(x1.x, a.train_batch(7, 42, 0, 4).x));
  CHECK(!torch::equal(x1.x, a.train_batch(8, 42, 1, 4).x));
  // Fixed validation batches: identical every time, evenly spread from the first
  // window to the last.
  CHECK(torch::equal(a.val_batch(2, 3, 4).x, b.val_batch(2, 3, 4).x));
  Batch first = a.val_batch(0, 3, 4), last = a.val_batch(2, 3, 4);
  const unsigned char* v = a.val().data;
  CHECK(first.x[0][0].item<std::int64_t>() == v[0]);
  CHECK(last.y[3][15].item<std::int64_t>() == v[a.val().count - 1]);
}

TEST_CASE("tokens: nanoGPT uint16 train.bin / val.bin") {
  const auto dir = temp_dir("tok");
  std::vector<std::uint16_t> train(500), val(100);
  for (std::size_t i = 0; i < train.size(); ++i) train[i] = static_cast<std::uint16_t>(i * 7 % 1000);
  for (std::size_t i = 0; i < val.size(); ++i) val[i] = static_cast<std::uint16_t>(300 + i);
  write_u16(dir / "train.bin", train);
  write_u16(dir / "val.bin", val);
  DataConfig cfg;
  cfg.kind = "tokens";
  cfg.path = dir.string();
  const Corpus c = Corpus::open(cfg, 8, 1000);
  CHECK(!c.byte_level());
  CHECK(c.train().count == 500);
  CHECK(c.val().count == 100);
  RunSpec spec;
  spec.data = cfg;
  CHECK(unique_train_tokens(spec) == 500.0);
  for (std::int64_t i = 0; i < 500; ++i) REQUIRE(c.train().token(i) == train[i]);
  Batch v = c.val_batch(0, 1, 2);
  for (int t = 0; t < 8; ++t) CHECK(v.x[0][t].item<std::int64_t>() == 300 + t);
  // Ids must fit the model's vocabulary.
  try {
    Corpus::open(cfg, 8, 500);
    FAIL("expected UserError");
  } catch (const scalelab::UserError& e) {
    CHECK(std::string(e.what()).find("train.bin") != std::string::npos);
    CHECK(std::string(e.what()).find("500") != std::string::npos);
  }
  write_bytes(dir / "val.bin", "abc");
  CHECK_THROWS_AS(Corpus::open(cfg, 8, 1000), scalelab::UserError);  // odd size
  fs::remove(dir / "val.bin");
  CHECK_THROWS_AS(Corpus::open(cfg, 8, 1000), scalelab::UserError);  // missing
}

TEST_CASE("bad data is a UserError naming the file") {
  const auto dir = temp_dir("err");
  auto message = [](auto&& f) {
    try {
      f();
    } catch (const scalelab::UserError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string missing = (dir / "nope.txt").string();
  CHECK(message([&] { Corpus::open(text_cfg(missing), 8, 256); }).find(missing) != std::string::npos);
  write_bytes(dir / "short.txt", std::string(100, 'a'));  // 10 validation bytes < seq_len + 1
  const std::string m = message([&] { Corpus::open(text_cfg(dir / "short.txt"), 16, 256); });
  CHECK(m.find("short.txt") != std::string::npos);
  CHECK(m.find("17") != std::string::npos);
  CHECK_THROWS_AS(Corpus::open(text_cfg(dir / "short.txt", 1.5), 4, 256), scalelab::UserError);
  DataConfig bad;
  bad.kind = "parquet";
  bad.path = missing;
  CHECK_THROWS_AS(Corpus::open(bad, 4, 256), scalelab::UserError);
}

TEST_CASE("unigram_entropy_nats") {
  const auto dir = temp_dir("ent");
  write_bytes(dir / "ab.txt", "abababab");
  write_bytes(dir / "a.txt", "aaaa");
  write_bytes(dir / "abcd.txt", "abcdabcd");
  CHECK(unigram_entropy_nats((dir / "ab.txt").string()) == doctest::Approx(std::log(2.0)));
  CHECK(unigram_entropy_nats((dir / "a.txt").string()) == doctest::Approx(0.0));
  CHECK(unigram_entropy_nats((dir / "abcd.txt").string()) == doctest::Approx(std::log(4.0)));
  CHECK_THROWS_AS(unigram_entropy_nats((dir / "none.txt").string()), scalelab::UserError);
}
