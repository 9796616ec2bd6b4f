#pragma once
// Internal: single-variable power law in solver coordinates (a, e, alpha).
#include <memory>
#include <vector>

#include "fit/solver.h"

namespace scalelab::fit::detail {
double power_variable(Law, const Point&);
double power_log_loss(const double* q, double lnx);
std::unique_ptr<Solver> make_power_lsq(Law, const std::vector<Point>&, const std::vector<double>& w,
                                       const SolveSettings&);
Grid power_grid();
}  // namespace scalelab::fit::detail
