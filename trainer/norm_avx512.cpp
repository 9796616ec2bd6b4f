// LayerNorm rows in avx512 form (norm_kernel.h), compiled with this ISA's flags only.
#define SCALELAB_W 16
#define SCALELAB_NORM_SUFFIX avx512
#include "trainer/norm_kernel.h"
