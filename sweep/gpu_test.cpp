#include "sweep/gpu.h"

#include <doctest/doctest.h>

#include <cstdlib>

#include "common/error.h"
#include "sweep/launch.h"

using namespace scalelab;
using namespace scalelab::sweep;

namespace {
const std::vector<GpuInfo> kH100s{{"NVIDIA H100 80GB HBM3", 79.6}, {"NVIDIA H100 80GB HBM3", 79.6}};
struct NoVisibleDevices {
  NoVisibleDevices() { unsetenv("CUDA_VISIBLE_DEVICES"); }
};
}  // namespace

TEST_CASE("the peak: the table by the GPU's name, an override, none on a CPU") {
  NoVisibleDevices env;
  auto p = resolve_peak("cuda:1", std::nullopt, kH100s);
  CHECK(p.accelerator == "NVIDIA H100 80GB HBM3");
  CHECK(*p.tflops == 989);
  CHECK(*resolve_peak("cuda", std::nullopt, {{"NVIDIA A100-SXM4-80GB", std::nullopt}}).tflops == 312);
  CHECK(*resolve_peak("cuda", 500.0, kH100s).tflops == 500);

  auto cpu = resolve_peak("cpu", std::nullopt, kH100s);
  CHECK(cpu.accelerator == "cpu");
  CHECK_FALSE(cpu.tflops);
  CHECK(cpu.why.empty());  // nothing to explain: a CPU has no peak unless given
  CHECK(*resolve_peak("cpu", 0.01, {}).tflops == 0.01);

  auto unknown = resolve_peak("cuda", std::nullopt, {{"NVIDIA GeForce RTX 4090", 24.0}});
  CHECK(unknown.accelerator == "NVIDIA GeForce RTX 4090");
  CHECK_FALSE(unknown.tflops);
  CHECK(unknown.why.find("no peak for GPU 'NVIDIA GeForce RTX 4090'") != std::string::npos);
  CHECK_FALSE(resolve_peak("cuda", std::nullopt, {}).tflops);
}

TEST_CASE("CUDA_VISIBLE_DEVICES picks the driver's GPU behind a CUDA index") {
  const std::vector<GpuInfo> mixed{{"NVIDIA A100-SXM4-80GB", 79.2}, {"NVIDIA H100 80GB HBM3", 79.6}};
  setenv("CUDA_VISIBLE_DEVICES", "1", 1);
  CHECK(*resolve_peak("cuda:0", std::nullopt, mixed).tflops == 989);
  unsetenv("CUDA_VISIBLE_DEVICES");
  CHECK(*resolve_peak("cuda:0", std::nullopt, mixed).tflops == 312);
}

TEST_CASE("MFU is tokens/s x FLOPs per token over the peak") {
  CHECK(*mfu(1e5, 6e9, 989) == doctest::Approx(1e5 * 6e9 / 989e12));
  CHECK(*mfu(2000, 5e6, 0.01) == doctest::Approx(1.0));
  CHECK_FALSE(mfu(1e5, 6e9, std::nullopt));
  CHECK_FALSE(mfu(0, 6e9, 989));  // no rate yet
  CHECK(mfu_text(0.41234) == "41.2%");
  CHECK(mfu_text(std::nullopt) == "-");
}

TEST_CASE("memory shares: the driver's figure, else the table's; an equal split by default") {
  NoVisibleDevices env;
  CHECK(*device_memory_bytes("cuda", kH100s) == doctest::Approx(79.6 * 1024 * 1024 * 1024));
  CHECK(*device_memory_bytes("cuda", {{"NVIDIA H200", std::nullopt}}) == doctest::Approx(141e9));
  CHECK_FALSE(device_memory_bytes("cuda", {{"Mystery GPU", std::nullopt}}));
  CHECK_FALSE(device_memory_bytes("cpu", kH100s));
  CHECK(memory_fraction(4, 0) == 0.25);
  CHECK(memory_fraction(1, 0) == 1.0);
  CHECK(memory_fraction(4, 0.4) == 0.4);

  const double gib = 1024.0 * 1024 * 1024;
  CHECK_NOTHROW(check_memory_share("small", 10 * gib, 80 * gib, 0.25, "cuda:0"));
  try {
    check_memory_share("big", 30 * gib, 80 * gib, 0.25, "cuda:0");
    FAIL("expected a UserError");
  } catch (const UserError& e) {
    const std::string msg = e.what();
    CHECK(msg.find("run big: needs about 30.0 GiB") == 0);
    CHECK(msg.find("its share of cuda:0 is 20.0 GiB (0.25 of 80.0 GiB)") != std::string::npos);
  }
}

TEST_CASE("packing onto a GPU: each worker gets its share and the flags that carry it") {
  PoolOptions o;
  o.devices = {"cuda:0"};
  o.runs_per_device = 4;
  resolve_pool(o, 16);
  CHECK(o.gpu_memory_fraction == 0.25);
  o.peak_tflops = 989;
  o.cuda_graphs = true;
  CHECK(worker_flags(o) ==
        std::vector<std::string>{"--peak-tflops", "989", "--gpu-memory-fraction", "0.25", "--cuda-graphs"});
  PoolOptions one;
  one.devices = {"cuda:0"};
  resolve_pool(one, 16);
  CHECK(one.gpu_memory_fraction == 0);  // one run per GPU: no cap
  PoolOptions cpu;
  cpu.peak_tflops = 0.5;
  cpu.gpu_memory_fraction = 0.5;
  resolve_pool(cpu, 2);
  CHECK(worker_flags(cpu) == std::vector<std::string>{"--peak-tflops", "0.5"});
}
