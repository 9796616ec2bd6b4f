#include "trainer/gemm.h"

#include <dlfcn.h>

#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

namespace scalelab::trainer::cpu {

namespace {

// dnnl_sgemm's C signature (dnnl.h, stable since oneDNN 1.0): row-major, dnnl_dim_t = int64_t,
// returns dnnl_status_t where 0 is dnnl_success.
using SgemmFn = int (*)(char, char, std::int64_t, std::int64_t, std::int64_t, float, const float*,
                        std::int64_t, const float*, std::int64_t, float, float*, std::int64_t);

SgemmFn resolve() {
  if (const char* env = std::getenv("SCALELAB_ONEDNN"); env && std::strcmp(env, "0") == 0)
    return nullptr;
  // LibTorch links libdnnl.so.2 into the process already; a static oneDNN inside
  // libtorch_cpu (pip builds) hides its symbols, so fall back to a separate copy.
  void* sym = dlsym(RTLD_DEFAULT, "dnnl_sgemm");
  if (!sym) {
    if (void* lib = dlopen("libdnnl.so.2", RTLD_NOW | RTLD_LOCAL)) sym = dlsym(lib, "dnnl_sgemm");
  }
  auto f = reinterpret_cast<SgemmFn>(sym);
  // A symbol by that name may not be the oneDNN this was written for (PyPI's
  // LibTorch 2.x answers 3, dnnl_unimplemented): one 2x2 product decides.
  const float a[4] = {1, 2, 3, 4}, b[4] = {5, 6, 7, 8};
  float c[4] = {0, 0, 0, 0};
  if (f && (f('N', 'N', 2, 2, 2, 1.f, a, 2, b, 2, 0.f, c, 2) != 0 || c[0] != 19 || c[1] != 22 || c[2] != 43 ||
            c[3] != 50))
    return nullptr;
  return f;
}

SgemmFn fn() {
  static const SgemmFn f = resolve();
  return f;
}

}  // namespace

bool have_fast_gemm() { return fn() != nullptr; }

void sgemm(bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K, float alpha,
           const float* A, std::int64_t lda, const float* B, std::int64_t ldb, float beta, float* C,
           std::int64_t ldc) {
  const SgemmFn f = fn();
  if (!f) throw std::logic_error("cpu::sgemm called without oneDNN");
  const int status = f(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', M, N, K, alpha, A, lda, B, ldb,
                       beta, C, ldc);
  if (status != 0)
    throw std::runtime_error("dnnl_sgemm failed with status " + std::to_string(status));
}

}  // namespace scalelab::trainer::cpu
