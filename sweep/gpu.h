#pragma once
// What a run's throughput is measured against on its device (MFU), and whether
// runs packed onto one GPU fit in their shares of its memory. Torch-free: the GPU
// is known by the name and memory its driver reports (common/accelerators.h), and
// every decision takes that report as an argument, so it is testable without one.
#include <optional>
#include <string>
#include <vector>

#include "common/accelerators.h"

namespace scalelab::sweep {

struct Peak {
  std::string accelerator;       // "cpu", the GPU's driver name, or "" (no GPU answered)
  std::optional<double> tflops;  // unset: no MFU for this run
  std::string why;               // when unset on a GPU: the one-line reason
};

// The peak for `device` ("cpu", "cuda", "cuda:N"): the override when given, else
// the table's entry for the GPU's name (CPU: none).
Peak resolve_peak(const std::string& device, std::optional<double> override_tflops, const std::vector<GpuInfo>& gpus);

// Model FLOP utilisation: tokens/s x FLOPs per token (the run's convention) over
// the peak; unset without a peak or a rate.
std::optional<double> mfu(double tokens_per_s, double flops_per_token, std::optional<double> peak_tflops);

// "41.2%", as `train` and `status` print it; "-" when unset.
std::string mfu_text(const std::optional<double>& mfu);

// Why runs on a GPU show no MFU (the table does not know it and no --peak-tflops
// was given), said once for a whole listing; "" when every GPU run has a peak.
// CPU runs need no explanation: a CPU has no peak unless one is given.
template <class RunRow>
std::string missing_peak_note(const std::vector<RunRow>& runs) {
  for (auto& r : runs)
    if (!r.accelerator.empty() && r.accelerator != "cpu" && !r.peak_tflops)
      return "MFU -: no peak for GPU '" + r.accelerator +
             "' in the accelerator table; give --peak-tflops (or execution.peak_tflops)";
  return "";
}

// The device's memory in bytes: the driver's figure, else the table's for its
// name; nullopt when neither is known.
std::optional<double> device_memory_bytes(const std::string& device, const std::vector<GpuInfo>& gpus);

// The share of a GPU's memory each of `runs_per_device` packed runs may take:
// `configured` when set (> 0), else an equal split.
double memory_fraction(int runs_per_device, double configured);

// UserError naming the run and the numbers when `need_bytes` (trainer's
// training_memory_bytes) exceeds `fraction` of `device_bytes`.
void check_memory_share(const std::string& run, double need_bytes, double device_bytes, double fraction,
                        const std::string& device);

}  // namespace scalelab::sweep
