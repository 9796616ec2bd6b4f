// small_gemm's avx2 form (microgemm_kernel.h), compiled with this ISA's flags only.
#define SCALELAB_W 8
#define SCALELAB_GEMM_NAME small_gemm_avx2
#include "trainer/microgemm_kernel.h"
