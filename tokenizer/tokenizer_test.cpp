#include <doctest/doctest.h>
#include <sentencepiece_processor.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/error.h"
#include "tokenizer/spm.h"
#include "tokenizer/tokenizer.h"
#include "trainer/bpb.h"

namespace fs = std::filesystem;
using namespace scalelab;
using namespace scalelab::tokenizer;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void spit(const fs::path& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }

// A fresh folder holding corpus.txt: the project's own docs, real English with
// markup, tables and non-ASCII characters (≤, ×, μ): about 300 KB.
struct Fixture {
  fs::path dir;
  std::string text;
  Fixture() {
    char tmpl[] = "/tmp/scalelab-tok-test.XXXXXX";
    dir = ::mkdtemp(tmpl);
    for (const auto& e : fs::directory_iterator(fs::path(SCALELAB_SOURCE_DIR) / "docs"))
      if (e.path().extension() == ".md") text += slurp(e.path());
    spit(dir / "corpus.txt", text);
  }
  ~Fixture() { fs::remove_all(dir); }
  Options opts(const std::string& out, int vocab = 600) const {
    Options o;
    o.text = (dir / "corpus.txt").string();
    o.out = (dir / out).string();
    o.vocab = vocab;
    o.progress = false;
    return o;
  }
};

std::vector<int> ids_of(const fs::path& bin) {
  const auto b = slurp(bin);
  std::vector<int> ids(b.size() / 2);
  for (std::size_t i = 0; i < ids.size(); ++i)
    ids[i] = int(static_cast<unsigned char>(b[2 * i])) | int(static_cast<unsigned char>(b[2 * i + 1])) << 8;
  return ids;
}

}  // namespace

