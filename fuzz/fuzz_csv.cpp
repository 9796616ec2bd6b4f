// Fuzzes the CSV reader of `scalelab fit --csv`, fit::dataset_from_csv (the RFC
// 4180 splitter, column lookup, number parsing, --drop-highest). Any file must give
// points or throw UserError. The first input byte picks the column set and
// drop_highest (as the --*-col and --drop-highest flags would); the rest is the
// file, written to one fixed path per process. The seeds in fuzz/corpus/csv/ start
// with that byte.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/error.h"
#include "fit/dataset.h"

namespace fs = std::filesystem;

static fs::path dir;  // /tmp/scalelab-fuzz-PID/csv

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  dir = fs::temp_directory_path() / ("scalelab-fuzz-" + std::to_string(::getpid())) / "csv";
  fs::create_directories(dir);
  std::atexit([] { fs::remove_all(dir.parent_path()); });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // n, c, d, loss, unique, epochs, se: what cmd_fit.cpp passes from its flags.
  static const scalelab::fit::CsvColumns sets[] = {
      {"N", "C", "", "loss"},
      {"N", "", "D", "loss"},
      {"N", "C", "D", "loss"},
      {"N", "", "D", "loss", "U"},
      {"N", "", "D", "loss", "", "epochs"},
      {"N", "C", "", "loss", "", "", "se"},
      {"Model Size", "Training FLOP", "", "loss"},  // tests/data/svg_extracted_data.csv
      {"num_params", "", "token_num", "openLM_loss", "", "epochs"},  // tests/data/datablations_*
  };
  const std::uint8_t sel = data[0];
  const fs::path path = dir / "fuzz-input.csv";
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    scalelab::fit::dataset_from_csv({path.string(), sets[sel % 8], (sel >> 3) % 8});  // drop 0..7
  } catch (const scalelab::UserError&) {
    // rejected with a message: the contract holds
  }
  return 0;
}
