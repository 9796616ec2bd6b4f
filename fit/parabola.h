#pragma once
// A parabola y = c0 + c1 (x - xc) + c2 (x - xc)^2 fitted by weighted least
// squares (Ceres), and its vertex. Approach 2 fits one in ln N per budget
// (fit/isoflop.cpp); the learning-rate rule one in ln lr per scan
// (fit/lr_rule.cpp). Free of Ceres headers, so doctests may include it.
#include <array>
#include <vector>

namespace scalelab::fit {

struct Parabola {
  double xc = 0;                  // the centre the coefficients are taken about
  double c0 = 0, c1 = 0, c2 = 0;  // in x - xc
  bool has_minimum() const { return c2 > 0; }
  double vertex_x() const { return xc - c1 / (2 * c2); }
  double vertex_y() const { return c0 - c1 * c1 / (4 * c2); }
  std::array<double, 3> in_x() const;  // the same parabola's coefficients in x itself
};

// Centring at xc keeps the normal equations well conditioned; w are weights
// (bootstrap multiplicities), one per point.
Parabola fit_parabola(const std::vector<double>& x, const std::vector<double>& y, const std::vector<double>& w,
                      double xc);

}  // namespace scalelab::fit
