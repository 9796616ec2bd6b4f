#include "sweep/run_config.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "sweep/test_files.h"

using namespace scalelab;
using scalelab::sweep::testing::run_config_error;
namespace fs = std::filesystem;

namespace {

// A corpus file that exists, so configs pass the data check.
std::string corpus() {
  static std::string path = [] {
    auto p = fs::temp_directory_path() / "scalelab-run-config-test.txt";
    std::ofstream(p) << "In the beginning God created the heaven and the earth.\n";
    return p.string();
  }();
  return path;
}

std::string good(const std::string& extra_model = "", const std::string& extra_train = "") {
  return "name = \"t\"\n[data]\nkind = \"text\"\npath = \"" + corpus() +
         "\"\n[model]\nn_layer = 2\nd_model = 64\nn_head = 2\nseq_len = 64\n" + extra_model +
         "[train]\ntokens = 1e5\nbatch_tokens = 1024\n" + extra_train;
}

std::string replaced(std::string s, const std::string& from, const std::string& to) {
  auto at = s.find(from);
  REQUIRE(at != std::string::npos);
  return s.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("a valid config resolves to a stable identity") {
  auto rc = sweep::parse_run_config(good(), "cfg.toml");
  CHECK(rc.spec.model.n_layer == 2);
  CHECK(rc.spec.tokens == 1e5);
  auto again = sweep::parse_run_config(sweep::canonical_toml(rc), "canonical");
  CHECK(sweep::canonical_toml(again) == sweep::canonical_toml(rc));
  CHECK(sweep::run_id(again) == sweep::run_id(rc));
  // The name is cosmetic; the seed is part of the identity.
  auto renamed = sweep::parse_run_config("name = \"other\"\n" + good().substr(good().find('\n') + 1), "x");
  CHECK(sweep::run_id(renamed) == sweep::run_id(rc));
  auto reseeded = sweep::parse_run_config(good("", "seed = 7\n"), "x");
  CHECK(sweep::run_id(reseeded) != sweep::run_id(rc));
}

TEST_CASE("a params target goes through the shape rule") {
  auto text = "[data]\npath = \"" + corpus() + "\"\n[model]\nparams = 1e6\nseq_len = 128\n[train]\ntokens = 1e6\n";
  auto rc = sweep::parse_run_config(text, "cfg.toml");
  CHECK(rc.spec.model.d_model % rc.spec.model.n_head == 0);
  auto rec = sweep::run_record(rc);
  CHECK(rec.params_non_embedding > 3e5);
  CHECK(rec.params_non_embedding < 3e6);
  CHECK(rec.planned_tokens > 0);
}

TEST_CASE("bad run configs get one-line errors naming file, line and key") {
  struct Case {
    std::string text, want;
  };
  std::vector<Case> cases = {
      {"[data\n", "cfg.toml:1: invalid TOML"},
      {good("n_hed = 2\n"), "cfg.toml:10: model.n_hed: unknown key (did you mean 'n_head'?)"},
      {good() + "bogus = 1\n", "train.bogus: unknown key"},
      {"[model]\nn_layer=1\nd_model=8\nn_head=1\n[train]\ntokens=1e5\n", "cfg.toml: data: missing table"},
      {"[data]\npath = \"/nonexistent/corpus.txt\"\n[model]\nparams=1e5\n[train]\ntokens=1e5\n",
       "cfg.toml:2: data.path: no such file /nonexistent/corpus.txt"},
      {"[data]\nkind = \"words\"\npath = \"x\"\n", "cfg.toml:2: data.kind: expected one of \"text\", \"tokens\""},
      {replaced(good(), "n_head = 2", "n_head = 3"), "cfg.toml:8: model.n_head: d_model (64) must be divisible by n_head (3)"},
      {replaced(good(), "tokens = 1e5", "tokens = -5"), "cfg.toml:11: train.tokens: expected a positive number, got -5"},
      {replaced(good(), "tokens = 1e5", "tokens = 0"), "train.tokens: expected a positive number, got 0"},
      {replaced(good(), "n_layer = 2", "n_layer = 0"), "cfg.toml:6: model.n_layer: expected a positive integer, got 0"},
      {replaced(good(), "d_model = 64", "d_model = \"wide\""), "model.d_model: expected an integer, got the string \"wide\""},
      {replaced(good(), "batch_tokens = 1024", "batch_tokens = 1000"), "train.batch_tokens: must be a multiple of model.seq_len (64)"},
      {good("", "lr = 0\n"), "train.lr: expected a positive number, got 0"},
      {good("", "schedule = \"linear\"\n"), "train.schedule: expected one of \"cosine\", \"wsd\", \"constant\""},
      {good("params = 1e6\n"), "model.params: give either params"},
      {good("", "beta2 = 1.5\n"), "train.beta2: expected a number in [0, 0.999999], got 1.5"},
      {replaced(good(), "tokens = 1e5", "tokens = 100"), "train.tokens: budget 100 is less than one batch"},
      {good() + "[flops]\nconvention = \"7N\"\n", "flops.convention:"},
      {good("vocab = 100\n"), "model.vocab: byte-level text needs vocab >= 256"},
  };
  for (auto& c : cases) {
    CAPTURE(c.text);
    auto msg = run_config_error(c.text);
    CHECK_MESSAGE(msg.find(c.want) != std::string::npos, msg);
    CHECK(msg.find('\n') == std::string::npos);
  }
}
