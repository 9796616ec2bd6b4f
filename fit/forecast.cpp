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
}  // namespace

double Model::loss(double N, double D) const {
  if (kind == "chinchilla") return Chinchilla::from(p).loss(N, D);
  if (kind == "kaplan") return std::pow(std::pow(p[0] / N, p[2] / p[3]) + p[1] / D, p[3]);
  user_error("a {} fit has no L(N, D); refit with --law chinchilla or kaplan", kind);
}

std::pair<double, double> Model::optimal(double C) const {
  if (kind == "chinchilla") {
    auto c = Chinchilla::from(p);
    return {c.n_opt(C), c.d_opt(C)};
  }
  if (kind == "kaplan") {
    double x = argmin([&](double lnN) { return loss(std::exp(lnN), C / (6 * std::exp(lnN))); }, std::log(1e3),
                      std::log(C / 6 / 1e3));
    return {std::exp(x), C / (6 * std::exp(x))};
  }
  if (kind == "allocation") return {p[0] * std::pow(C, p[1]), p[2] * std::pow(C, p[3])};
  user_error("a power law in {} has no compute-optimal allocation; fit --law chinchilla, or --approach 1 or 2",
             variable);
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
  if (kind == "chinchilla") return p[0] + p[1] * std::pow(N, -p[3]);
  if (kind == "kaplan") return std::pow(p[0] / N, p[2]);
  if (kind == "power" && variable == "N") return p[0] + p[1] * std::pow(N, -p[2]);
  user_error("a {} fit has no L(N)", kind == "power" ? "power law in " + variable : kind);
}

double Model::tokens_for_loss(double N, double L) const {
  if (kind == "chinchilla") {
    double gap = L - p[0] - p[1] * std::pow(N, -p[3]);
    return gap > 0 ? std::pow(p[2] / gap, 1 / p[4]) : INFINITY;
  }
  if (kind == "kaplan") {
    double gap = std::pow(L, 1 / p[3]) - std::pow(p[0] / N, p[2] / p[3]);
    return gap > 0 ? p[1] / gap : INFINITY;
  }
  user_error("a {} fit has no L(N, D); refit with --law chinchilla or kaplan", kind);
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
      put("loss", "nats/token", m.loss(N, D));
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
                         {q.gpu_memory_gb, "--gpu-memory-gb"}})
    if (v && !(*v > 0 && std::isfinite(*v))) user_error("{} must be a positive number, got {}", flag, *v);
  if (q.compute && q.gpu_hours) user_error("give --compute or --gpu-hours, not both");
  if (q.tokens && !q.params) user_error("--tokens needs --params (the loss of N parameters trained on D tokens)");
  if (q.target_loss && m.has_loss_nd()) {
    double floor = m.kind == "chinchilla" ? m.p[0] : 0;
    if (*q.target_loss <= floor)
      user_error("--target-loss {} is at or below the fitted irreducible loss E = {:.4f}: no model reaches it",
                 *q.target_loss, floor);
  }
  auto point = evaluate(m, q);
  std::vector<Quantity> out;
  for (auto& v : point) out.push_back({v.name, v.unit, v.v, NAN, NAN, 0, false});
  if (draws.empty()) return out;
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
  return out;
}

}  // namespace scalelab::fit
