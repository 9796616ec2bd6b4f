#pragma once
// The contract between the CLI and the trainer plugin; see module.cpp.
namespace scalelab::trainer {

// Bump when RunSpec, TrainOptions, TrainResult or MetricSink change layout:
// a stale plugin is then refused instead of misread.
inline constexpr int kModuleAbi = 7;

enum ModuleStatus { kModuleOk = 0, kModuleUserError = 1, kModuleInternalError = 2, kModuleResourceError = 3 };

}  // namespace scalelab::trainer
