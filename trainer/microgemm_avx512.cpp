// small_gemm's avx512 form (microgemm_kernel.h), compiled with this ISA's flags only.
#define SCALELAB_W 16
#define SCALELAB_GEMM_NAME small_gemm_avx512
#include "trainer/microgemm_kernel.h"
