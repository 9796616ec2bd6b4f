#pragma once
// Scaling laws and their fits (docs/fits.md). Pure functions over points: no
// store, no I/O. Every nonlinear fit runs on Ceres.
//
//   chinchilla        L = E + A/N^alpha + B/D^beta                 (Approach 3)
//   chinchilla-tied   L = E + A/N^alpha + B/D^alpha                (Gadre et al. 2024)
//   data-constrained  L = E + A/N'^alpha + B/D'^beta               (Muennighoff et al. 2023)
//   kaplan            L = [(Nc/N)^(alpha_N/alpha_D) + Dc/D]^alpha_D
//   power             L(x) = E + A x^-alpha, x = N, D or C         (single variable)
//
// Each law is one functor and one registry entry (fit/law_defs.h,
// fit/law_registry.cpp); everything here reads that table.
//
// Parametric laws are fitted in log space, as Chinchilla and Epoch did:
// minimise sum_i w_i Huber_delta(log Lhat_i - log L_i), the Huber loss summed
// (never averaged), in scipy.special.huber's units: 0.5 r^2 for |r| <= delta,
// delta (|r| - delta/2) beyond.
#include <cstdint>
#include <string>
#include <vector>

namespace scalelab::fit {

// One observation: a finished run, or a CSV row.
struct Point {
  double N = 0;  // parameters (per the chosen convention)
  double D = 0;  // training tokens, repeats included
  double C = 0;  // training FLOPs (per the chosen convention)
  double L = 0;  // final loss, nats/token
  std::string id;  // run id, or "FILE:LINE" for CSV rows
  double U = 0;    // unique training tokens; 0 = unknown (read as fresh data)
  double se = 0;   // standard error of L; 0 = unknown
  double epochs() const { return U > 0 ? D / U : 1.0; }
};

enum class Law { chinchilla, chinchilla_tied, data_constrained, kaplan, power_n, power_d, power_c };

// What the rest of the project may know about a law.
struct LawInfo {
  Law law;
  std::string name;                 // as --law spells it ("power" for the three power laws)
  std::string variable;             // "N,D" | "N,D,U" | "N" | "D" | "C"
  std::vector<std::string> params;  // natural parameters, the order of ParamFit::p
  std::vector<bool> positive;       // per parameter: a positive scale (judged in decades) or an exponent
  int e_index = -1;                 // the irreducible loss E in params; -1 if the law has none
  bool needs_unique = false;        // needs every point's unique tokens
  bool loss_nd = false;             // predicts L(N, D) (not only a frontier)
  bool closed_form_optimum = false; // Chinchilla's N_opt = G (C/6)^a applies
  std::string formula;
};
const LawInfo& info(Law);
// The laws `--law auto` chooses among (loss_nd laws), in registry order.
const std::vector<Law>& nd_laws();
// "chinchilla", "chinchilla-tied", "data-constrained", "kaplan", "power" (with x = n, d or c).
Law law_from_name(const std::string& name, const std::string& x = "c");
std::string law_name(Law);
std::string law_variable(Law);
std::vector<std::string> param_names(Law);
// Predicted loss for a point.
double predict(Law, const std::vector<double>& p, const Point& x);

struct Chinchilla {
  double E = 0, A = 0, B = 0, alpha = 0, beta = 0;
  static Chinchilla from(const std::vector<double>& p);  // {E, A, B, alpha, beta}; {E, A, B, alpha} = tied
  double loss(double N, double D) const;
  // Compute-optimal allocation under C = 6ND (Hoffmann et al. eq. 4).
  double a() const { return beta / (alpha + beta); }
  double b() const { return alpha / (alpha + beta); }
  double G() const;
  double n_opt(double C) const;
  double d_opt(double C) const;
};

// y = k x^exponent, fitted in log-log space.
struct LogLine {
  double k = 0, exponent = 0;
  double at(double x) const;
};

// How a solve went; stored with every fit.
struct Convergence {
  std::string solver;    // multistart | varpro
  int starts = 0;        // multistart: starts; varpro: grid points
  int converged = 0;     // Ceres reported CONVERGENCE (not the iteration cap, not failure)
  int reached_best = 0;  // ended within 1e-6 (relative) of the best objective
  int best_start = -1;   // index into the start list
  std::vector<double> best_start_x;  // that start, in the solver's coordinates
  bool best_start_on_grid_boundary = false;  // the winning start sits on the grid's edge
  std::vector<std::string> outside_grid;     // solver coordinates whose optimum lies outside the grid's range
  double first_start_gap = 0;  // (objective from start 0 - best) / best; the warm start in bootstraps
  int best_iterations = 0;
  std::int64_t total_iterations = 0;
  int max_iterations = 0;
  int polished = 0;  // varpro: grid points polished by Ceres
  double seconds = 0;
  int threads = 1;
};

enum class Solver { automatic, multistart, varpro };

struct SolveSettings {
  double delta = 1e-3;          // Huber threshold on log-loss residuals
  int max_iterations = 2000;    // Ceres' default of 50 leaves most starts unconverged
  double function_tolerance = 1e-12;
  double gradient_tolerance = 1e-10;
  double parameter_tolerance = 1e-10;
  int threads = 0;              // 0 = all hardware threads
  // automatic: variable projection where the law is linear in E, A, B, else the multistart.
  Solver solver = Solver::automatic;
};
std::string solver_name(Solver);
Solver solver_from_name(const std::string&);

// A start grid: the cartesian product of per-coordinate values (solver coordinates).
struct Grid {
  std::vector<std::string> names;
  std::vector<std::vector<double>> axes;
  std::vector<std::vector<double>> points() const;  // last axis varies fastest
  std::size_t size() const;
};

struct ParamFit {
  Law law = Law::chinchilla;
  std::vector<double> p;  // natural parameters, see param_names
  std::vector<double> x;  // solver coordinates (e.g. a = log A)
  double objective = 0;   // summed Huber in scipy units
  Convergence conv;
};

// Chinchilla's grid: alpha, beta in {0, .5, .., 2}; e in {-1, -.5, .., 1}; a, b in {0, 5, .., 25}.
// Solver coordinates (a, b, e, alpha, beta), as Epoch's code.
Grid chinchilla_grid();
// The multistart grid of a law (docs/fits.md).
Grid default_grid(Law);

// Fits a parametric law: the multistart from every start of the grid (or of
// `starts` when non-empty), or variable projection (see SolveSettings::solver).
// weights: per-point weights or bootstrap multiplicities; empty = all ones.
// Throws UserError on degenerate data (too few points, a single N or D, L <= 0).
ParamFit fit_law(Law, const std::vector<Point>&, const SolveSettings& = {},
                 const std::vector<double>& weights = {},
                 const std::vector<std::vector<double>>& starts = {});

// The objective for given natural parameters (summed Huber on log residuals).
double objective(Law, const std::vector<double>& p, const std::vector<Point>&, double delta,
                 const std::vector<double>& weights = {});
// Solver coordinates <-> natural parameters.
std::vector<double> to_solver(Law, const std::vector<double>& p);
std::vector<double> from_solver(Law, const std::vector<double>& x);

// Validates points for a law (positive, finite, enough spread, unique tokens
// where the law needs them); throws UserError.
void check_points(Law, const std::vector<Point>&);

// Least squares in log-log space: log y = log k + exponent log x (Ceres).
LogLine fit_log_line(const std::vector<double>& x, const std::vector<double>& y);

// The Pareto frontier of (x, L): points no other point beats with x' <= x and L' < L.
std::vector<Point> frontier(const std::vector<Point>&, Law power_law);
// The variable of a power law for a point.
double power_variable(Law, const Point&);

}  // namespace scalelab::fit
