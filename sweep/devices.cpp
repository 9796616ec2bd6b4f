// The small value parsers of sweep configs and flags: device lists and durations.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "common/error.h"
#include "sweep/sweep_config.h"

namespace scalelab::sweep {

void check_runs_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path p = fs::absolute(dir, ec);
  while (!p.empty() && !fs::exists(p, ec)) {
    if (p == p.parent_path()) break;
    p = p.parent_path();
  }
  if (!fs::is_directory(p, ec))
    user_error("--runs-dir: {} is not a directory (it is a file); expected a directory for checkpoints and logs",
               p.string());
}

std::vector<std::string> parse_devices(const std::vector<std::string>& names) {
  static const std::regex device_re("cpu|cuda(:[0-9]+)?");
  std::vector<std::string> out;
  for (auto d : names) {
    d.erase(0, d.find_first_not_of(" \t"));
    d.erase(d.find_last_not_of(" \t") + 1);
    if (!std::regex_match(d, device_re)) user_error("expected cpu, cuda or cuda:N, got '{}'", d);
    if (std::find(out.begin(), out.end(), d) != out.end()) user_error("device '{}' is listed twice", d);
    out.push_back(d);
  }
  if (out.empty()) user_error("expected at least one device");
  if (out.size() > 1 && std::find(out.begin(), out.end(), "cpu") != out.end())
    user_error("cpu cannot be mixed with GPUs; list either cpu or cuda devices");
  return out;
}

void check_device_present(const std::string& device) {
  if (device == "cpu") return;
  // Torch-free, so bad input is caught before the trainer plugin loads and before
  // anything is registered: NVIDIA's driver makes /dev/nvidia0, /dev/nvidia1, ...
  int count = 0;
  while (std::filesystem::exists("/dev/nvidia" + std::to_string(count))) ++count;
  if (const char* vis = std::getenv("CUDA_VISIBLE_DEVICES"); vis && count > 0)
    count = std::min<int>(count, vis[0] == '\0' ? 0 : 1 + static_cast<int>(std::count(vis, vis + std::strlen(vis), ',')));
  const auto colon = device.find(':');
  const int index = colon == std::string::npos ? 0 : std::stoi(device.substr(colon + 1));
  if (count == 0) user_error("--device {}: this machine has no CUDA device (no /dev/nvidia0); use --device cpu", device);
  if (index >= count)
    user_error("--device {}: only {} CUDA device(s) here (cuda:0..cuda:{})", device, count, count - 1);
}

double parse_duration(std::string_view text) {
  static const std::regex re(R"(\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*(s|m|min|h)?\s*)");
  std::match_results<std::string_view::const_iterator> m;
  if (!std::regex_match(text.begin(), text.end(), m, re)) return NAN;
  double v = std::stod(m[1].str());
  auto unit = m[2].str();
  return unit == "h" ? v * 3600 : (unit == "m" || unit == "min") ? v * 60 : v;
}

}  // namespace scalelab::sweep
