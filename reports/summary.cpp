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
Rows interval_rows(const json& obj, const std::string& head) {
  Rows r;
  r.headers = {head, ">value", ">95% interval"};
  for (auto& [k, v] : obj.items()) {
    const double lo = jnum(v, "lo"), hi = jnum(v, "hi");
    r.rows.push_back({k, sci(jnum(v, "value")),
                      std::isnan(lo) ? "–" : fmt::format("{} – {}", sci(lo), sci(hi))});
  }
  return r;
}
}  // namespace

Rows param_rows(const FitView& f) { return interval_rows(f.rec["params"], "parameter"); }

Rows derived_rows(const FitView& f) {
  const json& res = f.rec["result"];
  return interval_rows(res.contains("derived") ? res["derived"] : json::object(), "derived");
}

Rows forecast_rows(const FitView& f) {
  Rows r;
  if (!f.allocates()) return r;
  r.headers = {">compute C (FLOPs)", ">N_opt (params)", ">D_opt (tokens)", ">tokens / param"};
  const bool loss = f.has_frontier();
  if (loss) r.headers.push_back(">loss (nats/token)");
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
