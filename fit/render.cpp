// Text report of a fit record (the same content as --json, for people).
#include <fmt/format.h>

#include <cmath>

#include "common/table.h"
#include "fit/analysis.h"

namespace scalelab::fit {

using json = nlohmann::ordered_json;

namespace {
std::string num(const json& v) {
  if (!v.is_number()) return "-";
  double x = v.get<double>();
  if (!std::isfinite(x)) return x > 0 ? "inf" : "-";
  double a = std::fabs(x);
  if (a != 0 && (a >= 1e5 || a < 1e-3)) return fmt::format("{:.4g}", x);
  return fmt::format("{:.4f}", x);
}

std::string range(const json& p) {
  if (!p.contains("lo") || p["lo"].is_null()) return "-";
  return num(p["lo"]) + " .. " + num(p["hi"]);
}

void table_of(std::string& out, const json& obj, const std::string& head) {
  Table t({head, ">value", ">95% interval"});
  for (auto& [k, v] : obj.items()) t.add({k, num(v["value"]), range(v)});
  out += t.render();
}
}  // namespace

std::string render_fit(const json& r) {
  std::string out;
  const json& res = r["result"];
  const json& conv = r["convergence"];
  out += fmt::format("{} fit, approach {}, {} points from {}\n", r.value("law", "?"), r.value("approach", "?"),
                     r.value("n_points", 0), r.value("source", "?"));
  if (r["approach"] == "3") {
    out += fmt::format(
        "objective {:.10f} (summed Huber, delta {}); {}/{} starts converged, {} reached the best; best start #{}{}; "
        "{:.2f} s on {} thread(s)\n",
        r.value("objective", 0.0), conv.value("delta", 1e-3), conv.value("converged", 0), conv.value("starts", 0),
        conv.value("reached_best", 0), conv.value("best_start", -1),
        conv.value("best_start_on_grid_boundary", false) ? " (on the grid boundary)" : " (inside the grid)",
        conv.value("seconds", 0.0), conv.value("threads", 1));
  } else if (r["approach"] == "2") {
    out += fmt::format("{} budgets, {} bracketed and used\n", conv.value("budgets", 0), conv.value("used", 0));
    Table t({">budget C", ">runs", ">N range", ">N*", ">D*", ">L*", "bracketed"});
    for (auto& b : res["budgets"])
      t.add({num(b["C"]), std::to_string(b.value("runs", 0)), num(b["n_lo"]) + ".." + num(b["n_hi"]),
             num(b["n_opt"]), num(b["d_opt"]), num(b["l_opt"]), b.value("bracketed", false) ? "yes" : "NO"});
    out += t.render();
  } else {
    out += fmt::format("{} envelope points from {} distinct runs\n", conv.value("envelope_points", 0),
                       conv.value("winners", 0));
  }
  out += "\n";
  table_of(out, r["params"], "parameter");
  if (res.contains("derived") && !res["derived"].empty()) {
    out += "\n";
    table_of(out, res["derived"], "derived");
  }
  out += "\n";
  const json& h = res["holdout"];
  if (h.contains("skipped")) {
    out += fmt::format("hold-out: skipped ({})\n", h["skipped"].get<std::string>());
  } else if (h.contains("mean_abs_rel_error")) {
    std::string what = r["approach"] == "3" ? "loss" : r["approach"] == "2" ? "optimal loss" : "N_opt";
    out += fmt::format("hold-out ({}, C >= {}): {} mean abs rel error {:.2f}%, max {:.2f}%", h.value("rule", ""),
                       num(h["threshold"]), what, 100 * h["mean_abs_rel_error"].get<double>(),
                       100 * h["max_abs_rel_error"].get<double>());
    if (h.contains("test_points")) out += fmt::format(" ({} held out, {} fitted)", h["test_points"].get<int>(), h["train_points"].get<int>());
    if (r["approach"] == "2" && h.contains("n_opt"))
      out += fmt::format("; N_opt mean {:.1f}%", 100 * h["n_opt"]["mean_abs_rel_error"].get<double>());
    out += "\n";
  } else if (h.contains("n_opt")) {
    out += fmt::format("hold-out (C >= {}): N_opt mean abs rel error {:.1f}%, max {:.1f}%\n", num(h["threshold"]),
                       100 * h["n_opt"]["mean_abs_rel_error"].get<double>(),
                       100 * h["n_opt"]["max_abs_rel_error"].get<double>());
  }
  if (res.contains("residuals")) {
    out += fmt::format("residuals: RMSE {:.4f} in log loss; largest:", res["residuals"]["rmse_log"].get<double>());
    for (auto& x : res["residuals"]["largest"])
      out += fmt::format(" {} ({:+.4f})", x["id"].get<std::string>(), x["residual_log"].get<double>());
    out += "\n";
  }
  const json& b = res["bootstrap"];
  if (b.value("resamples", 0) > 0)
    out += fmt::format("bootstrap: {} resamples (seed {}), {} ok, {} failed, {:.1f} s; intervals are {:.0f}% percentiles\n",
                       b.value("resamples", 0), b.value("seed", 0), b.value("ok", 0), b.value("failed", 0),
                       b.value("seconds", 0.0), 100 * b.value("level", 0.95));
  else
    out += "bootstrap: off (no intervals)\n";
  for (auto& w : res["warnings"]) out += "warning: " + w.get<std::string>() + "\n";
  return out;
}

}  // namespace scalelab::fit
