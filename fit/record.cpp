// Fit records <-> the store's fits table, and what forecast rebuilds from one.
#include "fit/record.h"

#include "common/error.h"

namespace scalelab::fit {

const Estimate* find(const Estimates& es, const std::string& name) {
  for (auto& e : es)
    if (e.name == name) return &e;
  return nullptr;
}

const BacktestCandidate* BacktestRecord::chosen_candidate() const {
  return chosen >= 0 && chosen < static_cast<int>(candidates.size()) ? &candidates[chosen] : nullptr;
}

const ParamVerdict* Identification::find(const std::string& name) const {
  for (auto& p : params)
    if (p.name == name) return &p;
  return nullptr;
}

PredictionInterval PredictionInterval::of(const Calibration& c) {
  PredictionInterval p;
  p.available = c.available;
  p.level = c.level;
  p.noise = c.noise;
  if (!c.available) {
    p.why = c.why;
    return p;
  }
  p.kappa = c.kappa, p.q = c.q, p.n = c.n;
  p.method = "log L within q * sqrt(sd_boot^2 + noise^2 + (kappa h)^2); h = decades outside the fitted range; "
             "kappa from the backtest residuals by moments, q their split-conformal quantile";
  return p;
}

Calibration PredictionInterval::calibration() const {
  Calibration c;
  c.available = available;
  c.why = why;
  c.level = level;
  c.noise = noise.value_or(0);
  c.kappa = kappa, c.q = q, c.n = n;
  return c;
}

const SolverConvergence* FitRecord::solver() const {
  if (auto* l = law_fit()) return &l->convergence;
  if (auto* f = frontier_fit()) return &f->convergence;
  return nullptr;
}

const BacktestRecord* FitRecord::backtest() const {
  if (auto* l = law_fit(); l && l->backtest) return &*l->backtest;
  if (auto* f = frontier_fit(); f && f->backtest) return &*f->backtest;
  return nullptr;
}

const PredictionInterval* FitRecord::prediction_interval() const {
  if (auto* l = law_fit(); l && l->prediction_interval) return &*l->prediction_interval;
  if (auto* f = frontier_fit(); f && f->prediction_interval) return &*f->prediction_interval;
  return nullptr;
}

const Identification* FitRecord::identification() const {
  if (auto* r = lr_rule()) return &r->identification;
  auto* l = law_fit();
  return l && l->identification ? &*l->identification : nullptr;
}

store::Fit to_store(const FitRecord& r) { return to_store(r.to_json()); }

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

FitRecord record_of(const store::Fit& f) { return FitRecord::from_json(from_store(f)); }

bool is_loss_law(const store::Fit& f) { return f.law != "emergence"; }
bool is_lr_rule(const store::Fit& f) { return f.law == "lr"; }

std::optional<store::Fit> latest_loss_law(const std::vector<store::Fit>& fits) {
  std::optional<store::Fit> out;
  for (auto& f : fits)
    if (is_loss_law(f) && !is_lr_rule(f) && (!out || f.id > out->id)) out = f;
  return out;
}

FitRecord loss_law_record(const store::Fit& f) {
  if (!is_loss_law(f))
    user_error("fit {} is an emergence fit (from `scalelab emergence`): forecast needs a loss-law fit from "
               "`scalelab fit`", f.id);
  if (is_lr_rule(f))
    user_error("fit {} is a learning-rate rule (from `scalelab fit --law lr`): forecast needs a loss-law fit; a "
               "sweep config uses this one as lr_rule = {{ fit = {} }}", f.id, f.id);
  return record_of(f);
}

Model model_of(const FitRecord& r) {
  Model model{r.model.kind, r.model.variable, r.model.p};
  // Records stored before the prediction interval existed have none: the forecast says so.
  model.pi.why = model.kind == "allocation"
                     ? "Approaches 1 and 2 are not backtested; fit --approach 3 for a prediction interval"
                     : "this fit was stored without a backtest (refit it)";
  if (auto* pi = r.prediction_interval()) model.pi = pi->calibration();
  if (auto* l = r.law_fit()) model.range = l->range;
  if (auto* id = r.identification()) model.not_identified = id->not_identified;
  return model;
}

std::vector<std::vector<double>> draws_of(const FitRecord& r) { return r.bootstrap.draws; }

Model model_of(const json& r) { return model_of(FitRecord::from_json(r)); }
std::vector<std::vector<double>> draws_of(const json& r) { return FitRecord::from_json(r).bootstrap.draws; }

}  // namespace scalelab::fit
