// The emergence record as text for a terminal.
#include <fmt/format.h>

#include <cmath>

#include "common/table.h"
#include "fit/emergence.h"

namespace scalelab::fit::emergence {

namespace {

std::string num(const json& v, bool big) {
  if (v.is_null()) return "-";
  const double d = v.get<double>();
  if (!std::isfinite(d)) return d > 0 ? "inf" : d < 0 ? "-inf" : "-";
  return big ? si(d) : fmt::format("{:.3g}", d);
}

std::string interval(const json& q, bool big) {
  if (q["lo"].is_null()) return num(q["value"], big);
  return fmt::format("{} [{} .. {}]", num(q["value"], big), num(q["lo"], big), num(q["hi"], big));
}

// indent: before every line but the first (which follows a label).
// rate: floor and ceiling; otherwise the values before and after (a loss falls).
std::string threshold_text(const json& t, const std::string& x_label, const std::string& indent, bool rate) {
  std::string s;
  if (t["transition"].get<bool>()) {
    s += fmt::format("threshold: {} = {} (95% interval), sharpness k {} per decade{}\n", x_label,
                     interval(t["threshold"], true), interval(t["k"], false),
                     t.value("k_at_bound", false) ? " (at its bound: a step between adjacent points)" : "");
    s += fmt::format("{}{} {}, {} {}; a transition in {:.0f}% of {} bootstrap resamples\n", indent,
                     rate ? "floor" : "before", interval(t["left"], false), rate ? "ceiling" : "after",
                     interval(t["right"], false),
                     100 * t["bootstrap"]["transition_share"].get<double>(), t["bootstrap"]["resamples"].get<int>());
  } else {
    s += "no transition:";
    for (auto& w : t["why_not"]) s += " " + w.get<std::string>() + ";";
    s.back() = '\n';
  }
  return s;
}

}  // namespace

std::string render(const json& rec) {
  const auto& r = rec["result"];
  const std::string xl = rec["conventions"].value("x_label", "x");
  const bool rate = rec["conventions"].value("rate", true);
  std::string s = fmt::format("task {}, metric {}, against {} ({} runs used)\n", r["task"].get<std::string>(),
                              r["metric"].get<std::string>(), xl, rec["selection"]["used"].get<int>());
  if (r.contains("over_training")) {
    const auto& ot = r["over_training"];
    for (auto& g : ot["groups"]) {
      s += fmt::format("{} [{}, N {}]\n", g["label"].get<std::string>(), g["shape"].get<std::string>(),
                       si(g["params"].get<double>()));
      if (g.contains("test")) s += "  test:  " + threshold_text(g["test"], "step", "         ", rate);
      if (g.contains("train")) s += "  train: " + threshold_text(g["train"], "step", "         ", rate);
      if (g.contains("delay"))
        s += fmt::format("  the test {} switches {:.1f}x later than the train {}\n", r["metric"].get<std::string>(),
                         g["delay"].get<double>(), r["metric"].get<std::string>());
    }
    return s;
  }
  const auto& o = r["over_scale"];
  s += threshold_text(o["threshold"], xl, "", rate);
  Table t({"metric", ">I_y", ">breakthroughness B", ">linearity L", "power law", ">R^2", ">R^2 (log)", ">max |resid|"});
  for (auto& [m, sc] : o["shape_scores"].items()) {
    std::string law = "-", r2 = "-", r2l = "-", res = "-";
    if (o["continuous"].contains(m)) {
      const auto& c = o["continuous"][m];
      law = fmt::format("{} = {:.3g} x^{:.3f}", c["transform"].get<std::string>(), c["A"].get<double>(),
                        c["b"].get<double>());
      r2 = num(c["r2"], false), r2l = num(c["r2_log"], false), res = num(c["max_abs_residual"], false);
    }
    t.add({m, num(sc["I"], false), num(sc["breakthroughness"], false), num(sc["linearity"], false), law, r2, r2l,
           res});
  }
  s += t.render();
  const auto& mi = o["mirage"];
  if (mi.contains("per_run"))
    s += fmt::format("composition {}: per run R^2 {}, max |error| {}\n", mi["composition"].get<std::string>(),
                     num(mi["per_run"]["r2"], false), num(mi["per_run"]["max_abs_error"], false));
  s += "mirage: " + mi["verdict"].get<std::string>() + "\n";
  const auto& p = o["prediction"];
  s += fmt::format("prediction from the {} runs with {} <= {}:", p["small_runs"].get<int>(), xl,
                   si(p["below"].get<double>()));
  if (p.contains("why_not")) return s + " none (" + p["why_not"].get<std::string>() + ")\n";
  s += "\n";
  for (auto& [name, m] : p["methods"].items()) {
    if (m.contains("why_not")) {
      s += fmt::format("  {}: none ({})\n", name, m["why_not"].get<std::string>());
      continue;
    }
    s += fmt::format("  {}: crosses {:.2f} at {} = {}", name, p["level"].get<double>(), xl,
                     num(m["predicted_crossing"], true));
    if (!p["observed_crossing"].is_null()) s += fmt::format(" (observed {}", num(p["observed_crossing"], true));
    if (m.contains("error_decades")) s += fmt::format(", off by {:+.2f} decades", m["error_decades"].get<double>());
    if (!p["observed_crossing"].is_null()) s += ")";
    if (m.contains("large_models"))
      s += fmt::format("; on the {} larger runs max |error| {}", p["large_runs"].get<int>(),
                       num(m["large_models"]["max_abs_error"], false));
    s += "\n";
  }
  return s;
}

}  // namespace scalelab::fit::emergence
