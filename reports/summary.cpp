// The report's tables and paragraphs.
#include "reports/summary.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "common/table.h"
#include "fit/forecast.h"

namespace scalelab::reports {

std::string sci(double v) {
  if (std::isnan(v)) return "–";
  if (std::isinf(v)) return v > 0 ? "∞" : "−∞";
  const double a = std::fabs(v);
  if (a == 0) return "0";
  if (a >= 1e5 || a < 1e-3) {
    int e = static_cast<int>(std::floor(std::log10(a)));
    double m = v / std::pow(10.0, e);
    if (std::fabs(m) >= 9.9995) m /= 10, ++e;
    return fmt::format("{:.3f}e{}", m, e);
  }
  if (a >= 1e3) return fmt::format("{:.0f}", v);
  return fmt::format("{:.4g}", v);
}

std::string with_interval(double v, double lo, double hi) {
  if (std::isnan(lo) || std::isnan(hi)) return sci(v);
  return fmt::format("{} ({} – {})", sci(v), sci(lo), sci(hi));
}

namespace {
double jnum(const json& j, const char* k) {
  return j.contains(k) && j[k].is_number() ? j[k].get<double>() : NAN;
}
std::string loss_str(const std::optional<double>& v) { return v ? fmt::format("{:.4f}", *v) : "–"; }
}  // namespace

Rows run_rows(const ReportData& d) {
  Rows r;
  r.headers = {"run", "name", "status", "shape", ">N", ">N non-emb", ">D (tokens)", ">C (FLOPs)", ">val loss",
               ">train loss"};
  for (auto& x : d.runs) {
    std::string tokens = si(x.tokens_done);
    if (x.planned_tokens > 0 && x.tokens_done < x.planned_tokens * 0.9999) tokens += " / " + si(x.planned_tokens);
    r.rows.push_back({x.id.substr(0, 12), x.name, x.status, x.shape, si(static_cast<double>(x.params_total)),
                      si(static_cast<double>(x.params_non_embedding)), tokens, sci(run_compute(x)),
                      loss_str(x.final_val_loss), loss_str(x.final_train_loss)});
  }
  return r;
}

namespace {
// ident: result.identification.params, for an "identified" column (null: none).
Rows interval_rows(const json& obj, const std::string& head, const json& ident = json()) {
  Rows r;
  const bool judged = ident.is_object() && !ident.empty();
  r.headers = {head, ">value", ">95% interval"};
  if (judged) r.headers.push_back("identified");
  for (auto& [k, v] : obj.items()) {
    const double lo = jnum(v, "lo"), hi = jnum(v, "hi");
    r.rows.push_back({k, sci(jnum(v, "value")),
                      std::isnan(lo) ? "–" : fmt::format("{} – {}", sci(lo), sci(hi))});
    if (!judged) continue;
    const json& p = ident.contains(k) ? ident[k] : json::object();
    r.rows.back().push_back(!ident.contains(k)           ? "–"
                            : p.value("identified", true) ? "yes"
                                                          : "NO: " + p.value("why", std::string()));
  }
  return r;
}

const json& result_part(const FitView& f, const char* k) {
  static const json none;
  const json& res = f.rec["result"];
  return res.is_object() && res.contains(k) ? res[k] : none;
}

std::string pct(const json& v) {
  return v.is_number() && std::isfinite(v.get<double>()) ? fmt::format("{:.2f}%", 100 * v.get<double>()) : "–";
}
}  // namespace

Rows param_rows(const FitView& f) {
  const json& id = result_part(f, "identification");
  return interval_rows(f.rec["params"], "parameter", id.is_object() && id.contains("params") ? id["params"] : json());
}

Rows backtest_rows(const FitView& f) {
  Rows r;
  const json& bt = result_part(f, "backtest");
  if (!bt.is_object() || bt.contains("unavailable") || !bt.contains("candidates")) return r;
  const double level = result_part(f, "prediction_interval").value("level", 0.95);
  r.headers = {"",     "law", "filter", ">params", ">held-out points", ">mean |rel. error|", ">max |rel. error|",
               fmt::format(">{:.0f}% PI coverage", 100 * level), "note"};
  r.marked = bt.value("chosen", -1);
  for (auto& c : bt["candidates"]) {
    const bool chosen = static_cast<int>(r.rows.size()) == r.marked;
    r.rows.push_back({chosen ? "chosen" : "", c.value("law", ""), c.value("filter", ""),
                      std::to_string(c.value("params", 0)), std::to_string(c.value("tested", 0)),
                      pct(c["mean_abs_rel_error"]), pct(c["max_abs_rel_error"]), pct(c["coverage"]),
                      c.value("failed", std::string())});
  }
  return r;
}

Rows derived_rows(const FitView& f) {
  const json& res = f.rec["result"];
  return interval_rows(res.contains("derived") ? res["derived"] : json::object(), "derived");
}

Rows forecast_rows(const FitView& f) {
  Rows r;
  if (!f.allocates()) return r;
  r.headers = {">compute C (FLOPs)", ">N_opt (params)", ">D_opt (tokens)", ">tokens / param"};
  const bool loss = f.has_frontier();
  // Where a new run's loss will land is wider than where the law lies: both are shown.
  const bool pi = loss && f.model.pi.available && f.model.range;
  if (loss) r.headers.push_back(">loss (nats/token)");
  if (pi) r.headers.push_back(">loss 95% prediction interval");
  for (double C : {1e21, 1e22, 1e23, 1e24, 1e25}) {
    fit::Query q;
    q.compute = C;
    std::vector<fit::Quantity> qs;
    try {
      qs = fit::forecast(f.model, f.draws, q);
    } catch (const UserError&) {
      continue;
    }
    auto cell = [&](const std::string& name) {
      for (auto& x : qs)
        if (x.name == name) return x.interval ? with_interval(x.value, x.lo, x.hi) : sci(x.value);
      return std::string("–");
    };
    std::vector<std::string> row{sci(C), cell("N"), cell("D"), cell("tokens per param")};
    if (loss) row.push_back(cell("loss"));
    if (pi) {
      std::string cellpi = "–";
      for (auto& x : qs)
        if (x.name == "loss" && x.prediction) cellpi = fmt::format("{} – {}", sci(x.pred_lo), sci(x.pred_hi));
      row.push_back(cellpi);
    }
    r.rows.push_back(row);
  }
  return r;
}

std::string fit_overview(const FitView& f) {
  const json& r = f.rec;
  const json& conv = r["convergence"];
  const json& conventions = r["conventions"];
  std::string s = fmt::format("Fit {}, stored {}: {} points; N = {} parameters, {}.", f.id, r.value("created_at", "?"),
                              r.value("n_points", 0), conventions.value("params", "?"),
                              conventions.value("flops", "?"));
  if (f.approach == "3") {
    s += fmt::format(" Summed Huber objective {:.6g} (δ = {}); {} of {} starts converged and {} reached the best; the "
                     "best start is {} the grid.",
                     r.value("objective", 0.0), conv.value("delta", 1e-3), conv.value("converged", 0),
                     conv.value("starts", 0), conv.value("reached_best", 0),
                     conv.value("best_start_on_grid_boundary", false) ? "on the boundary of" : "inside");
  } else if (f.approach == "2") {
    s += fmt::format(" {} compute budgets, {} bracketed by the sizes sampled and used in the power laws.",
                     conv.value("budgets", 0), conv.value("used", 0));
  } else if (f.approach == "1") {
    s += fmt::format(" {} envelope points from {} runs ({} won by an extreme size, not fitted).",
                     conv.value("envelope_points", 0), conv.value("winners", 0), conv.value("edge_points", 0));
  }
  const json& res = r["result"];
  if (res.contains("residuals"))
    s += fmt::format(" Residual RMSE {:.4f} in log loss.", res["residuals"].value("rmse_log", 0.0));
  const json& b = res.contains("bootstrap") ? res["bootstrap"] : json::object();
  if (b.value("resamples", 0) > 0)
    s += fmt::format(" Intervals: 95% percentiles over {} bootstrap resamples ({} failed, seed {}).", b.value("ok", 0),
                     b.value("failed", 0), b.value("seed", 0));
  else
    s += " No bootstrap: no intervals.";
  if (!f.older.empty()) {
    std::string ids;
    for (auto id : f.older) ids += (ids.empty() ? "" : ", ") + std::to_string(id);
    s += fmt::format(" Supersedes earlier fit(s) {} of the same kind.", ids);
  }
  return s;
}

std::string holdout_text(const FitView& f) {
  const json& res = f.rec["result"];
  if (!res.contains("holdout")) return "";
  const json& h = res["holdout"];
  if (h.contains("skipped")) return "Hold-out check skipped: " + h["skipped"].get<std::string>() + ".";
  if (h.contains("mean_abs_rel_error")) {
    std::string what = f.approach == "3" ? "loss" : f.approach == "2" ? "optimal loss L*" : "N_opt";
    if (f.approach == "1") what = "N_opt";
    std::string s = fmt::format(
        "Hold-out ({}, C ≥ {}): refitted without those runs, the {} is predicted with mean absolute error {:.2f}% "
        "(max {:.2f}%)",
        h.value("rule", "threshold"), sci(jnum(h, "threshold")), what, 100 * jnum(h, "mean_abs_rel_error"),
        100 * jnum(h, "max_abs_rel_error"));
    if (h.contains("test_points"))
      s += fmt::format(" on {} held-out points, fitted on {}", h.value("test_points", 0), h.value("train_points", 0));
    if (f.approach == "2" && h.contains("n_opt"))
      s += fmt::format("; N_opt within {:.1f}% on average", 100 * jnum(h["n_opt"], "mean_abs_rel_error"));
    return s + ".";
  }
  if (h.contains("n_opt"))
    return fmt::format("Hold-out (C ≥ {}): N_opt predicted with mean absolute error {:.1f}% (max {:.1f}%).",
                       sci(jnum(h, "threshold")), 100 * jnum(h["n_opt"], "mean_abs_rel_error"),
                       100 * jnum(h["n_opt"], "max_abs_rel_error"));
  return "";
}

std::vector<std::string> fit_warnings(const FitView& f) {
  std::vector<std::string> out;
  const json& res = f.rec["result"];
  if (res.contains("warnings"))
    for (auto& w : res["warnings"])
      if (w.is_string()) out.push_back(w.get<std::string>());
  if (res.contains("budgets"))
    for (auto& b : res["budgets"])
      if (!b.value("bracketed", true) && !b.value("note", std::string()).empty()) {
        const std::string note = b["note"].get<std::string>();
        if (std::find(out.begin(), out.end(), note) == out.end()) out.push_back(note);
      }
  return out;
}

std::string backtest_text(const FitView& f) {
  const json& bt = result_part(f, "backtest");
  if (!bt.is_object()) return "";
  if (bt.contains("unavailable"))
    return "No backtest: " + bt["unavailable"].get<std::string>() + ". Forecasts carry the confidence interval only.";
  int test = 0;
  std::string folds;
  for (auto& x : bt["folds"]) {
    test += x.value("test_points", 0);
    folds += fmt::format("{}{} points from C = {} predicted from {} below C = {}", folds.empty() ? "" : "; ",
                         x.value("test_points", 0), sci(jnum(x, "c_test")), x.value("train_points", 0),
                         sci(jnum(x, "c_train_max")));
  }
  const int n = static_cast<int>(bt["folds"].size()), chosen = bt.value("chosen", -1);
  std::string s = fmt::format("Backtest ({}): {} fold{}, {} held-out points in all ({}). Each candidate law and point "
                              "filter is refitted on every fold and scored on the points it did not see.",
                              bt.value("method", "rolling origin"), n, n == 1 ? "" : "s", test, folds);
  if (chosen >= 0 && chosen < static_cast<int>(bt["candidates"].size())) {
    const json& c = bt["candidates"][chosen];
    s += fmt::format(" Chosen: {} with filter {}: {}.", c.value("law", ""), c.value("filter", ""), bt.value("why", ""));
  } else {
    const std::string why = bt.value("why", "");
    s += " No candidate could be scored" + (why.empty() ? std::string(".") : ": " + why + ".");
  }
  return s;
}

std::string interval_text(const FitView& f) {
  const json& pi = result_part(f, "prediction_interval");
  if (!pi.is_object()) return "";
  if (!pi.value("available", false))
    return "No prediction interval: " + pi.value("why", std::string("not calibrated")) + ".";
  return fmt::format(
      "{:.0f}% prediction interval (where a new run's loss will land, not only where the law lies): log L within "
      "± q·√(sd_boot² + noise² + (κ·h)²), with q = {:.3g}, noise = {:.3g}, κ = {:.3g} per decade and h the decades "
      "outside the fitted data; calibrated on {} held-out backtest residuals.",
      100 * pi.value("level", 0.95), jnum(pi, "q"), jnum(pi, "noise"), jnum(pi, "kappa"), pi.value("n", 0));
}

std::string identification_text(const FitView& f) {
  const json& id = result_part(f, "identification");
  if (!id.is_object() || !id.contains("not_identified") || id["not_identified"].empty()) return "";
  std::string names;
  for (auto& n : id["not_identified"]) {
    const std::string k = n.is_string() ? n.get<std::string>() : n.dump();
    const std::string why = id.contains("params") && id["params"].contains(k) ? id["params"][k].value("why", "") : "";
    names += (names.empty() ? "" : "; ") + k + (why.empty() ? "" : " (" + why + ")");
  }
  return "Not identified by these data: " + names +
         ". Their values and intervals are not measurements; loss forecasts widen their prediction intervals to "
         "span every bootstrap draw.";
}

std::string missing_fits_text(const ReportData& d) {
  if (!d.fits.empty()) return "";
  std::string target = d.sweep ? d.sweep->name : "SWEEP";
  std::string s = fmt::format("No fits are stored for {}, so no law, band or forecast is drawn. ", d.scope);
  if (d.finished < 7)
    s += fmt::format(
        "There are {} finished run(s): too few to fit. Approach 3 (L(N, D) = E + A/N^α + B/D^β) needs at least 7 "
        "runs with 3 or more distinct N and D; Approach 2 needs 2 or more compute budgets with 3 or more sizes each. ",
        d.finished);
  s += fmt::format("When there are enough, run: scalelab fit {} --approach 1,2,3", target);
  return s;
}

}  // namespace scalelab::reports
