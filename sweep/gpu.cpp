#include "sweep/gpu.h"

#include <cstdlib>
#include <sstream>

#include "common/error.h"
#include "sweep/launch.h"

namespace scalelab::sweep {

namespace {

int cuda_index(const std::string& device) {
  const auto colon = device.find(':');
  return colon == std::string::npos ? 0 : std::stoi(device.substr(colon + 1));
}

// The driver's GPU behind CUDA's device `index`: CUDA_VISIBLE_DEVICES renumbers
// the GPUs a process sees, the driver lists them all.
const GpuInfo* gpu_for(const std::string& device, const std::vector<GpuInfo>& gpus) {
  if (device == "cpu" || gpus.empty()) return nullptr;
  std::size_t i = static_cast<std::size_t>(cuda_index(device));
  if (const char* vis = std::getenv("CUDA_VISIBLE_DEVICES"); vis && *vis) {
    std::stringstream ss(vis);
    std::string entry;
    for (std::size_t k = 0; std::getline(ss, entry, ','); ++k) {
      if (k != i) continue;
      char* end = nullptr;
      const long n = std::strtol(entry.c_str(), &end, 10);
      // A UUID entry cannot be mapped to the driver's order: the first GPU stands in.
      i = (end != entry.c_str() && *end == '\0' && n >= 0) ? static_cast<std::size_t>(n) : 0;
      break;
    }
  }
  return &gpus[i < gpus.size() ? i : 0];
}

}  // namespace

Peak resolve_peak(const std::string& device, std::optional<double> override_tflops, const std::vector<GpuInfo>& gpus) {
  Peak p;
  const GpuInfo* g = gpu_for(device, gpus);
  p.accelerator = device == "cpu" ? "cpu" : g ? g->name : "";
  if (override_tflops) {
    p.tflops = override_tflops;
    return p;
  }
  if (device == "cpu") return p;  // no peak a CPU's MFU would mean anything against
  if (!g) {
    p.why = "the NVIDIA driver named no GPU; give --peak-tflops";
  } else if (const Accelerator* a = match_accelerator(g->name)) {
    p.tflops = a->peak_tflops;
  } else {
    p.why = fmt::format("no peak for GPU '{}' in the accelerator table; give --peak-tflops", g->name);
  }
  return p;
}

std::optional<double> mfu(double tokens_per_s, double flops_per_token, std::optional<double> peak_tflops) {
  if (!peak_tflops || !(*peak_tflops > 0) || !(tokens_per_s > 0)) return std::nullopt;
  return tokens_per_s * flops_per_token / (*peak_tflops * 1e12);
}

std::string mfu_text(const std::optional<double>& m) {
  return m ? fmt::format("{:.3g}%", *m * 100) : "-";
}

std::optional<double> device_memory_bytes(const std::string& device, const std::vector<GpuInfo>& gpus) {
  const GpuInfo* g = gpu_for(device, gpus);
  if (!g) return std::nullopt;
  if (g->memory_gb) return *g->memory_gb * 1024.0 * 1024 * 1024;  // nvidia-smi's MiB, as GiB
  if (const Accelerator* a = match_accelerator(g->name)) return a->memory_gb * 1e9;  // datasheet GB
  return std::nullopt;
}

double memory_fraction(int runs_per_device, double configured) {
  if (configured > 0) return configured;
  return runs_per_device > 1 ? 1.0 / runs_per_device : 1.0;
}

void check_memory_share(const std::string& run, double need_bytes, double device_bytes, double fraction,
                        const std::string& device) {
  constexpr double kGiB = 1024.0 * 1024 * 1024;
  const double share = fraction * device_bytes;
  if (need_bytes <= share) return;
  user_error("run {}: needs about {:.1f} GiB to train (weights, grads, AdamW, activations) but its share of {} "
             "is {:.1f} GiB ({:.3g} of {:.1f} GiB); lower execution.runs_per_device or raise "
             "execution.gpu_memory_fraction",
             run, need_bytes / kGiB, device, share / kGiB, fraction, device_bytes / kGiB);
}

std::vector<std::string> worker_flags(const PoolOptions& o) {
  std::vector<std::string> f;
  if (o.peak_tflops > 0) f.insert(f.end(), {"--peak-tflops", fmt::format("{}", o.peak_tflops)});
  const bool cpu = o.devices.size() == 1 && o.devices[0] == "cpu";
  if (cpu) return f;  // the memory share and graphs are CUDA's
  if (o.gpu_memory_fraction > 0) f.insert(f.end(), {"--gpu-memory-fraction", fmt::format("{}", o.gpu_memory_fraction)});
  if (o.cuda_graphs) f.push_back("--cuda-graphs");
  return f;
}

}  // namespace scalelab::sweep
