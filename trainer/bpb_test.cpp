#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <string>

#include "common/error.h"
#include "trainer/bpb.h"
#include "trainer/test_util.h"

using namespace scalelab::trainer;
namespace fs = std::filesystem;

namespace {

const char* kGoodMeta = R"({"format": "scalelab-tokens-1",
 "tokenizer": {"kind": "sentencepiece", "model_type": "bpe", "vocab": 4096,
   "sha256": "ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12", "file": "tokenizer.model"},
 "dtype": "uint16", "seed": 1, "val_fraction": 0.01,
 "source": {"path": "/abs/path/kjv.txt", "bytes": 4332554, "sha256": "cd34"},
 "splits": {"train": {"tokens": 1000, "bytes": 3474, "bytes_per_token": 3.474},
            "val":   {"tokens": 100,   "bytes": 350,   "bytes_per_token": 3.5}}})";

fs::path dir_with_meta(const char* name, const std::string& text) {
  auto d = testing::temp_dir("bpb", name);
  std::ofstream(d / "meta.json") << text;
  return d;
}

// The message read_tokens_meta throws for a meta.json, or "" when it reads.
std::string error_of(const std::string& text) {
  const auto d = dir_with_meta("bad", text);
  try {
    read_tokens_meta(d.string());
  } catch (const scalelab::UserError& e) {
    return e.what();
  }
  return "";
}

std::string replaced(std::string s, const std::string& from, const std::string& to) {
  const auto at = s.find(from);
  REQUIRE(at != std::string::npos);
  return s.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("bits per byte: nats over ln 2 and bytes per token") {
  // Byte-level data: one byte per token, so bpb = nats / ln 2 (ln 256 nats = 8 bits).
  CHECK(bits_per_byte(std::log(256.0), 1.0) == doctest::Approx(8.0));
  CHECK(bits_per_byte(1.0, 1.0) == doctest::Approx(1.0 / std::log(2.0)));
  // A token of 4 bytes spreads its loss over 4 bytes.
  CHECK(bits_per_byte(4.0 * std::log(2.0), 4.0) == doctest::Approx(1.0));
  CHECK(bits_per_byte(2.0, 3.5) == doctest::Approx(2.0 / (std::log(2.0) * 3.5)));
}

TEST_CASE("read_tokens_meta: a directory without meta.json has none") {
  const auto d = testing::temp_dir("bpb", "none");
  CHECK_FALSE(read_tokens_meta(d.string()).has_value());
}

TEST_CASE("read_tokens_meta: reads every key") {
  const auto d = dir_with_meta("good", kGoodMeta);
  const auto m = read_tokens_meta(d.string());
  REQUIRE(m.has_value());
  CHECK(m->format == "scalelab-tokens-1");
  CHECK(m->tokenizer_kind == "sentencepiece");
  CHECK(m->model_type == "bpe");
  CHECK(m->vocab == 4096);
  CHECK(m->sha256.substr(0, 4) == "ab12");
  CHECK(m->file == "tokenizer.model");
  CHECK(m->seed == 1);
  CHECK(m->val_fraction == doctest::Approx(0.01));
  CHECK(m->source_path == "/abs/path/kjv.txt");
  CHECK(m->source_bytes == 4332554);
  CHECK(m->source_sha256 == "cd34");
  CHECK(m->train.tokens == 1000);
  CHECK(m->train.bytes_per_token == doctest::Approx(3.474));
  CHECK(m->val.bytes == 350);
  CHECK(m->val.bytes_per_token == doctest::Approx(3.5));
  // More keys may be added to the format; a reader ignores them.
  CHECK(error_of(replaced(kGoodMeta, R"("dtype")", R"("extra": [1], "dtype")")).empty());
}

TEST_CASE("read_tokens_meta: a malformed file names the file and the key") {
  const std::string meta = "/meta.json: ";
  CHECK(error_of("{not json").find(meta + "expected JSON") != std::string::npos);
  CHECK(error_of("[1]").find(meta + "expected a JSON object") != std::string::npos);
  CHECK(error_of(replaced(kGoodMeta, "scalelab-tokens-1", "scalelab-tokens-9")).find(meta + "format: expected") !=
        std::string::npos);
  CHECK(error_of(replaced(kGoodMeta, R"("vocab": 4096)", R"("vocab": "4096")")).find(meta + "tokenizer.vocab: expected a number") !=
        std::string::npos);
  CHECK(error_of(replaced(kGoodMeta, R"("vocab": 4096)", R"("vocab": 70000)")).find(meta + "tokenizer.vocab: expected an integer") !=
        std::string::npos);
  CHECK(error_of(replaced(kGoodMeta, R"("sha256": "ab12)", R"("sha256": "zz12)")).find(meta + "tokenizer.sha256: expected 64") !=
        std::string::npos);
  CHECK(error_of(replaced(kGoodMeta, R"("dtype": "uint16")", R"("dtype": "uint32")")).find(meta + "dtype: expected") !=
        std::string::npos);
  CHECK(error_of(replaced(kGoodMeta, R"("val":   {"tokens": 100,)", R"("val": {)")).find(meta + "splits.val.tokens: expected a value") !=
        std::string::npos);
  CHECK(error_of(replaced(kGoodMeta, R"("bytes_per_token": 3.5)", R"("bytes_per_token": 0)")).find(meta + "splits.val.bytes_per_token: expected a positive") !=
        std::string::npos);
  CHECK(error_of(replaced(kGoodMeta, R"("bytes_per_token": 3.5)", R"("bytes_per_token": 7)")).find(meta + "splits.val.bytes_per_token: expected bytes / tokens") !=
        std::string::npos);
  CHECK(error_of(replaced(kGoodMeta, R"("source": {)", R"("source": 3, "x": {)")).find(meta + "source: expected an object") !=
        std::string::npos);
}
