// Forecast arithmetic. Every number comes from evaluate(), run once on the
// point estimate and once per bootstrap draw; intervals are percentiles.
#include "fit/forecast.h"

#include <fmt/format.h>

#include <cmath>
#include <functional>

#include "common/error.h"
#include "fit/bootstrap.h"

namespace scalelab::fit {

namespace {
// Minimises f over [lo, hi] (f unimodal after a coarse scan): scan, then golden section.
double argmin(const std::function<double(double)>& f, double lo, double hi) {
  const int n = 400;
  int best = 0;
  double fb = INFINITY;
  for (int i = 0; i <= n; ++i) {
    double v = f(lo + (hi - lo) * i / n);
    if (v < fb) fb = v, best = i;
  }
  double a = lo + (hi - lo) * std::max(0, best - 1) / n, b = lo + (hi - lo) * std::min(n, best + 1) / n;
  const double g = 0.5 * (std::sqrt(5.0) - 1);
  double c = b - g * (b - a), d = a + g * (b - a), fc = f(c), fd = f(d);
  for (int it = 0; it < 200 && b - a > 1e-12 * std::max(1.0, std::fabs(a)); ++it) {
    if (fc < fd) b = d, d = c, fd = fc, c = b - g * (b - a), fc = f(c);
    else a = c, c = d, fc = fd, d = a + g * (b - a), fd = f(d);
  }
  return 0.5 * (a + b);
}

// The inverse error function, for the normal quantile of a level (Giles 2010's single-precision form
// refined by two Newton steps).
double erfinv_approx(double x) {
  double w = -std::log((1 - x) * (1 + x)), p;
  if (w < 5) {
    w -= 2.5;
    p = 2.81022636e-08;
    for (double c : {3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503,
                     -0.00417768164, 0.246640727, 1.50140941})
      p = c + p * w;
  } else {
    w = std::sqrt(w) - 3;
    p = -0.000200214257;
    for (double c : {0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613, 0.00943887047,
                     1.00167406, 2.83297682})
      p = c + p * w;
  }
  double y = p * x;
  for (int i = 0; i < 2; ++i) y -= (std::erf(y) - x) / (2 / std::sqrt(M_PI) * std::exp(-y * y));
  return y;
}

// Solves g(x) = 0 for increasing or decreasing g on [lo, hi] by bisection; NaN if no sign change.
double bisect(const std::function<double(double)>& g, double lo, double hi) {
  double glo = g(lo), ghi = g(hi);
  if (!(glo * ghi <= 0)) return NAN;
  for (int it = 0; it < 200; ++it) {
    double mid = 0.5 * (lo + hi), gm = g(mid);
    if ((gm <= 0) == (glo <= 0)) lo = mid, glo = gm;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}
// The (N, D) a query is about: given, or what the forecast chose.
std::pair<double, double> query_nd(const Query& q, const std::vector<Quantity>& qs) {
  double N = q.params.value_or(NAN), D = q.tokens.value_or(NAN);
  for (auto& x : qs) {
    if (x.name == "N") N = x.value;
    if (x.name == "D" || x.name == "compute-optimal D" || x.name == "D to reach target") D = x.value;
  }
  return {N, D};
}

// The prediction interval of a predicted loss: the calibrated out-of-sample sd
// around the point estimate, with the bootstrap's spread inside it. Where a
// parameter is not identified, it also spans every draw's prediction.
void add_prediction_intervals(const Model& m, const Query& q, std::vector<Quantity>& out,
                              const std::vector<std::vector<double>>& samples, double level) {
  if (!m.pi.available || !m.range) return;
  auto [N, D] = query_nd(q, out);
  const double h = N > 0 && D > 0 ? horizon(*m.range, N, D).decades : 0;
  const double z = std::sqrt(2.0) * erfinv_approx(level);
  for (std::size_t k = 0; k < out.size(); ++k) {
    auto& x = out[k];
    if (x.unit != "nats/token" || (x.name != "loss" && x.name != "loss (compute-optimal)")) continue;
    const double sd_boot = x.interval && x.lo > 0 ? (std::log(x.hi) - std::log(x.lo)) / (2 * z) : 0;
    const double w = m.pi.half_width(sd_boot, h);
    x.prediction = true;
    x.pred_lo = x.value * std::exp(-w);
    x.pred_hi = x.value * std::exp(w);
    if (!m.not_identified.empty() && !samples[k].empty()) {
      auto [lo, hi] = std::minmax_element(samples[k].begin(), samples[k].end());
      x.pred_lo = std::min(x.pred_lo, *lo);
      x.pred_hi = std::max(x.pred_hi, *hi);
    }
  }
}

}  // namespace

std::optional<Law> Model::law() const {
  // An LR rule (lr = c N^-k) is no loss law: it has no registry entry.
  if (kind == "allocation" || kind == "lr" || kind.empty()) return std::nullopt;
  if (kind == "power") return law_from_name("power", variable == "N" ? "n" : variable == "D" ? "d" : "c");
  return law_from_name(kind);
}

bool Model::has_loss_nd() const {
  auto l = law();
  return l && info(*l).loss_nd;
}

double Model::loss(double N, double D, double U) const {
  if (!has_loss_nd()) user_error("a {} fit has no L(N, D); refit with an L(N, D) law (--law auto)", kind);
  return predict(*law(), p, Point{N, D, 6 * N * D, 0, "", U});
}

std::pair<double, double> Model::optimal(double C) const {
  if (has_loss_nd() && info(*law()).closed_form_optimum) {
    auto c = Chinchilla::from(p);
    return {c.n_opt(C), c.d_opt(C)};
  }
  if (has_loss_nd()) {
    double x = argmin([&](double lnN) { return loss(std::exp(lnN), C / (6 * std::exp(lnN))); }, std::log(1e3),
                      std::log(C / 6 / 1e3));
    return {std::exp(x), C / (6 * std::exp(x))};
  }
  if (kind == "allocation") return {p[0] * std::pow(C, p[1]), p[2] * std::pow(C, p[3])};
  user_error("a power law in {} has no compute-optimal allocation; fit --law auto, or --approach 1 or 2", variable);
}

bool Model::has_frontier() const {
  return has_loss_nd() || (kind == "allocation" && p.size() >= 7) || (kind == "power" && variable == "C");
}

double Model::frontier_loss(double C) const {
  if (has_loss_nd()) {
    auto [N, D] = optimal(C);
    return loss(N, D);
  }
  if (kind == "allocation" && p.size() >= 7) return p[4] + p[5] * std::pow(C, -p[6]);
  if (kind == "power" && variable == "C") return p[0] + p[1] * std::pow(C, -p[2]);
  user_error("this {} fit has no loss-versus-compute law (an allocation fit needs at least 5 budgets for L(C))", kind);
}

double Model::loss_limit(double N) const {
  if (has_loss_nd()) return loss(N, 1e45);  // every L(N, D) law's D term vanishes there
  if (kind == "power" && variable == "N") return p[0] + p[1] * std::pow(N, -p[2]);
  user_error("a {} fit has no L(N)", kind == "power" ? "power law in " + variable : kind);
}

double Model::tokens_for_loss(double N, double L) const {
  if (!has_loss_nd()) user_error("a {} fit has no L(N, D); refit with an L(N, D) law (--law auto)", kind);
  if (!(loss_limit(N) < L)) return INFINITY;
  // L(N, D) falls with D for every law here: bisect in ln D.
  double lnD = bisect([&](double x) { return loss(N, std::exp(x)) - L; }, 0, std::log(1e45));
  return std::isnan(lnD) ? INFINITY : std::exp(lnD);
}

std::vector<Value> evaluate(const Model& m, const Query& q) {
  std::vector<Value> out;
  auto put = [&](std::string name, std::string unit, double v) { out.push_back({std::move(name), std::move(unit), v}); };
  const double peak = q.peak_tflops ? *q.peak_tflops : find_accelerator(q.gpu).peak_tflops;
  const double gpu_mem = q.gpu_memory_gb ? *q.gpu_memory_gb : find_accelerator(q.gpu).memory_gb;
  std::optional<double> C = q.compute;
  if (q.gpu_hours) C = *q.gpu_hours * 3600 * peak * 1e12 * q.mfu;  // total GPU-hours
  double N = NAN, D = NAN;
  if (q.inference_tokens) {
    double target = NAN;
    if (q.target_loss) target = *q.target_loss;
    else if (C) target = m.frontier_loss(*C);
    else if (q.params && q.tokens) target = m.loss(*q.params, *q.tokens);
    else user_error("--inference-tokens needs a quality to hold: --target-loss, --compute, or --params with --tokens");
    if (!m.has_loss_nd()) m.loss(1, 1);  // throws the clear error
    const double Dinf = *q.inference_tokens;
    // Smallest N that can reach the target with infinite data, then minimise
    // training + inference FLOPs 6ND + 2N D_inf along the iso-loss curve.
    double lnmin = bisect([&](double x) { return m.loss_limit(std::exp(x)) - target; }, std::log(1e2), std::log(1e16));
    if (std::isnan(lnmin)) lnmin = std::log(1e2);
    auto total = [&](double x) {
      double n = std::exp(x), d = m.tokens_for_loss(n, target);
      return std::isfinite(d) ? 6 * n * d + 2 * n * Dinf : INFINITY;
    };
    double x = argmin(total, lnmin + 1e-9, lnmin + 25);
    N = std::exp(x);
    D = m.tokens_for_loss(N, target);
    double Cc = bisect([&](double lc) { return m.frontier_loss(std::exp(lc)) - target; }, std::log(1e12), std::log(1e40));
    auto [Nc, Dc] = m.optimal(std::exp(Cc));
    put("target loss", "nats/token", target);
    put("N", "params", N);
    put("D", "tokens", D);
    put("tokens per param", "", D / N);
    put("training FLOPs", "FLOP", 6 * N * D);
    put("inference FLOPs", "FLOP", 2 * N * Dinf);
    put("total FLOPs", "FLOP", 6 * N * D + 2 * N * Dinf);
    put("compute-optimal N", "params", Nc);
    put("compute-optimal D", "tokens", Dc);
    put("compute-optimal total FLOPs", "FLOP", 6 * Nc * Dc + 2 * Nc * Dinf);
    put("saving vs compute-optimal", "%", 100 * (1 - (6 * N * D + 2 * N * Dinf) / (6 * Nc * Dc + 2 * Nc * Dinf)));
    C = 6 * N * D;
  } else if (q.params) {
    N = *q.params;
    if (q.tokens) {
      D = *q.tokens;
      put("loss", "nats/token", m.loss(N, D, q.unique_tokens.value_or(0)));
      C = 6 * N * D;
    } else if (q.target_loss) {
      D = m.tokens_for_loss(N, *q.target_loss);
      put("D to reach target", "tokens", D);
      C = 6 * N * D;
    } else if (m.kind == "power") {
      put("loss", "nats/token", m.loss_limit(N));
    } else {
      // Compute-optimal training of this size: the C at which N_opt(C) = N.
      double lc = bisect([&](double x) { return std::log(m.optimal(std::exp(x)).first / N); }, std::log(1e6), std::log(1e45));
      C = std::exp(lc);
      D = m.optimal(*C).second;
      put("compute-optimal D", "tokens", D);
      if (m.has_frontier()) put("loss (compute-optimal)", "nats/token", m.frontier_loss(*C));
      if (m.has_loss_nd()) put("loss limit (D -> inf)", "nats/token", m.loss_limit(N));
    }
    if (std::isfinite(D)) put("tokens per param", "", D / N);
  } else if (q.target_loss) {
    double lc = bisect([&](double x) { return m.frontier_loss(std::exp(x)) - *q.target_loss; }, std::log(1e6), std::log(1e45));
    C = std::exp(lc);  // NaN when the target is below the law's floor
    if (std::isnan(lc)) C = INFINITY;
    if (std::isfinite(*C) && (m.has_loss_nd() || m.kind == "allocation")) {
      std::tie(N, D) = m.optimal(*C);
      put("N", "params", N);
      put("D", "tokens", D);
      put("tokens per param", "", D / N);
    }
  } else if (C) {
    if (m.kind != "power") {
      std::tie(N, D) = m.optimal(*C);
      put("N", "params", N);
      put("D", "tokens", D);
      put("tokens per param", "", D / N);
    }
    if (m.has_frontier()) put("loss", "nats/token", m.frontier_loss(*C));
  } else {
    user_error("nothing to forecast: give --compute, --gpu-hours, --target-loss, --params or --inference-tokens");
  }
  if (C) put("compute", "FLOP", *C);
  if (std::isfinite(N)) {
    const double mem = N * q.bytes_per_param;
    const double need = std::ceil(mem / (gpu_mem * 1e9));
    const double gpus = q.gpus ? std::max<double>(*q.gpus, need) : need;
    put("training memory", "bytes", mem);
    put("GPUs for memory", "GPUs", need);
    if (C && std::isfinite(*C)) {
      const double seconds = *C / (peak * 1e12 * q.mfu);
      put("GPU-hours", "h", seconds / 3600);
      put("GPUs for wall time", "GPUs", gpus);
      put("wall time", "s", seconds / gpus);
    }
  } else if (C && std::isfinite(*C)) {
    const double seconds = *C / (peak * 1e12 * q.mfu);
    put("GPU-hours", "h", seconds / 3600);
    if (q.gpus) {
      put("GPUs for wall time", "GPUs", *q.gpus);
      put("wall time", "s", seconds / *q.gpus);
    }
  }
  return out;
}

std::vector<Quantity> forecast(const Model& m, const std::vector<std::vector<double>>& draws, const Query& q,
                               double level) {
  if (q.mfu <= 0 || q.mfu > 1) user_error("--mfu must be in (0, 1], got {}", q.mfu);
  if (q.bytes_per_param <= 0) user_error("--bytes-per-param must be positive, got {}", q.bytes_per_param);
  if (q.gpus && *q.gpus < 1) user_error("--gpus must be >= 1, got {}", *q.gpus);
  for (auto [v, flag] : {std::pair{q.compute, "--compute"}, {q.params, "--params"}, {q.tokens, "--tokens"},
                         {q.target_loss, "--target-loss"}, {q.inference_tokens, "--inference-tokens"},
                         {q.gpu_hours, "--gpu-hours"}, {q.peak_tflops, "--peak-tflops"},
                         {q.gpu_memory_gb, "--gpu-memory-gb"}, {q.unique_tokens, "--unique-tokens"}})
    if (v && !(*v > 0 && std::isfinite(*v))) user_error("{} must be a positive number, got {}", flag, *v);
  if (q.compute && q.gpu_hours) user_error("give --compute or --gpu-hours, not both");
  if (q.tokens && !q.params) user_error("--tokens needs --params (the loss of N parameters trained on D tokens)");
  if (q.unique_tokens && !(q.tokens && m.law() && info(*m.law()).needs_unique))
    user_error("--unique-tokens goes with --params and --tokens, from a data-constrained fit (this one is {})", m.kind);
  if (q.unique_tokens && *q.unique_tokens > *q.tokens * (1 + 1e-9))
    user_error("--unique-tokens {:.4g} exceeds --tokens {:.4g}; expected U <= D", *q.unique_tokens, *q.tokens);
  if (q.target_loss && m.has_loss_nd()) {
    const int e = info(*m.law()).e_index;
    double floor = e >= 0 ? m.p[e] : 0;
    if (*q.target_loss <= floor)
      user_error("--target-loss {} is at or below the fitted irreducible loss E = {:.4f}: no model reaches it",
                 *q.target_loss, floor);
  }
  auto point = evaluate(m, q);
  std::vector<Quantity> out;
  for (auto& v : point) out.push_back({v.name, v.unit, v.v, NAN, NAN, 0, false});
  std::vector<std::vector<double>> samples(out.size());
  for (auto& d : draws) {
    Model md = m;
    md.p = d;
    std::vector<Value> vs;
    try {
      vs = evaluate(md, q);
    } catch (const UserError&) {
    }
    for (std::size_t k = 0; k < out.size(); ++k) {
      double v = NAN;
      for (auto& x : vs)
        if (x.name == out[k].name) v = x.v;
      if (std::isnan(v)) ++out[k].undefined;
      else samples[k].push_back(v);
    }
  }
  for (std::size_t k = 0; k < out.size(); ++k) {
    if (samples[k].empty()) continue;
    auto iv = percentile_interval(samples[k], level);
    out[k].lo = iv.lo, out[k].hi = iv.hi, out[k].interval = true;
  }
  add_prediction_intervals(m, q, out, samples, level);
  return out;
}

std::optional<Horizon> regime(const Model& m, const Query& q, const std::vector<Quantity>& qs) {
  if (!m.range) return std::nullopt;
  auto [N, D] = query_nd(q, qs);
  if (!(N > 0 && D > 0)) return std::nullopt;
  return horizon(*m.range, N, D);
}

}  // namespace scalelab::fit
