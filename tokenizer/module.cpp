// The entry point of the tokenizer plugin (scalelab-tokenizer.so). Debian's
// libsentencepiece bundles and exports its own protobuf-lite; in a process that
// later loads LibTorch's libprotobuf (the trainer plugin) protobuf's start-up
// code then runs on the wrong copy and crashes. So the CLI links no
// SentencePiece: it dlopens this plugin, locally, only for `data tokenize`.
// Errors cross the boundary as a code and a message, as in trainer/module.cpp.
#include <exception>
#include <string>

#include "common/error.h"
#include "tokenizer/tokenizer.h"

extern "C" __attribute__((visibility("default"))) int scalelab_tokenizer_tokenize(
    const scalelab::tokenizer::Options* opt, scalelab::tokenizer::Result* result, std::string* error) {
  using namespace scalelab;
  try {
    *result = tokenizer::tokenize(*opt);
    return tokenizer::kPluginOk;
  } catch (const UserError& e) {
    *error = e.what();
    return tokenizer::kPluginUserError;
  } catch (const ResourceError& e) {
    *error = e.what();
    return tokenizer::kPluginResourceError;
  } catch (const std::exception& e) {
    *error = e.what();
    return tokenizer::kPluginInternalError;
  }
}

extern "C" __attribute__((visibility("default"))) int scalelab_tokenizer_abi() {
  return scalelab::tokenizer::kPluginAbi;
}
