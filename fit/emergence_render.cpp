// The emergence record as text for a terminal.
#include <fmt/format.h>

#include <cmath>

#include "common/table.h"
#include "fit/emergence.h"

namespace scalelab::fit::emergence {

namespace {

std::string num(double d, bool big) {
  if (!std::isfinite(d)) return d > 0 ? "inf" : d < 0 ? "-inf" : "-";
  return big ? si(d) : fmt::format("{:.3g}", d);
}

std::string interval(const Estimate& e, bool big) {
  if (std::isnan(e.lo)) return num(e.value, big);
  return fmt::format("{} [{} .. {}]", num(e.value, big), num(e.lo, big), num(e.hi, big));
}

// indent: before every line but the first (which follows a label).
// rate: floor and ceiling; otherwise the values before and after (a loss falls).
std::string threshold_text(const Threshold& t, const std::string& x_label, const std::string& indent, bool rate) {
  if (!t.transition || !t.fit) {
    std::string s = "no transition:";
    for (auto& w : t.why_not) s += " " + w + ";";
    s.back() = '\n';
    return s;
  }
  const SigmoidFit& f = *t.fit;
  std::string s = fmt::format("threshold: {} = {} (95% interval), sharpness k {} per decade{}\n", x_label,
                              interval(f.threshold, true), interval(f.k, false),
                              f.k_at_bound ? " (at its bound: a step between adjacent points)" : "");
  s += fmt::format("{}{} {}, {} {}; a transition in {:.0f}% of {} bootstrap resamples\n", indent,
                   rate ? "floor" : "before", interval(f.left, false), rate ? "ceiling" : "after",
                   interval(f.right, false), 100 * f.transition_share, f.resamples);
  return s;
}

std::string over_training_text(const Result& r, bool rate) {
  std::string s;
  for (auto& g : r.over_training->groups) {
    s += fmt::format("{} [{}, N {}]\n", g.label, g.shape, si(static_cast<double>(g.params)));
    if (g.test) s += "  test:  " + threshold_text(*g.test, "step", "         ", rate);
    if (g.train) s += "  train: " + threshold_text(*g.train, "step", "         ", rate);
    if (g.delay) s += fmt::format("  the test {} switches {:.1f}x later than the train {}\n", r.metric, *g.delay, r.metric);
  }
  return s;
}

std::string scores_table(const OverScale& o) {
  Table t({"metric", ">I_y", ">breakthroughness B", ">linearity L", "power law", ">R^2", ">R^2 (log)", ">max |resid|"});
  for (auto& [m, sc] : o.shape_scores) {
    std::string law = "-", r2 = "-", r2l = "-", res = "-";
    if (const PowerTrend* c = o.trend(m)) {
      law = fmt::format("{} = {:.3g} x^{:.3f}", c->transform, c->A, c->b);
      r2 = num(c->r2, false), r2l = num(c->r2_log, false), res = num(c->max_abs_residual, false);
    }
    t.add({m, num(sc.I, false), num(sc.breakthroughness, false), num(sc.linearity, false), law, r2, r2l, res});
  }
  return t.render();
}

std::string method_text(const Prediction& p, const Method& m, const std::string& xl) {
  if (m.why_not) return fmt::format("  {}: none ({})\n", m.name, *m.why_not);
  const bool observed = std::isfinite(p.observed_crossing);
  std::string s = fmt::format("  {}: crosses {:.2f} at {} = {}", m.name, p.level, xl, num(m.predicted_crossing, true));
  if (observed) s += fmt::format(" (observed {}", num(p.observed_crossing, true));
  if (m.error_decades) s += fmt::format(", off by {:+.2f} decades", *m.error_decades);
  if (observed) s += ")";
  if (m.large_models)
    s += fmt::format("; on the {} larger runs max |error| {}", p.large_runs, num(m.large_models->max_abs_error, false));
  return s + "\n";
}

std::string over_scale_text(const OverScale& o, const std::string& xl, bool rate) {
  std::string s = threshold_text(o.threshold, xl, "", rate) + scores_table(o);
  if (const auto& c = o.mirage.composition)
    s += fmt::format("composition {}: per run R^2 {}, max |error| {}\n", c->source, num(c->per_run.r2, false),
                     num(c->per_run.max_abs_error, false));
  s += "mirage: " + o.mirage.verdict + "\n";
  const auto& p = o.prediction;
  s += fmt::format("prediction from the {} runs with {} <= {}:", p.small_runs, xl, si(p.below));
  if (!p.extrapolation) return s + " none (" + p.why_not + ")\n";
  s += "\n";
  for (auto& m : p.extrapolation->methods) s += method_text(p, m, xl);
  return s;
}

}  // namespace

std::string render(const Record& rec) {
  const auto& r = rec.result;
  const auto& xl = rec.conventions.x_label;
  std::string s = fmt::format("task {}, metric {}, against {} ({} runs used)\n", r.task, r.metric, xl,
                              rec.selection.used);
  if (r.over_training) return s + over_training_text(r, rec.conventions.rate);
  return s + over_scale_text(*r.over_scale, xl, rec.conventions.rate);
}

}  // namespace scalelab::fit::emergence
