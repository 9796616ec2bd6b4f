// A damaged checkpoint is bad input (one line, UserError), never a crash: the
// files fuzz/fuzz_checkpoint.cpp found crashing LibTorch 1.13's loader, a
// truncated file and a flipped byte.
#include "trainer/checkpoint.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "common/error.h"
#include "trainer/data.h"
#include "trainer/engine.h"
#include "trainer/test_util.h"
#include "trainer/zip_check.h"

using namespace scalelab;
using namespace scalelab::trainer;
namespace fs = std::filesystem;

namespace {

std::string bytes_of(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

void write(const fs::path& p, const std::string& b) { std::ofstream(p, std::ios::binary) << b; }

std::string load_error(const fs::path& dir, Engine& e, std::int64_t total) {
  try {
    load_checkpoint(dir.string(), e, total);
  } catch (const UserError& err) {
    return err.what();
  }
  return "";
}

}  // namespace

TEST_CASE("damaged checkpoints are refused in one line, the fuzzer's crashers included") {
  RunSpec s = testing::phrase_spec();
  s.tokens = 8 * 256;
  auto corpus = std::make_shared<const Corpus>(Corpus::open(s.data, s.model.seq_len, s.model.vocab));
  Engine e(s, corpus, torch::kCPU);
  const auto dir = testing::temp_dir("checkpoint", "damaged");
  const std::int64_t total = total_steps(s);
  (void)e.step(0, 1e-3);
  save_checkpoint(dir.string(), e, {1, 256, 0.1}, total);
  const fs::path ckpt = checkpoint_path(dir.string());
  CHECK(!zip_damage(ckpt.string()));
  REQUIRE(load_checkpoint(dir.string(), e, total));
  const std::string good = bytes_of(ckpt);

  write(ckpt, good.substr(0, good.size() / 2));
  auto err = load_error(dir, e, total);
  CHECK(err.find("is damaged (no zip directory") != std::string::npos);
  CHECK(err.find('\n') == std::string::npos);

  std::string flipped = good;
  flipped[good.size() / 3] ^= 0x5a;  // inside some stored entry
  write(ckpt, flipped);
  CHECK(load_error(dir, e, total).find("checkpoint '") == 0);

  const fs::path repros = fs::path(__FILE__).parent_path().parent_path() / "fuzz/corpus/checkpoint";
  int seen = 0;
  for (auto& f : fs::directory_iterator(repros)) {
    if (f.path().filename().string().rfind("crash-repro-", 0) != 0) continue;
    ++seen;
    fs::copy_file(f.path(), ckpt, fs::copy_options::overwrite_existing);
    err = load_error(dir, e, total);
    INFO(f.path().filename().string(), ": ", err);
    CHECK(err.find("checkpoint '") == 0);
    CHECK(err.find('\n') == std::string::npos);
    CHECK_THROWS_AS(load_fork_checkpoint(ckpt.string(), e), UserError);
  }
  CHECK(seen >= 4);
  fs::remove_all(dir);
}
