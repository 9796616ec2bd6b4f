// tokenize_isolated: tokenizer::tokenize through the plugin (see module.cpp for why).
#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include "common/error.h"
#include "tokenizer/tokenizer.h"

namespace scalelab::tokenizer {

namespace {

namespace fs = std::filesystem;
using TokenizeFn = int (*)(const Options*, Result*, std::string*);
using AbiFn = int (*)();

constexpr const char* kModuleName = "scalelab-tokenizer.so";

// As the trainer plugin: $SCALELAB_TOKENIZER_MODULE, next to the executable,
// then where the build wrote it.
std::string find_module() {
  if (const char* env = std::getenv("SCALELAB_TOKENIZER_MODULE"); env && *env) return env;
  std::error_code ec;
  auto self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    auto beside = self.parent_path() / kModuleName;
    if (fs::exists(beside, ec)) return beside.string();
  }
#ifdef SCALELAB_TOKENIZER_MODULE_PATH
  return SCALELAB_TOKENIZER_MODULE_PATH;
#else
  return kModuleName;
#endif
}

TokenizeFn load() {
  static TokenizeFn fn = [] {
    const auto path = find_module();
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) throw std::runtime_error(fmt::format("cannot load the tokenizer plugin {}: {}", path, dlerror()));
    auto abi = reinterpret_cast<AbiFn>(dlsym(handle, "scalelab_tokenizer_abi"));
    auto run = reinterpret_cast<TokenizeFn>(dlsym(handle, "scalelab_tokenizer_tokenize"));
    if (!abi || !run) throw std::runtime_error(fmt::format("{} is not a scalelab tokenizer plugin", path));
    if (abi() != kPluginAbi)
      throw std::runtime_error(
          fmt::format("{} speaks plugin ABI {}, this binary {}: rebuild scalelab", path, abi(), kPluginAbi));
    return run;
  }();
  return fn;
}

}  // namespace

Result tokenize_isolated(const Options& opt) {
  Result result;
  std::string error;
  switch (load()(&opt, &result, &error)) {
    case kPluginOk:
      return result;
    case kPluginUserError:
      throw UserError(error);
    case kPluginResourceError:
      throw ResourceError(error);
    default:
      throw std::runtime_error(error);
  }
}

}  // namespace scalelab::tokenizer
