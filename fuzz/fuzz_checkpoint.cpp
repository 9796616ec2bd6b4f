// Fuzzes the checkpoint loaders, trainer::load_checkpoint (resume) and
// trainer::load_fork_checkpoint (a ladder branch), on truncated and corrupted
// files: a run directory can hold a torn or foreign checkpoint.pt, and the
// contract is that loading it either restores the state or throws UserError.
// At startup a tiny Engine (1 layer, d_model 8) writes one valid checkpoint, which
// becomes the seed (copied into the corpus directory given on the command line);
// each input is written over the checkpoint path and loaded both ways.
// Any other exception escaping the loaders breaks the contract and crashes the
// harness (fuzz/README.md, "Findings": the three found before the fix). With
// SCALELAB_FUZZ_LENIENT=1 any std::exception is caught instead: a search for memory
// errors, aborts and hangs past a known exception finding.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "common/error.h"
#include "trainer/checkpoint.h"
#include "trainer/engine.h"

namespace fs = std::filesystem;
using namespace scalelab::trainer;

static fs::path dir;  // /tmp/scalelab-fuzz-PID/checkpoint: corpus.txt, run/checkpoint.pt
static std::unique_ptr<Engine> engine;
static std::int64_t steps = 0;
static bool lenient = false;

// LibTorch 1.13's zip reader leaks its miniz state (about 1.6 kB) when load_from
// throws on a corrupt archive; that is LibTorch's, not scalelab's, so LeakSanitizer
// ignores leaks allocated in libtorch_cpu (leaks in scalelab code still count).
extern "C" const char* __lsan_default_suppressions() { return "leak:libtorch_cpu.so\n"; }

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  dir = fs::temp_directory_path() / ("scalelab-fuzz-" + std::to_string(::getpid())) / "checkpoint";
  fs::create_directories(dir / "run");
  std::atexit([] { fs::remove_all(dir.parent_path()); });
  auto on = [](const char* v) { return std::getenv(v) && std::string(std::getenv(v)) == "1"; };
  lenient = on("SCALELAB_FUZZ_LENIENT");
  torch::set_num_threads(1);
  {
    std::ofstream f(dir / "corpus.txt", std::ios::binary);
    for (int i = 0; i < 200; ++i) f << "the cat sat on the mat. ";
  }
  RunSpec s;
  s.model.n_layer = 1;
  s.model.d_model = 8;
  s.model.n_head = 2;
  s.model.seq_len = 8;
  s.data.path = (dir / "corpus.txt").string();
  s.data.val_fraction = 0.1;
  s.batch_tokens = 32;
  s.micro_batch = 4;
  s.tokens = 10 * 32;
  steps = total_steps(s);
  auto corpus = std::make_shared<const Corpus>(Corpus::open(s.data, s.model.seq_len, s.model.vocab));
  engine = std::make_unique<Engine>(s, corpus, torch::kCPU);
  engine->step(0, 1e-3);
  save_checkpoint((dir / "run").string(), *engine, {1, 32, 0.5}, steps);
  load_checkpoint((dir / "run").string(), *engine, steps);  // the seed itself must load
  // The seed: the valid checkpoint, into the first corpus directory on the command line.
  for (int i = 1; i < *argc; ++i) {
    const char* a = (*argv)[i];
    if (a[0] == '-' || !fs::is_directory(a)) continue;
    fs::copy_file(checkpoint_path((dir / "run").string()), fs::path(a) / "seed-valid.pt",
                  fs::copy_options::overwrite_existing);
    break;
  }
  return 0;
}

// Loads the file both ways; UserError is the contract.
static void load_both(const std::string& run, const std::string& path) {
  for (int fork = 0; fork < 2; ++fork) {
    try {
      if (fork) load_fork_checkpoint(path, *engine);
      else load_checkpoint(run, *engine, steps);
    } catch (const scalelab::UserError&) {
      // rejected with a message: the contract holds
    }
  }
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string run = (dir / "run").string(), path = checkpoint_path(run);
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data), size);
  if (!lenient) {
    load_both(run, path);  // any other exception: terminate, with the stack of its throw
    return 0;
  }
  try {
    load_both(run, path);
  } catch (const std::exception& e) {
    static bool said = false;
    if (!said) std::fprintf(stderr, "escaped the loaders: %s\n", e.what());
    said = true;
  }
  return 0;
}
