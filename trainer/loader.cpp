// trainer::train for binaries that do not link LibTorch: it loads the trainer
// plugin on first use (see module.cpp for why).
#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <string>

#include "common/error.h"
#include "trainer/module_abi.h"
#include "trainer/trainer.h"

namespace scalelab::trainer {

namespace {

namespace fs = std::filesystem;
using TrainFn = int (*)(const RunSpec*, const TrainOptions*, MetricSink*, TrainResult*, std::string*);
using AbiFn = int (*)();

constexpr const char* kModuleName = "scalelab-trainer.so";

// Candidates in order: $SCALELAB_TRAINER_MODULE, next to the executable (the
// build tree and an install both put it there), the path the build wrote it to.
std::string find_module() {
  if (const char* env = std::getenv("SCALELAB_TRAINER_MODULE"); env && *env) return env;
  std::error_code ec;
  auto self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    auto beside = self.parent_path() / kModuleName;
    if (fs::exists(beside, ec)) return beside.string();
  }
#ifdef SCALELAB_TRAINER_MODULE_PATH
  return SCALELAB_TRAINER_MODULE_PATH;
#else
  return kModuleName;
#endif
}

TrainFn load() {
  static TrainFn fn = [] {
    auto path = find_module();
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) throw std::runtime_error(fmt::format("cannot load the trainer plugin {}: {}", path, dlerror()));
    auto abi = reinterpret_cast<AbiFn>(dlsym(handle, "scalelab_trainer_abi"));
    auto train = reinterpret_cast<TrainFn>(dlsym(handle, "scalelab_trainer_train"));
    if (!abi || !train) throw std::runtime_error(fmt::format("{} is not a scalelab trainer plugin", path));
    if (abi() != kModuleAbi)
      throw std::runtime_error(
          fmt::format("{} speaks plugin ABI {}, this binary {}: rebuild scalelab", path, abi(), kModuleAbi));
    return train;
  }();
  return fn;
}

}  // namespace

TrainResult train(const RunSpec& spec, const TrainOptions& opt, MetricSink& sink) {
  TrainResult result;
  std::string error;
  switch (load()(&spec, &opt, &sink, &result, &error)) {
    case kModuleOk:
      return result;
    case kModuleUserError:
      throw UserError(error);
    case kModuleResourceError:
      throw ResourceError(error);
    default:
      throw std::runtime_error(error);
  }
}

}  // namespace scalelab::trainer
