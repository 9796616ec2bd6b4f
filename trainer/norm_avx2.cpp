// LayerNorm rows in avx2 form (norm_kernel.h), compiled with this ISA's flags only.
#define SCALELAB_W 8
#define SCALELAB_NORM_SUFFIX avx2
#include "trainer/norm_kernel.h"
