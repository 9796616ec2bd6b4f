#pragma once
// Fixtures for the sweep tests: a fresh directory per test, removed afterwards,
// with a small corpus so configs pass the data check; the tiny configs and store
// rows the tests start from; and the UserError a bad input must raise.
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>

#include <doctest/doctest.h>

#include "common/error.h"
#include "store/store.h"
#include "store/test_util.h"
#include "sweep/run_config.h"

namespace scalelab::sweep::testing {

class Dir {
 public:
  Dir() {
    std::random_device rd;
    dir_ = std::filesystem::temp_directory_path() / ("scalelab-sweep-test-" + std::to_string(rd()));
    std::filesystem::create_directories(dir_);
    // 11 kB: both splits of a 1% validation fraction hold a 64-byte sequence.
    std::ofstream corpus(dir_ / "corpus.txt");
    for (int i = 0; i < 200; ++i) corpus << "In the beginning God created the heaven and the earth.\n";
  }
  ~Dir() { std::filesystem::remove_all(dir_); }
  Dir(const Dir&) = delete;
  Dir& operator=(const Dir&) = delete;

  std::string dir() const { return dir_.string(); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::string corpus() const { return path("corpus.txt"); }
  // The database a test uses; nothing creates it but open_store().
  std::string db() const { return path("s.db"); }
  std::unique_ptr<store::Store> open_store() const { return store::Store::open(db()); }

  // Writes `text` with every "CORPUS" replaced by the corpus path; returns the path.
  std::string write(const std::string& name, std::string text) const {
    for (auto at = text.find("CORPUS"); at != std::string::npos; at = text.find("CORPUS"))
      text.replace(at, 6, corpus());
    std::ofstream(dir_ / name) << text;
    return path(name);
  }

 private:
  std::filesystem::path dir_;
};

// A grid sweep named "grid" of tiny models (seq_len 32, 512-token steps) over
// the corpus; `axes` is the body of its [axes] table, and any tables after it.
inline std::string tiny_grid(const std::string& axes) {
  return R"(name = "grid"
[data]
path = "CORPUS"
[model]
seq_len = 32
head_dim = 16
aspect_ratio = 16
[train]
batch_tokens = 512
[axes]
)" + axes;
}

// A run config named "t": a two-layer model trained on 1e5 tokens of the corpus.
inline std::string tiny_run() {
  return "name = \"t\"\n[data]\npath = \"CORPUS\"\n"
         "[model]\nn_layer = 2\nd_model = 64\nn_head = 2\nseq_len = 64\n"
         "[train]\ntokens = 1e5\nbatch_tokens = 1024\n";
}

// The store row of a pending run `id` of sweep "s", named s/<id>: store's test
// run, planned for `tokens` tokens at 1e4 FLOPs a token.
inline store::Run stored_run(const std::string& id, double tokens = 1e5) {
  auto r = store::testing::make_run(id);
  r.name = "s/" + id;
  r.flops_per_token = 1e4;
  r.planned_tokens = tokens;
  return r;
}

// The message of the UserError that `f()` must throw; the test fails with
// `accepted` if it returns.
template <class F>
std::string user_error_of(F&& f, const std::string& accepted) {
  try {
    f();
  } catch (const UserError& e) {
    return e.what();
  }
  FAIL(accepted);
  return "";
}

// The one-line message of a run config (named cfg.toml) that must be rejected;
// the test fails if it is accepted.
inline std::string run_config_error(const std::string& text) {
  return user_error_of([&] { parse_run_config(text, "cfg.toml"); }, "config was accepted: " + text);
}

}  // namespace scalelab::sweep::testing
