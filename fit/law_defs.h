#pragma once
// Internal: each law as one small functor. `log_loss(q, f)` is log L-hat at
// solver coordinates q for a point's features f, templated so Ceres' AutoDiff
// differentiates it; laws that are linear in (E, A, B) once their exponents are
// fixed also give their two basis terms for variable projection (fit/varpro.cpp).
// Includes Ceres: keep out of doctest files (glog's CHECK macros clash).
#include <ceres/ceres.h>

#include <cmath>
#include <functional>
#include <memory>

#include "fit/laws.h"

namespace scalelab::fit::detail {

struct Features {
  double lnN = 0, lnD = 0, lnC = 0, lnL = 0;
  double N = 0, D = 0, U = 0;
  static Features of(const Point&);
};

template <typename T>
T lse(T a, T b) {
  T m = a > b ? a : b;
  return m + log(exp(a - m) + exp(b - m));
}
template <typename T>
T lse(T a, T b, T c) {
  T m = a > b ? a : b;
  m = m > c ? m : c;
  return m + log(exp(a - m) + exp(b - m) + exp(c - m));
}

// Muennighoff et al. 2023, eq. 5: repeated tokens and excess parameters decay
// in value. U_D = unique tokens, R_D = D/U_D - 1 repeats; U_N = min(N, U_D/20)
// (the compute-optimal size for U_D at Chinchilla's 20 tokens per parameter),
// R_N = N/U_N - 1. X' = U + U R* (1 - exp(-R/R*)); returns ln X'.
template <typename T>
T log_effective(double u, double r, const T& log_rstar) {
  if (r <= 0) return T(std::log(u));
  T rs = exp(log_rstar);
  return std::log(u) + log(1.0 + rs * (1.0 - exp(-r / rs)));
}
inline double unique_params(const Features& f) { return std::min(f.N, f.U / 20.0); }

struct ChinchillaLaw {
  static constexpr int kCoords = 5;  // a, b, e, alpha, beta
  template <typename T>
  T operator()(const T* q, const Features& f) const {
    return lse(q[0] - q[3] * f.lnN, q[1] - q[4] * f.lnD, q[2]);
  }
};

struct TiedLaw {
  static constexpr int kCoords = 4;  // a, b, e, alpha
  template <typename T>
  T operator()(const T* q, const Features& f) const {
    return lse(q[0] - q[3] * f.lnN, q[1] - q[3] * f.lnD, q[2]);
  }
};

struct DataConstrainedLaw {
  static constexpr int kCoords = 7;  // a, b, e, alpha, beta, ln R_D*, ln R_N*
  template <typename T>
  T operator()(const T* q, const Features& f) const {
    if (!(f.U > 0)) return lse(q[0] - q[3] * f.lnN, q[1] - q[4] * f.lnD, q[2]);
    const double un = unique_params(f);
    T lnD = log_effective(f.U, f.D / f.U - 1, q[5]);
    T lnN = log_effective(un, f.N / un - 1, q[6]);
    return lse(q[0] - q[3] * lnN, q[1] - q[4] * lnD, q[2]);
  }
};

struct KaplanLaw {
  static constexpr int kCoords = 4;  // ln Nc, ln Dc, ratio = alpha_N/alpha_D, alpha_D
  template <typename T>
  T operator()(const T* q, const Features& f) const {
    return q[3] * lse(q[2] * (q[0] - f.lnN), q[1] - f.lnD);
  }
};

template <int Var>  // 0 = N, 1 = D, 2 = C
struct PowerLaw {
  static constexpr int kCoords = 3;  // a, e, alpha
  template <typename T>
  T operator()(const T* q, const Features& f) const {
    const double lx = Var == 0 ? f.lnN : Var == 1 ? f.lnD : f.lnC;
    return lse(q[0] - q[2] * lx, q[1]);
  }
};

// Variable projection form: L-hat = E + A g(theta_g) + B h(theta_h). The
// nonlinear parameters are searched on grids; g and h take their own grid
// points (or the same one, for a tied law).
struct LinearForm {
  std::vector<std::string> g_names, h_names;
  std::vector<std::vector<double>> g_grid, h_grid;  // points of each term's grid
  bool tied = false;     // g and h share one theta (h_grid unused)
  bool two_terms = true; // false: L-hat = E + A g (power laws)
  // ln g and ln h for a point; theta as listed in the grids.
  std::function<double(const double* theta, const Features&)> log_g, log_h;
  // Solver coordinates from (theta_g, theta_h) and ln E, ln A, ln B.
  std::function<std::vector<double>(const double* tg, const double* th, double e, double a, double b)> coords;
};

// One registry entry: the law's info, its functor wrapped for doubles and for
// Ceres, its coordinates and grids.
struct LawDef {
  LawInfo info;
  std::vector<std::string> coords;
  Grid grid;
  std::function<double(const double* q, const Features&)> log_loss;
  std::function<ceres::CostFunction*(const Features&)> residual;
  std::function<std::vector<double>(const std::vector<double>& x)> to_natural;
  std::function<std::vector<double>(const std::vector<double>& p)> to_coords;
  std::shared_ptr<LinearForm> linear;  // null: multistart only
};
const LawDef& def(Law);

template <typename F>
struct LogResidual {
  Features f;
  template <typename T>
  bool operator()(const T* q, T* r) const {
    r[0] = F{}(q, f) - T(f.lnL);
    return true;
  }
};

template <typename F>
void bind_functor(LawDef& d) {
  d.log_loss = [](const double* q, const Features& f) { return F{}(q, f); };
  d.residual = [](const Features& f) -> ceres::CostFunction* {
    return new ceres::AutoDiffCostFunction<LogResidual<F>, 1, F::kCoords>(new LogResidual<F>{f});
  };
}

}  // namespace scalelab::fit::detail
