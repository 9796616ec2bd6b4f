#pragma once
// Internal: the Ceres least-squares options every fit uses.
#include <ceres/ceres.h>

#include "fit/laws.h"

namespace scalelab::fit::detail {
ceres::Solver::Options lsq_options(const SolveSettings&);
}  // namespace scalelab::fit::detail
