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

void table_of(std::string& out, const json& obj, const std::string& head, const json& ident = json()) {
  const bool judged = ident.is_object() && !ident.empty();
  std::vector<std::string> cols{head, ">value", ">95% interval"};
  if (judged) cols.push_back("identified");
  Table t(cols);
  for (auto& [k, v] : obj.items()) {
    std::vector<std::string> row{k, num(v["value"]), range(v)};
    if (judged)
      row.push_back(!ident.contains(k) ? "-" : ident[k].value("identified", true) ? "yes" : "NO: " + ident[k].value("why", ""));
    t.add(row);
  }
  out += t.render();
}

std::string pct(const json& v) { return v.is_number() ? fmt::format("{:.2f}%", 100 * v.get<double>()) : "-"; }

// The backtest: one row per candidate (law x filter), the chosen one marked.
void backtest_of(std::string& out, const json& bt) {
  if (bt.is_null()) return;
  if (bt.contains("unavailable")) {
    out += fmt::format("backtest: none: {}\n", bt["unavailable"].get<std::string>());
    return;
  }
  int folds = static_cast<int>(bt["folds"].size()), test = 0;
  for (auto& f : bt["folds"]) test += f.value("test_points", 0);
  out += fmt::format("backtest: {} rolling-origin fold{} ({} held-out points), each of the largest budgets predicted "
                     "from the budgets below it\n", folds, folds == 1 ? "" : "s", test);
  Table t({" ", "law", "filter", ">params", ">held-out mean", ">max", ">95% PI coverage", "note"});
  const int chosen = bt.value("chosen", -1);
  int k = 0;
  for (auto& r : bt["candidates"]) {
    t.add({k == chosen ? "*" : "", r.value("law", ""), r.value("filter", ""), std::to_string(r.value("params", 0)),
           pct(r["mean_abs_rel_error"]), pct(r["max_abs_rel_error"]), pct(r["coverage"]), r.value("failed", "")});
    ++k;
  }
  out += t.render();
  if (chosen >= 0) {
    auto& c = bt["candidates"][chosen];
    out += fmt::format("chosen: {} with filter {}: {}\n", c.value("law", ""), c.value("filter", ""),
                       bt.value("why", ""));
  }
}

void interval_of(std::string& out, const json& pi) {
  if (pi.is_null()) return;
  if (!pi.value("available", false)) {
    out += fmt::format("prediction interval: none ({})\n", pi.value("why", ""));
    return;
  }
  out += fmt::format("prediction interval: {:.0f}%: log L within {:.2f} x sqrt(sd_boot^2 + {:.4f}^2 + ({:.4f} h)^2), "
                     "h = decades outside the fitted data; calibrated on {} backtest residuals\n",
                     100 * pi.value("level", 0.95), pi.value("q", 0.0), pi.value("noise", 0.0),
                     pi.value("kappa", 0.0), pi.value("n", 0));
}
}  // namespace

std::string render_fit(const json& r) {
  std::string out;
  const json& res = r["result"];
  const json& conv = r["convergence"];
  out += fmt::format("{} fit, approach {}, {} points from {}\n", r.value("law", "?"), r.value("approach", "?"),
                     r.value("n_points", 0), r.value("source", "?"));
  if (r["approach"] == "3" && conv.value("solver", "").rfind("variable projection", 0) == 0) {
    out += fmt::format("objective {:.10f} (summed Huber, delta {}); variable projection over {} exponent grid points, "
                       "{}/{} polished starts converged, {} reached the best{}; {:.2f} s on {} thread(s)\n",
                       r.value("objective", 0.0), conv.value("delta", 1e-3), conv.value("starts", 0),
                       conv.value("converged", 0), conv.value("polished", 0), conv.value("reached_best", 0),
                       conv.value("best_start_on_grid_boundary", false) ? " (on the grid's edge)" : "",
                       conv.value("seconds", 0.0), conv.value("threads", 1));
  } else if (r["approach"] == "3") {
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
  if (r["approach"] == "3" && res.contains("backtest")) {
    out += "\n";
    backtest_of(out, res["backtest"]);
    interval_of(out, res["prediction_interval"]);
  }
  out += "\n";
  const json ident = res.contains("identification") ? res["identification"]["params"] : json();
  table_of(out, r["params"], "parameter", ident);
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
