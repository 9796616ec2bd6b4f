#pragma once
// Tests: the forms of the element-wise CPU kernels (pointwise.cpp, norm.cpp and
// attention's softmax rows), so that each form this CPU can run is checked here.
#include <vector>

#include "trainer/kernels.h"

namespace scalelab::trainer::testing {

struct IsaForm {
  const char* name;
  int level;  // limit_pointwise_isa's
  bool here;  // does this CPU run it
};

inline std::vector<IsaForm> isa_forms() {
  return {{"avx512", 2, bool(__builtin_cpu_supports("avx512f"))},
          {"avx2", 1, __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")},
          {"base (scalar; SSE2 for LayerNorm)", 0, true}};
}

// Caps the kernels at one form for a scope; the default comes back even when a check throws.
struct IsaCap {
  explicit IsaCap(int level) { cpu::limit_pointwise_isa(level); }
  ~IsaCap() { cpu::limit_pointwise_isa(2); }
  IsaCap(const IsaCap&) = delete;
  IsaCap& operator=(const IsaCap&) = delete;
};

}  // namespace scalelab::trainer::testing
