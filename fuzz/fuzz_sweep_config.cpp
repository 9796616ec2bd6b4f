// Fuzzes the sweep-config reader, sweep::load_sweep_config (path in, no data
// check): `scalelab sweep CONFIG` reads it, with the base files it extends, the
// axes, ladders and lr rules. Any file must load or throw UserError. The reader
// takes a path, so each input is written to one fixed file per process, in a
// directory that also holds copies of configs/*.toml so `extends` finds real bases.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/error.h"
#include "sweep/sweep_config.h"

namespace fs = std::filesystem;

static fs::path dir;  // /tmp/scalelab-fuzz-PID/sweep

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  dir = fs::temp_directory_path() / ("scalelab-fuzz-" + std::to_string(::getpid())) / "sweep";
  fs::create_directories(dir);
  for (auto& e : fs::directory_iterator(fs::path(SCALELAB_SOURCE_DIR) / "configs"))
    if (e.path().extension() == ".toml") fs::copy_file(e.path(), dir / e.path().filename(), fs::copy_options::overwrite_existing);
  std::atexit([] { fs::remove_all(dir.parent_path()); });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const fs::path path = dir / "fuzz-input.toml";
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data), size);
  try {
    scalelab::sweep::load_sweep_config(path.string(), /*check_data=*/false);
  } catch (const scalelab::UserError&) {
    // rejected with a message: the contract holds
  }
  return 0;
}
