#pragma once
// Temporary config files for the sweep tests: a fresh directory per test, removed
// afterwards, with a small corpus so configs pass the data check.
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include <doctest/doctest.h>

#include "common/error.h"
#include "sweep/run_config.h"

namespace scalelab::sweep::testing {

class Dir {
 public:
  Dir() {
    std::random_device rd;
    dir_ = std::filesystem::temp_directory_path() / ("scalelab-sweep-test-" + std::to_string(rd()));
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "corpus.txt") << "In the beginning God created the heaven and the earth.\n";
  }
  ~Dir() { std::filesystem::remove_all(dir_); }
  Dir(const Dir&) = delete;
  Dir& operator=(const Dir&) = delete;

  std::string dir() const { return dir_.string(); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::string corpus() const { return path("corpus.txt"); }

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

// The one-line message of a run config (named cfg.toml) that must be rejected;
// the test fails if it is accepted.
inline std::string run_config_error(const std::string& text) {
  try {
    parse_run_config(text, "cfg.toml");
  } catch (const UserError& e) {
    return e.what();
  }
  FAIL("config was accepted: " << text);
  return "";
}

}  // namespace scalelab::sweep::testing