TEST_CASE("sha256 matches the FIPS 180-4 test vectors") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(sha256_hex(std::string(1000000, 'a')) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("the validation split starts at a line boundary near 1 - val_fraction") {
  const std::string t = "aaaa\nbbbb\ncccc\ndddd\n";  // 20 bytes, lines start at 0, 5, 10, 15
  CHECK(split_point(t, 0.25) == 15);  // target 15 is a line start
  CHECK(split_point(t, 0.3) == 15);   // target 14: the next line start
  CHECK(split_point(t, 0.1) == 15);   // target 18: no later line start but the end; the one before
  CHECK(split_point("no newline at all", 0.1) == std::string("no newline at all").size());
  CHECK(split_point("one\ntwo", 0.5) == 4);
}

TEST_CASE("tokenize writes a lossless, deterministic tokens directory that read_tokens_meta reads") {
  Fixture f;
  const auto r = tokenize(f.opts("a"));
  CHECK_FALSE(r.up_to_date);
  const fs::path a = f.dir / "a";
  for (auto name : {"train.bin", "val.bin", "tokenizer.model", "meta.json"}) CHECK(fs::is_regular_file(a / name));
  CHECK_FALSE(fs::exists(f.dir / ("a.tmp-" + std::to_string(::getpid()))));

  const auto meta = trainer::read_tokens_meta(a.string());
  REQUIRE(meta);
  CHECK(meta->format == "scalelab-tokens-1");
  CHECK(meta->model_type == "bpe");
  CHECK(meta->vocab == 600);
  CHECK(meta->sha256 == sha256_hex(slurp(a / "tokenizer.model")));
  CHECK(meta->source_sha256 == sha256_hex(f.text));
  CHECK(meta->train.bytes + meta->val.bytes == double(f.text.size()));
  CHECK(meta->train.tokens * 2 == double(fs::file_size(a / "train.bin")));
  CHECK(meta->val.bytes_per_token > 1.5);
  CHECK(meta->val.bytes / f.text.size() == doctest::Approx(0.01).epsilon(0.5));

  // The ids decode to exactly the text of their split, newlines and all.
  sentencepiece::SentencePieceProcessor sp;
  REQUIRE(sp.Load((a / "tokenizer.model").string()).ok());
  CHECK(sp.GetPieceSize() == 600);
  std::string train, val;
  REQUIRE(sp.Decode(ids_of(a / "train.bin"), &train).ok());
  REQUIRE(sp.Decode(ids_of(a / "val.bin"), &val).ok());
  CHECK(train + val == f.text);
  CHECK(val == f.text.substr(f.text.size() - std::size_t(meta->val.bytes)));

  // Same seed, fresh folder, another thread count for encoding: byte-identical.
  auto o = f.opts("b");
  o.encode_threads = 3;
  tokenize(o);
  for (auto name : {"train.bin", "val.bin", "tokenizer.model"})
    CHECK(slurp(a / name) == slurp(f.dir / "b" / name));
  // meta.json differs only if the paths did; they do not.
  CHECK(slurp(a / "meta.json") == slurp(f.dir / "b" / "meta.json"));
}

TEST_CASE("an --out already holding this tokenization is up to date; another one is refused unless --force") {
  Fixture f;
  tokenize(f.opts("a"));
  const auto before = fs::last_write_time(f.dir / "a" / "train.bin");
  CHECK(tokenize(f.opts("a")).up_to_date);
  CHECK(fs::last_write_time(f.dir / "a" / "train.bin") == before);

  CHECK_THROWS_WITH_AS(tokenize(f.opts("a", 700)), doctest::Contains("holds another tokenization"), UserError);
  auto forced = f.opts("a", 700);
  forced.force = true;
  CHECK_FALSE(tokenize(forced).up_to_date);
  CHECK(trainer::read_tokens_meta((f.dir / "a").string())->vocab == 700);

  // A folder with train.bin and no meta.json is someone else's.
  fs::create_directory(f.dir / "c");
  spit(f.dir / "c" / "train.bin", "xx");
  CHECK_THROWS_WITH_AS(tokenize(f.opts("c")), doctest::Contains("no meta.json"), UserError);
}

TEST_CASE("--model reuses a tokenizer: same ids, and its sha256 is the identity") {
  Fixture f;
  tokenize(f.opts("a"));
  auto o = f.opts("m", 0);
  o.model = (f.dir / "a" / "tokenizer.model").string();
  const auto r = tokenize(o);
  CHECK(r.vocab == 600);
  CHECK(r.model_type == "bpe");
  CHECK(slurp(f.dir / "a" / "train.bin") == slurp(f.dir / "m" / "train.bin"));
  CHECK(slurp(f.dir / "a" / "tokenizer.model") == slurp(f.dir / "m" / "tokenizer.model"));

  o.vocab = 512;
  CHECK_THROWS_WITH_AS(tokenize(o), doctest::Contains("holds 600 pieces"), UserError);
  o.vocab = 0;
  o.model_type = "unigram";
  CHECK_THROWS_WITH_AS(tokenize(o), doctest::Contains("is a bpe model"), UserError);
}

TEST_CASE("unigram models train too, and the wire-format reader names them") {
  Fixture f;
  auto o = f.opts("u", 800);
  o.model_type = "unigram";
  const auto r = tokenize(o);
  CHECK(detail::model_type_of(slurp(f.dir / "u" / "tokenizer.model")) == "unigram");
  CHECK(r.val.bytes_per_token > 1.5);
}

TEST_CASE("bad input is a UserError and writes nothing") {
  Fixture f;
  auto expect = [&](Options o, const std::string& msg) {
    CHECK_THROWS_WITH_AS(tokenize(o), doctest::Contains(msg.c_str()), UserError);
    CHECK_FALSE(fs::exists(o.out));
    for (const auto& e : fs::directory_iterator(f.dir)) CHECK(e.path().filename().string().find(".tmp-") == std::string::npos);
  };
  expect(f.opts("o", 100), "expected an integer in [259, 65535]");
  expect(f.opts("o", 70000), "expected an integer in [259, 65535]");
  expect(f.opts("o", 260), "too small for the characters");
  expect(f.opts("o", 60000), "too large for");
  auto o = f.opts("o");
  o.model_type = "word";
  expect(o, "--model-type word: expected bpe or unigram");
  o = f.opts("o", 0);
  expect(o, "--vocab is required");
  spit(f.dir / "garbage.model", "\x01\x02garbage bytes that are no protobuf\xff");
  spit(f.dir / "empty.model", "");
  for (auto [file, msg] : {std::pair{"garbage.model", "not a SentencePiece model"},
                           std::pair{"empty.model", "an empty file"}, std::pair{".", "not a file"}}) {
    o = f.opts("o", 0);
    o.model = (f.dir / file).string();
    expect(o, msg);
  }
  o = f.opts("o");
  o.text = (f.dir / "missing.txt").string();
  expect(o, "no such file");
  o.text = f.dir.string();
  expect(o, "a directory");
  spit(f.dir / "empty.txt", "");
  o.text = (f.dir / "empty.txt").string();
  expect(o, "an empty file");
  o = f.opts("o");
  o.val_fraction = 1;
  expect(o, "--val-fraction 1: expected a number in (0, 1)");
}
