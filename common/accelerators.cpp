// Dense (no 2:4 sparsity) bf16 tensor-core peaks and memory, from the vendors'
// datasheets. Override with --peak-tflops; docs/fits.md reproduces this table.
#include "common/accelerators.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/error.h"

namespace scalelab {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// Words of a name: drivers join model and variant with spaces, dashes or
// underscores ("A100-SXM4-80GB"), and "l4" must not match "L40S".
std::vector<std::string> words(std::string_view s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : lower(s)) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      cur += c;
    } else if (!cur.empty()) {
      out.push_back(std::move(cur));
      cur.clear();
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

std::string trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t\r\n\"");
  if (b == std::string_view::npos) return {};
  auto e = s.find_last_not_of(" \t\r\n\"");
  return std::string(s.substr(b, e - b + 1));
}

// A command's stdout, or nothing when it fails: a driver-less nvidia-smi prints
// its complaint on stdout, which must not be read as a GPU name.
std::string run_quiet(const char* cmd) {
  FILE* p = popen(cmd, "r");
  if (!p) return {};
  std::string out;
  std::array<char, 512> buf{};
  while (std::fgets(buf.data(), buf.size(), p)) out += buf.data();
  return pclose(p) == 0 ? out : std::string();
}

}  // namespace

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
  const std::string key = lower(name);
  for (auto& a : accelerators())
    if (a.name == key) return a;
  std::string names;
  for (auto& a : accelerators()) names += (names.empty() ? "" : ", ") + a.name;
  user_error("unknown --gpu '{}'; known: {} (or give --peak-tflops)", name, names);
}

const Accelerator* match_accelerator(std::string_view device_name) {
  const auto have = words(device_name);
  const Accelerator* best = nullptr;
  size_t best_words = 0;
  for (auto& a : accelerators()) {
    const auto need = words(a.name);
    const bool all = std::all_of(need.begin(), need.end(), [&](const std::string& w) {
      return std::find(have.begin(), have.end(), w) != have.end();
    });
    if (all && need.size() > best_words) best = &a, best_words = need.size();
  }
  return best;
}

std::vector<std::string> parse_gpu_names(std::string_view text) {
  std::vector<std::string> out;
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);) {
    // /proc/driver/nvidia/gpus/*/information: "Model: \t\t NVIDIA H100 80GB HBM3".
    if (auto colon = line.find(':'); colon != std::string::npos) {
      if (trim(line.substr(0, colon)) != "Model") continue;
      line = line.substr(colon + 1);
    }
    if (auto name = trim(line); !name.empty()) out.push_back(name);
  }
  return out;
}

std::vector<double> parse_gpu_memory_gb(std::string_view text) {
  std::vector<double> out;
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);) {
    const auto t = trim(line);
    if (t.empty()) continue;
    try {
      out.push_back(std::stod(t) / 1024.0);  // MiB -> GiB
    } catch (const std::exception&) {
      return {};  // "[N/A]" or an error message: no figure rather than a wrong one
    }
  }
  return out;
}

std::vector<GpuInfo> detect_gpus() {
  std::vector<GpuInfo> out;
  const auto names = parse_gpu_names(
      run_quiet("nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null"));
  if (!names.empty()) {
    const auto mem = parse_gpu_memory_gb(
        run_quiet("nvidia-smi --query-gpu=memory.total --format=csv,noheader,nounits 2>/dev/null"));
    for (size_t i = 0; i < names.size(); ++i)
      out.push_back({names[i], i < mem.size() ? std::optional<double>(mem[i]) : std::nullopt});
    return out;
  }
  std::error_code ec;
  const std::filesystem::path dir = "/proc/driver/nvidia/gpus";
  if (!std::filesystem::is_directory(dir, ec)) return out;
  std::vector<std::filesystem::path> gpus;
  for (auto& e : std::filesystem::directory_iterator(dir, ec)) gpus.push_back(e.path());
  std::sort(gpus.begin(), gpus.end());  // PCI bus order, as CUDA enumerates by default
  for (auto& g : gpus) {
    std::ifstream f(g / "information");
    std::stringstream ss;
    ss << f.rdbuf();
    for (auto& n : parse_gpu_names(ss.str())) out.push_back({n, std::nullopt});
  }
  return out;
}

}  // namespace scalelab
