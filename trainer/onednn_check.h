#pragma once
// Tests of the oneDNN CPU path: whether it can run here, SKIP (and why) if not.
#include <doctest/doctest.h>
#include <torch/version.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "trainer/gemm.h"

namespace scalelab::trainer::testing {

// Debian's libtorch (1.13) ships oneDNN, so under CI (CI=true) a missing oneDNN means a
// broken environment and fails; PyPI's 2.x wheel has no usable dnnl_sgemm (docs/torch.md),
// so there, as elsewhere, the test says SKIP and why instead of passing silently.
inline bool have_onednn() {
  if (cpu::have_fast_gemm()) return true;
  const char* off = std::getenv("SCALELAB_ONEDNN");
  const bool expected = TORCH_VERSION_MAJOR < 2;
  const std::string why = off && std::strcmp(off, "0") == 0 ? "SCALELAB_ONEDNN=0 turns the oneDNN CPU kernels off"
                          : expected ? "no dnnl_sgemm in the process or in libdnnl.so.2 (LibTorch without oneDNN)"
                                     : "LibTorch 2.x: its dnnl_sgemm is not usable, the reference path runs (docs/torch.md)";
  const char* ci = std::getenv("CI");
  if (expected && ci && std::strcmp(ci, "true") == 0) FAIL("CI=true, but " << why);
  MESSAGE("SKIP: " << why);
  std::fprintf(stderr, "SKIP: oneDNN kernel test: %s\n", why.c_str());
  return false;
}

}  // namespace scalelab::trainer::testing
