// Fit records <-> the store's fits table, and sweep runs -> a dataset.
#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "fit/analysis.h"

namespace scalelab::fit {

using json = nlohmann::ordered_json;

store::Fit to_store(const json& r) {
  store::Fit f;
  f.source = r.value("source", "");
  f.law = r.value("law", "");
  f.approach = r.value("approach", "");
  f.selection = r.value("selection", json::object()).dump();
  f.conventions = r.value("conventions", json::object()).dump();
  f.params = r.value("params", json::object()).dump();
  f.objective = r.value("objective", 0.0);
  f.n_points = r.value("n_points", 0);
  f.convergence = r.value("convergence", json::object()).dump();
  f.result = r.value("result", json::object()).dump();
  return f;
}

json from_store(const store::Fit& f) {
  auto parse = [&](const std::string& s, const char* col) {
    try {
      return s.empty() ? json::object() : json::parse(s);
    } catch (const json::exception&) {
      user_error("fit {}: column {} is not valid JSON", f.id, col);
    }
  };
  json r;
  r["id"] = f.id;
  r["created_at"] = f.created_at;
  r["source"] = f.source;
  r["law"] = f.law;
  r["approach"] = f.approach;
  r["selection"] = parse(f.selection, "selection");
  r["conventions"] = parse(f.conventions, "conventions");
  r["params"] = parse(f.params, "params");
  r["objective"] = f.objective;
  r["n_points"] = f.n_points;
  r["convergence"] = parse(f.convergence, "convergence");
  r["result"] = parse(f.result, "result");
  return r;
}

Model model_of(const json& r) {
  if (!r.contains("result") || !r["result"].contains("model"))
    user_error("fit {} has no model to forecast from (stored by another tool?)", r.value("id", 0));
  const json& res = r["result"];
  auto& m = res["model"];
  Model model{m.value("kind", ""), m.value("variable", ""), m.value("p", std::vector<double>{})};
  // Records stored before the prediction interval existed have none of these: the forecast says so.
  model.pi.why = model.kind == "allocation"
                     ? "Approaches 1 and 2 are not backtested; fit --approach 3 for a prediction interval"
                     : "this fit was stored without a backtest (refit it)";
  if (res.contains("prediction_interval")) {
    const json& pi = res["prediction_interval"];
    model.pi.available = pi.value("available", false);
    model.pi.why = pi.value("why", "");
    model.pi.level = pi.value("level", 0.95);
    model.pi.noise = pi.value("noise", 0.0);
    model.pi.kappa = pi.value("kappa", 0.0);
    model.pi.q = pi.value("q", 0.0);
    model.pi.n = pi.value("n", 0);
  }
  if (res.contains("range")) {
    const json& g = res["range"];
    model.range = Range{g.value("c_lo", 0.0), g.value("c_hi", 0.0), g.value("n_lo", 0.0), g.value("n_hi", 0.0),
                        g.value("d_lo", 0.0), g.value("d_hi", 0.0), g.value("r_lo", 0.0), g.value("r_hi", 0.0)};
  }
  if (res.contains("identification"))
    model.not_identified = res["identification"].value("not_identified", std::vector<std::string>{});
  return model;
}

std::vector<std::vector<double>> draws_of(const json& r) {
  if (!r.contains("result") || !r["result"].contains("bootstrap")) return {};
  return r["result"]["bootstrap"].value("draws", std::vector<std::vector<double>>{});
}


}  // namespace scalelab::fit
