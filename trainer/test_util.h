#pragma once
// Helpers shared by the trainer's tests.
#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

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

// Keeps every metric row a run logs, in memory, and how many there were at each flush.
struct RowCapture : MetricSink {
  std::vector<MetricRow> rows;
  std::vector<std::size_t> rows_at_flush;
  void log(const MetricRow& r) override { rows.push_back(r); }
  void flush() override { rows_at_flush.push_back(rows.size()); }
};

// Silent, single-threaded training into `dir`: deterministic and quiet under ctest.
inline TrainOptions quiet(const std::filesystem::path& dir) {
  TrainOptions o;
  o.run_dir = dir.string();
  o.progress = Progress::Quiet;
  o.threads = 1;
  return o;
}

// Structured text a one-layer model learns quickly: short repeated phrases
// (about 33 kB), written once per process.
inline std::string phrase_corpus() {
  namespace fs = std::filesystem;
  static const fs::path path = [] {
    fs::path p = temp_dir("phrases", "corpus") / "corpus.txt";
    std::ofstream f(p, std::ios::binary);
    const char* words[] = {"the cat sat on the mat. ", "a dog ran to the park. ",
                           "we like small models. ", "scaling laws are fun. "};
    unsigned x = 12345;
    for (int i = 0; i < 1500; ++i) {
      x = x * 1103515245u + 12345u;
      f << words[(x >> 16) % 4];
    }
    return p;
  }();
  return path.string();
}

// A one-layer byte-level model on phrase_corpus(), 256-token steps of two
// micro-batches of 4 x 32; each suite sets its budget and eval cadence.
inline RunSpec phrase_spec() {
  RunSpec s;
  s.model.n_layer = 1;
  s.model.d_model = 32;
  s.model.n_head = 2;
  s.model.seq_len = 32;
  s.model.vocab = 256;
  s.data.path = phrase_corpus();
  s.data.val_fraction = 0.1;
  s.optim.lr = 3e-3;
  s.batch_tokens = 256;
  s.micro_batch = 4;
  return s;
}

}  // namespace scalelab::trainer::testing
