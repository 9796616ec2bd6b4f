// The registry: one entry per law. Names, parameters, coordinate maps, start
// grids and variable-projection forms all live here, next to each other.
#include <cmath>

#include "common/error.h"
#include "fit/law_defs.h"

namespace scalelab::fit {
namespace detail {

Features Features::of(const Point& p) {
  Features f;
  f.N = p.N, f.D = p.D, f.U = p.U;
  f.lnN = p.N > 0 ? std::log(p.N) : 0;
  f.lnD = p.D > 0 ? std::log(p.D) : 0;
  f.lnC = p.C > 0 ? std::log(p.C) : 0;
  f.lnL = p.L > 0 ? std::log(p.L) : 0;
  return f;
}

namespace {
std::vector<double> steps(double lo, double hi, double step) {
  std::vector<double> v;
  for (int i = 0; lo + i * step <= hi + 1e-12; ++i) v.push_back(lo + i * step);
  return v;
}
std::vector<std::vector<double>> singles(const std::vector<double>& v) {
  std::vector<std::vector<double>> out;
  for (double x : v) out.push_back({x});
  return out;
}
std::vector<std::vector<double>> pairs(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<std::vector<double>> out;
  for (double x : a)
    for (double y : b) out.push_back({x, y});
  return out;
}
// Exponents searched by variable projection: 0.02 .. 1.5 in steps of 0.04.
const std::vector<double>& exponents() {
  static const auto v = steps(0.02, 1.5, 0.04);
  return v;
}
// ln R* for the data-constrained law: R* from 1 to 1e4 (1e4 is "no decay").
const std::vector<double>& log_rstars() {
  static const std::vector<double> v = {0, std::log(2.5), std::log(5), std::log(10), std::log(20),
                                        std::log(50), std::log(200), std::log(1e4)};
  return v;
}

LawDef chinchilla() {
  LawDef d;
  d.info = {Law::chinchilla, "chinchilla", "N,D", {"E", "A", "B", "alpha", "beta"},
            {true, true, true, false, false}, 0, false, true, true, "E + A/N^alpha + B/D^beta"};
  d.coords = {"a", "b", "e", "alpha", "beta"};
  d.grid = chinchilla_grid();
  d.to_natural = [](const std::vector<double>& x) {
    return std::vector<double>{std::exp(x[2]), std::exp(x[0]), std::exp(x[1]), x[3], x[4]};
  };
  d.to_coords = [](const std::vector<double>& p) {
    return std::vector<double>{std::log(p[1]), std::log(p[2]), std::log(p[0]), p[3], p[4]};
  };
  bind_functor<ChinchillaLaw>(d);
  auto lf = std::make_shared<LinearForm>();
  lf->g_names = {"alpha"}, lf->h_names = {"beta"};
  lf->g_grid = lf->h_grid = singles(exponents());
  lf->log_g = [](const double* t, const Features& f) { return -t[0] * f.lnN; };
  lf->log_h = [](const double* t, const Features& f) { return -t[0] * f.lnD; };
  lf->coords = [](const double* tg, const double* th, double e, double a, double b) {
    return std::vector<double>{a, b, e, tg[0], th[0]};
  };
  d.linear = lf;
  return d;
}

LawDef tied() {
  LawDef d;
  d.info = {Law::chinchilla_tied, "chinchilla-tied", "N,D", {"E", "A", "B", "alpha"},
            {true, true, true, false}, 0, false, true, true, "E + A/N^alpha + B/D^alpha"};
  d.coords = {"a", "b", "e", "alpha"};
  d.grid = {{"a", "b", "e", "alpha"}, {steps(0, 25, 5), steps(0, 25, 5), steps(-1, 1, 0.5), steps(0, 2, 0.5)}};
  d.to_natural = [](const std::vector<double>& x) {
    return std::vector<double>{std::exp(x[2]), std::exp(x[0]), std::exp(x[1]), x[3]};
  };
  d.to_coords = [](const std::vector<double>& p) {
    return std::vector<double>{std::log(p[1]), std::log(p[2]), std::log(p[0]), p[3]};
  };
  bind_functor<TiedLaw>(d);
  auto lf = std::make_shared<LinearForm>();
  lf->g_names = {"alpha"};
  lf->g_grid = singles(exponents());
  lf->tied = true;
  lf->log_g = [](const double* t, const Features& f) { return -t[0] * f.lnN; };
  lf->log_h = [](const double* t, const Features& f) { return -t[0] * f.lnD; };
  lf->coords = [](const double* tg, const double*, double e, double a, double b) {
    return std::vector<double>{a, b, e, tg[0]};
  };
  d.linear = lf;
  return d;
}

LawDef data_constrained() {
  LawDef d;
  d.info = {Law::data_constrained, "data-constrained", "N,D,U",
            {"E", "A", "B", "alpha", "beta", "R_D*", "R_N*"}, {true, true, true, false, false, true, true},
            0, true, true, false, "E + A/N'^alpha + B/D'^beta, D' and N' after Muennighoff et al. 2023"};
  d.coords = {"a", "b", "e", "alpha", "beta", "ln_RD", "ln_RN"};
  d.grid = {d.coords, {{0, 10, 20}, {0, 10, 20}, {-1, 0, 1}, {0.25, 0.5, 1}, {0.25, 0.5, 1},
                       {std::log(3), std::log(15), std::log(100)}, {std::log(3), std::log(15), std::log(100)}}};
  d.to_natural = [](const std::vector<double>& x) {
    return std::vector<double>{std::exp(x[2]), std::exp(x[0]), std::exp(x[1]), x[3], x[4],
                               std::exp(x[5]), std::exp(x[6])};
  };
  d.to_coords = [](const std::vector<double>& p) {
    return std::vector<double>{std::log(p[1]), std::log(p[2]), std::log(p[0]), p[3], p[4],
                               std::log(p[5]), std::log(p[6])};
  };
  bind_functor<DataConstrainedLaw>(d);
  auto lf = std::make_shared<LinearForm>();
  lf->g_names = {"alpha", "ln_RN"}, lf->h_names = {"beta", "ln_RD"};
  lf->g_grid = lf->h_grid = pairs(exponents(), log_rstars());
  lf->log_g = [](const double* t, const Features& f) {
    if (!(f.U > 0)) return -t[0] * f.lnN;
    const double un = unique_params(f);
    return -t[0] * log_effective(un, f.N / un - 1, t[1]);
  };
  lf->log_h = [](const double* t, const Features& f) {
    if (!(f.U > 0)) return -t[0] * f.lnD;
    return -t[0] * log_effective(f.U, f.D / f.U - 1, t[1]);
  };
  lf->coords = [](const double* tg, const double* th, double e, double a, double b) {
    return std::vector<double>{a, b, e, tg[0], th[0], th[1], tg[1]};
  };
  d.linear = lf;
  return d;
}

LawDef kaplan() {
  LawDef d;
  d.info = {Law::kaplan, "kaplan", "N,D", {"Nc", "Dc", "alpha_N", "alpha_D"}, {true, true, false, false},
            -1, false, true, false, "[(Nc/N)^(alpha_N/alpha_D) + Dc/D]^alpha_D"};
  d.coords = {"ln_Nc", "ln_Dc", "ratio", "alpha_D"};
  d.grid = {d.coords, {{15, 25, 35}, {15, 25, 35}, {0.5, 1, 2}, {0.05, 0.1, 0.2, 0.4}}};
  d.to_natural = [](const std::vector<double>& x) {
    return std::vector<double>{std::exp(x[0]), std::exp(x[1]), x[2] * x[3], x[3]};
  };
  d.to_coords = [](const std::vector<double>& p) {
    return std::vector<double>{std::log(p[0]), std::log(p[1]), p[2] / p[3], p[3]};
  };
  bind_functor<KaplanLaw>(d);
  return d;
}

template <int Var>
LawDef power(Law law, const char* var) {
  LawDef d;
  d.info = {law, "power", var, {"E", "A", "alpha"}, {true, true, false}, 0, false, false, false,
            std::string("E + A ") + var + "^-alpha"};
  d.coords = {"a", "e", "alpha"};
  std::vector<double> a;
  for (int i = 0; i <= 12; ++i) a.push_back(2.5 * i);
  d.grid = {d.coords, {a, {-1, -0.5, 0, 0.5, 1}, {0.05, 0.1, 0.2, 0.35, 0.5, 1.0}}};
  d.to_natural = [](const std::vector<double>& x) { return std::vector<double>{std::exp(x[1]), std::exp(x[0]), x[2]}; };
  d.to_coords = [](const std::vector<double>& p) { return std::vector<double>{std::log(p[1]), std::log(p[0]), p[2]}; };
  bind_functor<PowerLaw<Var>>(d);
  auto lf = std::make_shared<LinearForm>();
  lf->g_names = {"alpha"};
  lf->g_grid = singles(steps(0.01, 1.5, 0.01));
  lf->two_terms = false;
  lf->log_g = [](const double* t, const Features& f) {
    return -t[0] * (Var == 0 ? f.lnN : Var == 1 ? f.lnD : f.lnC);
  };
  lf->coords = [](const double* tg, const double*, double e, double a, double) {
    return std::vector<double>{a, e, tg[0]};
  };
  d.linear = lf;
  return d;
}

const std::vector<LawDef>& registry() {
  static const std::vector<LawDef> r = {chinchilla(), tied(), data_constrained(), kaplan(),
                                        power<0>(Law::power_n, "N"), power<1>(Law::power_d, "D"),
                                        power<2>(Law::power_c, "C")};
  return r;
}
}  // namespace

const LawDef& def(Law l) { return registry()[static_cast<std::size_t>(l)]; }

}  // namespace detail

const LawInfo& info(Law l) { return detail::def(l).info; }

const std::vector<Law>& nd_laws() {
  static const std::vector<Law> v = [] {
    std::vector<Law> out;
    for (int k = 0; k <= static_cast<int>(Law::power_c); ++k)
      if (info(static_cast<Law>(k)).loss_nd) out.push_back(static_cast<Law>(k));
    return out;
  }();
  return v;
}

Law law_from_name(const std::string& name, const std::string& x) {
  if (name == "power") {
    if (x == "n") return Law::power_n;
    if (x == "d") return Law::power_d;
    if (x == "c") return Law::power_c;
    user_error("--x must be n, d or c (the power law's variable), got '{}'", x);
  }
  std::string known;
  for (Law l : nd_laws()) {
    if (info(l).name == name) return l;
    known += info(l).name + ", ";
  }
  user_error("--law must be auto, {}power or lr, got '{}'", known, name);
}

std::string law_name(Law l) { return info(l).name; }
std::string law_variable(Law l) { return info(l).variable; }
std::vector<std::string> param_names(Law l) { return info(l).params; }
std::vector<double> to_solver(Law l, const std::vector<double>& p) { return detail::def(l).to_coords(p); }
std::vector<double> from_solver(Law l, const std::vector<double>& x) { return detail::def(l).to_natural(x); }
Grid default_grid(Law l) { return detail::def(l).grid; }

double predict(Law l, const std::vector<double>& p, const Point& pt) {
  const auto& d = detail::def(l);
  const auto q = d.to_coords(p);
  return std::exp(d.log_loss(q.data(), detail::Features::of(pt)));
}

double power_variable(Law law, const Point& p) {
  return law == Law::power_n ? p.N : law == Law::power_d ? p.D : p.C;
}

}  // namespace scalelab::fit
