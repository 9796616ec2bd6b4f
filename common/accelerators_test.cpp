#include "common/accelerators.h"

#include <doctest/doctest.h>

#include "common/error.h"

using namespace scalelab;

namespace {
std::string matched(std::string_view device) {
  const Accelerator* a = match_accelerator(device);
  return a ? a->name : "(none)";
}
}  // namespace

TEST_CASE("the table keeps the figures forecast was built on") {
  CHECK(find_accelerator("H100").peak_tflops == 989);
  CHECK(find_accelerator("h200").memory_gb == 141);
  CHECK(find_accelerator("A100").peak_tflops == 312);
  CHECK_THROWS_AS(find_accelerator("nvidia h100"), UserError);  // keys, not driver names
}

TEST_CASE("driver names match by whole word, most specific entry first") {
  CHECK(matched("NVIDIA H100 80GB HBM3") == "h100");
  CHECK(matched("NVIDIA H100 PCIe") == "h100-pcie");
  CHECK(matched("NVIDIA H200") == "h200");
  CHECK(matched("nvidia h200 nvl") == "h200");
  CHECK(matched("NVIDIA A100-SXM4-80GB") == "a100");
  CHECK(matched("NVIDIA A100-PCIE-40GB") == "a100-40gb");
  CHECK(matched("NVIDIA L40S") == "l40s");  // not the L4
  CHECK(matched("NVIDIA L4") == "l4");
  CHECK(matched("AMD Instinct MI300X") == "mi300x");
  CHECK(matched("h100") == "h100");
  CHECK(matched("NVIDIA GeForce RTX 4090") == "(none)");
  CHECK(matched("NVIDIA H1000") == "(none)");  // a substring of a word is not a match
  CHECK(matched("") == "(none)");
}

TEST_CASE("GPU names from nvidia-smi and from /proc/driver/nvidia") {
  auto smi = parse_gpu_names("NVIDIA H100 80GB HBM3\nNVIDIA H100 80GB HBM3\n");
  REQUIRE(smi.size() == 2);
  CHECK(smi[0] == "NVIDIA H100 80GB HBM3");
  auto proc = parse_gpu_names(
      "Model: \t\t NVIDIA A100-SXM4-80GB\nIRQ:             64\nGPU UUID: \t GPU-1234\n"
      "Bus Type: \t PCIe\n");
  REQUIRE(proc.size() == 1);
  CHECK(proc[0] == "NVIDIA A100-SXM4-80GB");
  CHECK(parse_gpu_names("").empty());
}

TEST_CASE("GPU memory from nvidia-smi's MiB") {
  auto mem = parse_gpu_memory_gb("81559\n143771\n");
  REQUIRE(mem.size() == 2);
  CHECK(mem[0] == doctest::Approx(79.647).epsilon(1e-4));
  CHECK(mem[1] == doctest::Approx(140.4).epsilon(1e-3));
  CHECK(parse_gpu_memory_gb("[N/A]\n").empty());
}
