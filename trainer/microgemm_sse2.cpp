// small_gemm's sse2 form (microgemm_kernel.h), compiled with this ISA's flags only.
#define SCALELAB_W 4
#define SCALELAB_GEMM_NAME small_gemm_sse2
#include "trainer/microgemm_kernel.h"
