#pragma once
// Internal: Kaplan's law in solver coordinates (ln Nc, ln Dc, alpha_N/alpha_D, alpha_D).
#include <memory>
#include <vector>

#include "fit/solver.h"

namespace scalelab::fit::detail {
double kaplan_log_loss(const double* q, double lnN, double lnD);
std::unique_ptr<Solver> make_kaplan_lsq(const std::vector<Point>&, const std::vector<double>& w,
                                        const SolveSettings&);
Grid kaplan_grid();
}  // namespace scalelab::fit::detail
