#pragma once
// Helpers shared by the trainer's tests.
#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "trainer/trainer.h"

namespace scalelab::trainer::testing {

// An empty scratch directory named for the suite, the case and this process.
inline std::filesystem::path temp_dir(const std::string& suite, const std::string& name) {
  namespace fs = std::filesystem;
  fs::path d = fs::temp_directory_path() / fmt::format("scalelab-{}-test-{}-{}", suite, name, ::getpid());
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// Silent, single-threaded training into `dir`: deterministic and quiet under ctest.
inline TrainOptions quiet(const std::filesystem::path& dir) {
  TrainOptions o;
  o.run_dir = dir.string();
  o.progress = Progress::Quiet;
  o.threads = 1;
  return o;
}

}  // namespace scalelab::trainer::testing
