#pragma once
// One table of accelerator peaks and memory, shared by `scalelab forecast`
// (fit/) and the MFU and memory-share checks of `scalelab train`/`sweep`.
// Torch-free: GPU names come from the driver's text, not from a CUDA call.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace scalelab {

struct Accelerator {
  std::string name;    // the table's key: h100, a100-40gb, ...
  double peak_tflops;  // dense bf16 tensor-core peak (no 2:4 sparsity)
  double memory_gb;
  std::string note = {};  // the product the figures are for
};

const std::vector<Accelerator>& accelerators();

// A table key, case-insensitive; throws UserError listing the known names
// (the error `scalelab forecast --gpu` prints).
const Accelerator& find_accelerator(const std::string& name);

// A device name as the driver reports it ("NVIDIA H100 80GB HBM3", "NVIDIA
// A100-SXM4-40GB"): case-insensitive, by whole words of the name, the most
// specific entry winning (H100 PCIe over H100). nullptr when unknown.
const Accelerator* match_accelerator(std::string_view device_name);

// The GPU names in `nvidia-smi --query-gpu=name --format=csv,noheader` output
// (one per line) or in /proc/driver/nvidia/gpus/*/information ("Model:" lines).
std::vector<std::string> parse_gpu_names(std::string_view text);
// Total memory in GiB per GPU from `nvidia-smi --query-gpu=memory.total
// --format=csv,noheader,nounits` output (MiB, one per line).
std::vector<double> parse_gpu_memory_gb(std::string_view text);

// The GPUs of this machine, asked of the driver without CUDA: nvidia-smi when
// on PATH, else /proc/driver/nvidia. Empty on a machine without an NVIDIA driver.
struct GpuInfo {
  std::string name;
  std::optional<double> memory_gb;  // nvidia-smi's figure; unset from /proc
};
std::vector<GpuInfo> detect_gpus();

}  // namespace scalelab
