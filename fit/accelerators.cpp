// Dense (no 2:4 sparsity) bf16 tensor-core peaks and memory, from the vendors'
// datasheets. Override with --peak-tflops; docs/fits.md reproduces this table.
#include <algorithm>
#include <cctype>

#include "common/error.h"
#include "fit/forecast.h"

namespace scalelab::fit {

const std::vector<Accelerator>& accelerators() {
  static const std::vector<Accelerator> table = {
      {"h100", 989, 80, "NVIDIA H100 SXM5"},
      {"h100-pcie", 756, 80, "NVIDIA H100 PCIe"},
      {"h200", 989, 141, "NVIDIA H200 SXM"},
      {"b200", 2250, 180, "NVIDIA B200"},
      {"a100", 312, 80, "NVIDIA A100 SXM 80 GB"},
      {"a100-40gb", 312, 40, "NVIDIA A100 40 GB"},
      {"l40s", 362, 48, "NVIDIA L40S"},
      {"l4", 121, 24, "NVIDIA L4"},
      {"mi300x", 1307, 192, "AMD Instinct MI300X"},
      {"mi250x", 383, 128, "AMD Instinct MI250X"},
      {"tpu-v4", 275, 32, "Google TPU v4"},
      {"tpu-v5e", 197, 16, "Google TPU v5e"},
      {"tpu-v5p", 459, 95, "Google TPU v5p"},
  };
  return table;
}

const Accelerator& find_accelerator(const std::string& name) {
  std::string key = name;
  std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::tolower(c); });
  for (auto& a : accelerators())
    if (a.name == key) return a;
  std::string names;
  for (auto& a : accelerators()) names += (names.empty() ? "" : ", ") + a.name;
  user_error("unknown --gpu '{}'; known: {} (or give --peak-tflops)", name, names);
}

}  // namespace scalelab::fit
