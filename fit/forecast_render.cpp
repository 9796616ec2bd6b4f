// `scalelab forecast` for people: one table of quantities with their
// intervals, the regime verdict and the notes it needs, and the assumptions.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "common/table.h"
#include "fit/dataset.h"
#include "fit/forecast_report.h"

namespace scalelab::fit {

namespace {

std::string show(const Quantity& q, double v) {
  if (std::isnan(v)) return "-";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (is_loss_unit(q.unit)) return fmt::format("{:.4f}", v);
  if (q.unit == "bytes") return si(v) + "B";
  if (q.unit == "s") {
    if (v < 2 * 86400) return duration(v);
    if (v < 2 * 365.25 * 86400) return fmt::format("{:.1f} days", v / 86400);
    return fmt::format("{:.1f} years", v / (365.25 * 86400));
  }
  if (q.unit == "GPUs") return fmt::format("{:.0f}", v);
  if (q.unit == "%") return fmt::format("{:.1f}%", v);
  if (q.unit == "h") return si(v) + " h";
  if (q.unit.empty()) return v >= 100 ? si(v) : fmt::format("{:.2f}", v);
  return si(v);
}

std::string confidence_text(const Quantity& x) {
  if (!x.interval) return "-";
  if (x.hi - x.lo <= 1e-12 * std::fabs(x.value)) return "(fixed)";
  std::string iv = show(x, x.lo) + " .. " + show(x, x.hi);
  if (x.undefined) iv += fmt::format(" ({} draws undefined)", x.undefined);
  return iv;
}

std::string table_text(const std::vector<Quantity>& qs, double level) {
  const bool any_pi = std::any_of(qs.begin(), qs.end(), [](auto& x) { return x.prediction; });
  std::vector<std::string> head{"quantity", ">value", fmt::format(">{:.0f}% confidence", 100 * level)};
  if (any_pi) head.push_back(fmt::format(">{:.0f}% prediction", 100 * level));
  head.push_back("unit");
  Table t(head);
  for (auto& x : qs) {
    // Durations, sizes and hours carry their unit in the value ("29.3 days", "44.7GB").
    const bool unit_in_value = x.unit == "s" || x.unit == "bytes" || x.unit == "h" || x.unit == "%";
    std::vector<std::string> row{x.name, show(x, x.value), confidence_text(x)};
    if (any_pi) row.push_back(x.prediction ? show(x, x.pred_lo) + " .. " + show(x, x.pred_hi) : "");
    row.push_back(unit_in_value ? "" : x.unit);
    t.add(row);
  }
  return t.render();
}

std::string notes_text(const Model& m, const std::optional<Horizon>& reg, double level) {
  std::string s;
  if (reg) {
    s += fmt::format("regime: {}\n", reg->verdict);
    if (!reg->inside)
      s += fmt::format("warning: this query lies outside the fitted data ({:.2f} decades); the prediction interval "
                       "widens with that distance, as calibrated by the backtest\n", reg->decades);
  }
  if (m.has_frontier() && !m.pi.available)
    s += fmt::format("prediction interval: none: {}; the confidence interval covers the law's own uncertainty only, "
                     "not the scatter of a new run or the error of extrapolating\n", m.pi.why);
  else if (m.pi.available && std::fabs(m.pi.level - level) > 1e-9)
    s += fmt::format("note: the prediction interval is calibrated at {:.0f}%, the level the fit was stored with\n",
                     100 * m.pi.level);
  for (auto& p : m.not_identified)
    s += fmt::format("warning: {} is not identified by the data; the prediction interval spans every bootstrap draw\n",
                     p);
  return s;
}

}  // namespace

std::string render_forecast(const ForecastReport& r) {
  const auto& rec = r.record;
  const auto& q = r.query;
  const auto& acc = find_accelerator(q.gpu);
  std::string s = fmt::format("fit {}: {} (approach {}) from {}, {}; losses in {}\n", rec.id, rec.law, rec.approach,
                              rec.source, rec.created_at, loss_unit_words(loss_unit(rec.conventions)));
  s += table_text(r.quantities, r.level);
  s += notes_text(r.model, r.regime, r.level);
  s += fmt::format("assumptions: C = 6ND; {} at {} TFLOP/s dense bf16, {} GB; MFU {:.2f}; {} bytes/param for weights, "
                   "gradients and AdamW state (activations not counted); confidence intervals from {} bootstrap "
                   "draws\n",
                   acc.name, q.peak_tflops.value_or(acc.peak_tflops), q.gpu_memory_gb.value_or(acc.memory_gb), q.mfu,
                   q.bytes_per_param, r.draws.size());
  return s;
}

}  // namespace scalelab::fit
