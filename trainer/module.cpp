// The entry point of the trainer plugin (scalelab-trainer.so). The CLI loads
// it with dlopen only when it trains, so that commands which never touch
// LibTorch (status, runs, fit, report) start in milliseconds rather than the
// ~0.6 s it takes the dynamic linker to map and relocate libtorch_cpu.
//
// Errors cross the boundary as a code and a message, not as C++ exceptions:
// each side has its own copy of scalelab's types.
#include <exception>
#include <string>

#include "common/error.h"
#include "trainer/module_abi.h"
#include "trainer/trainer.h"

extern "C" __attribute__((visibility("default"))) int scalelab_trainer_train(
    const scalelab::trainer::RunSpec* spec, const scalelab::trainer::TrainOptions* opt,
    scalelab::trainer::MetricSink* sink, scalelab::trainer::TrainResult* result, std::string* error) {
  using namespace scalelab;
  try {
    *result = trainer::train(*spec, *opt, *sink);
    return trainer::kModuleOk;
  } catch (const UserError& e) {
    *error = e.what();
    return trainer::kModuleUserError;
  } catch (const ResourceError& e) {
    *error = e.what();
    return trainer::kModuleResourceError;
  } catch (const std::exception& e) {
    *error = e.what();
    return trainer::kModuleInternalError;
  }
}

extern "C" __attribute__((visibility("default"))) int scalelab_trainer_abi() {
  return scalelab::trainer::kModuleAbi;
}
