// LayerNorm rows in sse2 form (norm_kernel.h), compiled with this ISA's flags only.
#define SCALELAB_W 4
#define SCALELAB_NORM_SUFFIX sse2
#include "trainer/norm_kernel.h"
