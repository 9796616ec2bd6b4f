// FitRecord <-> the JSON of the fits table: the one place each key is spelled.
// The writers keep the key order of the records 0.1.0 stored.
#include <fmt/format.h>

#include "fit/record.h"
#include "fit/record_reader.h"

namespace scalelab::fit {

using detail::In;

namespace {

json opt_num(const std::optional<double>& v) { return v ? json(*v) : json(); }

// ---- the parts every kind has

json estimates_json(const Estimates& es) {
  json out = json::object();
  for (auto& e : es) out[e.name] = {{"value", e.value}, {"lo", opt_num(e.lo)}, {"hi", opt_num(e.hi)}};
  return out;
}
Estimates read_estimates(const In& in) {
  Estimates out;
  for (auto& [name, v] : in.members()) out.push_back({name, v.num("value"), v.num_or_none("lo"), v.num_or_none("hi")});
  return out;
}

json model_json(const ModelSpec& m) { return {{"kind", m.kind}, {"variable", m.variable}, {"p", m.p}}; }
ModelSpec read_model(const In& in) { return {in.str("kind"), in.str("variable"), in.nums("p")}; }

json bootstrap_json(const BootstrapRecord& b) {
  json j = {{"resamples", b.resamples}, {"ok", b.ok},       {"failed", b.failed},
            {"failures", b.failures},   {"seed", b.seed},   {"level", b.level}};
  if (b.method) j["method"] = *b.method;
  if (b.grid_start_won) j["grid_start_won"] = *b.grid_start_won;
  j["seconds"] = b.seconds;
  j["draws"] = b.draws;
  return j;
}
BootstrapRecord read_bootstrap(const In& in) {
  BootstrapRecord b;
  b.resamples = in.int32("resamples");
  b.ok = in.int32("ok");
  b.failed = in.int32("failed");
  b.failures = in.strs("failures");
  b.seed = in.at("seed").natural();
  b.level = in.num("level");
  b.method = in.opt("method", [](const In& v) { return v.str(); });
  b.grid_start_won = in.opt("grid_start_won", [](const In& v) { return v.int32(); });
  b.seconds = in.num("seconds");
  b.draws = in.at("draws").list([](const In& d) { return d.nums(); });
  return b;
}

json stats_json(const ErrorStats& s) { return {{"mean_abs_rel_error", s.mean}, {"max_abs_rel_error", s.max}}; }
ErrorStats read_stats(const In& in) { return {in.num("mean_abs_rel_error"), in.num("max_abs_rel_error")}; }

json holdout_json(const Holdout& h) {
  json j = json::object();
  if (h.rule) j["rule"] = *h.rule;
  if (h.threshold) j["threshold"] = *h.threshold;
  if (h.train_points) j["train_points"] = *h.train_points;
  if (h.test_points) j["test_points"] = *h.test_points;
  if (h.n_opt) j["n_opt"] = stats_json(*h.n_opt);
  if (h.loss) j["loss"] = stats_json(*h.loss);
  if (h.error) j.update(stats_json(*h.error));
  if (h.quantity) j["quantity"] = *h.quantity;
  if (!h.points.empty()) {
    j["points"] = json::array();
    for (auto& p : h.points) j["points"].push_back({{"id", p.id}, {"C", p.C}, {"loss", p.loss}, {"predicted", p.predicted}});
  }
  if (!h.budgets.empty()) {
    j["budgets"] = json::array();
    for (auto& b : h.budgets) {
      json t = {{"C", b.C}, {"n_opt", b.n_opt}, {"predicted_n_opt", b.predicted_n_opt}};
      if (b.l_opt) t["l_opt"] = *b.l_opt;
      if (b.predicted_l_opt) t["predicted_l_opt"] = *b.predicted_l_opt;
      j["budgets"].push_back(t);
    }
  }
  if (!h.params.empty()) j["params"] = h.params;
  if (h.skipped) j["skipped"] = *h.skipped;
  return j;
}
Holdout read_holdout(const In& in) {
  auto str = [](const In& v) { return v.str(); };
  auto integer = [](const In& v) { return v.int32(); };
  Holdout h;
  h.rule = in.opt("rule", str);
  h.threshold = in.opt("threshold", [](const In& v) { return v.num(); });
  h.train_points = in.opt("train_points", integer);
  h.test_points = in.opt("test_points", integer);
  h.n_opt = in.opt("n_opt", read_stats);
  h.loss = in.opt("loss", read_stats);
  if (in.has("mean_abs_rel_error")) h.error = read_stats(in);
  h.quantity = in.opt("quantity", str);
  if (auto p = in.find("points"))
    h.points = p->list([](const In& x) { return HeldPoint{x.str("id"), x.num("C"), x.num("loss"), x.num("predicted")}; });
  if (auto b = in.find("budgets"))
    h.budgets = b->list([](const In& x) {
      auto num = [](const In& v) { return v.num(); };
      return HeldBudget{x.num("C"), x.num("n_opt"), x.num("predicted_n_opt"), x.opt("l_opt", num),
                        x.opt("predicted_l_opt", num)};
    });
  if (auto p = in.find("params")) h.params = p->nums();
  h.skipped = in.opt("skipped", str);
  return h;
}

// ---- Approach 3

json solver_json(const SolverConvergence& c) {
  return {{"starts", c.starts},
          {"converged", c.converged},
          {"reached_best", c.reached_best},
          {"best_start", c.best_start},
          {"best_start_x", c.best_start_x},
          {"best_start_on_grid_boundary", c.best_start_on_grid_boundary},
          {"optimum_outside_grid", c.optimum_outside_grid},
          {"best_iterations", c.best_iterations},
          {"total_iterations", c.total_iterations},
          {"max_iterations", c.max_iterations},
          {"threads", c.threads},
          {"seconds", c.seconds},
          {"solver", c.solver},
          {"polished", c.polished},
          {"function_tolerance", c.function_tolerance},
          {"gradient_tolerance", c.gradient_tolerance},
          {"parameter_tolerance", c.parameter_tolerance},
          {"delta", c.delta}};
}
SolverConvergence read_solver(const In& in) {
  SolverConvergence c;
  c.starts = in.int32("starts");
  c.converged = in.int32("converged");
  c.reached_best = in.int32("reached_best");
  c.best_start = in.int32("best_start");
  c.best_start_x = in.nums("best_start_x");
  c.best_start_on_grid_boundary = in.flag("best_start_on_grid_boundary");
  c.optimum_outside_grid = in.strs("optimum_outside_grid");
  c.best_iterations = in.int32("best_iterations");
  c.total_iterations = in.integer("total_iterations");
  c.max_iterations = in.int32("max_iterations");
  c.threads = in.int32("threads");
  c.seconds = in.num("seconds");
  c.solver = in.str("solver");
  c.polished = in.int32("polished");
  c.function_tolerance = in.num("function_tolerance");
  c.gradient_tolerance = in.num("gradient_tolerance");
  c.parameter_tolerance = in.num("parameter_tolerance");
  c.delta = in.num("delta");
  return c;
}

json backtest_json(const BacktestRecord& b) {
  json folds = json::array(), candidates = json::array();
  for (auto& f : b.folds)
    folds.push_back({{"train_points", f.train_points}, {"test_points", f.test_points}, {"c_test", f.c_test},
                     {"c_train_max", f.c_train_max}});
  for (auto& c : b.candidates)
    candidates.push_back({{"law", c.law}, {"filter", c.filter}, {"params", c.params}, {"tested", c.tested},
                          {"mean_abs_rel_error", opt_num(c.mean_abs_rel_error)},
                          {"max_abs_rel_error", opt_num(c.max_abs_rel_error)}, {"coverage", opt_num(c.coverage)},
                          {"failed", c.failed}});
  // A frontier fit's (no method: never backtested) leads with why, as 0.1.0 wrote it.
  if (!b.method && b.unavailable)
    return {{"unavailable", *b.unavailable}, {"candidates", candidates}, {"folds", folds}, {"chosen", b.chosen}};
  json j = json::object();
  if (b.method) j["method"] = *b.method;
  j["folds"] = folds;
  j["candidates"] = candidates;
  j["chosen"] = b.chosen;
  if (b.why) j["why"] = *b.why;
  if (b.unavailable) j["unavailable"] = *b.unavailable;
  return j;
}
BacktestRecord read_backtest(const In& in) {
  auto str = [](const In& v) { return v.str(); };
  BacktestRecord b;
  b.method = in.opt("method", str);
  b.folds = in.at("folds").list([](const In& f) {
    return BacktestFold{f.int32("train_points"), f.int32("test_points"), f.num("c_test"), f.num("c_train_max")};
  });
  b.candidates = in.at("candidates").list([](const In& c) {
    return BacktestCandidate{c.str("law"), c.str("filter"), c.int32("params"), c.int32("tested"),
                             c.num_or_none("mean_abs_rel_error"), c.num_or_none("max_abs_rel_error"),
                             c.num_or_none("coverage"), c.str("failed")};
  });
  b.chosen = in.int32("chosen");
  if (b.chosen >= static_cast<int>(b.candidates.size())) in.at("chosen").fail("is not a candidate's index");
  b.why = in.opt("why", str);
  b.unavailable = in.opt("unavailable", str);
  return b;
}

json interval_json(const PredictionInterval& p) {
  json j = {{"available", p.available}, {"level", p.level}};
  if (p.noise) j["noise"] = *p.noise;
  if (!p.available) {
    j["why"] = p.why;
    return j;
  }
  j["kappa"] = p.kappa;
  j["q"] = p.q;
  j["n"] = p.n;
  j["method"] = p.method;
  return j;
}
PredictionInterval read_interval(const In& in) {
  PredictionInterval p;
  p.available = in.flag("available");
  p.level = in.num("level");
  p.noise = in.opt("noise", [](const In& v) { return v.num(); });
  if (!p.available) {
    p.why = in.str("why");
    return p;
  }
  p.kappa = in.num("kappa");
  p.q = in.num("q");
  p.n = in.int32("n");
  p.method = in.str("method");
  return p;
}

json range_json(const Range& r) {
  return {{"c_lo", r.c_lo}, {"c_hi", r.c_hi}, {"n_lo", r.n_lo}, {"n_hi", r.n_hi},
          {"d_lo", r.d_lo}, {"d_hi", r.d_hi}, {"r_lo", r.r_lo}, {"r_hi", r.r_hi}};
}
Range read_range(const In& in) {
  return {in.num("c_lo"), in.num("c_hi"), in.num("n_lo"), in.num("n_hi"),
          in.num("d_lo"), in.num("d_hi"), in.num("r_lo"), in.num("r_hi")};
}

json identification_json(const Identification& id) {
  json params = json::object();
  for (auto& p : id.params) params[p.name] = {{"identified", p.identified}, {"why", p.why}};
  return {{"params", params}, {"not_identified", id.not_identified}};
}
Identification read_identification(const In& in) {
  Identification id;
  for (auto& [name, v] : in.at("params").members()) id.params.push_back({name, v.flag("identified"), v.str("why")});
  id.not_identified = in.strs("not_identified");
  return id;
}

json residuals_json(const Residuals& r) {
  json largest = json::array();
  for (auto& x : r.largest)
    largest.push_back({{"id", x.id}, {"N", x.N}, {"D", x.D}, {"C", x.C}, {"loss", x.loss},
                       {"predicted", x.predicted}, {"residual_log", x.residual_log}});
  return {{"rmse_log", r.rmse_log}, {"largest", largest}};
}
Residuals read_residuals(const In& in) {
  return {in.num("rmse_log"), in.at("largest").list([](const In& x) {
            return Residual{x.str("id"),   x.num("N"),         x.num("D"),           x.num("C"),
                            x.num("loss"), x.num("predicted"), x.num("residual_log")};
          })};
}

// ---- Approaches 2 and 1

json budgets_json(const std::vector<BudgetRecord>& budgets) {
  json out = json::array();
  for (auto& b : budgets)
    out.push_back({{"C", b.C}, {"runs", b.runs}, {"n_lo", b.n_lo}, {"n_hi", b.n_hi}, {"parabola", b.parabola},
                   {"has_minimum", b.has_minimum}, {"bracketed", b.bracketed}, {"n_opt", b.n_opt},
                   {"d_opt", b.d_opt}, {"l_opt", b.l_opt}, {"note", b.note}, {"suggest_sizes", b.suggest_sizes}});
  return out;
}
BudgetRecord read_budget(const In& in) {
  BudgetRecord b;
  b.C = in.num("C");
  b.runs = in.int32("runs");
  b.n_lo = in.num("n_lo");
  b.n_hi = in.num("n_hi");
  b.parabola = in.nums("parabola");
  if (b.parabola.size() != 3) in.at("parabola").fail("does not hold 3 coefficients");
  b.has_minimum = in.flag("has_minimum");
  b.bracketed = in.flag("bracketed");
  b.n_opt = in.num("n_opt");
  b.d_opt = in.num("d_opt");
  b.l_opt = in.num("l_opt");
  b.note = in.str("note");
  b.suggest_sizes = in.nums("suggest_sizes");
  return b;
}

json envelope_json(const std::vector<EnvelopeSample>& env) {
  json out = json::array();
  for (auto& p : env)
    out.push_back({{"C", p.C}, {"N", p.N}, {"D", p.D}, {"loss", p.loss}, {"run", p.run}, {"edge", p.edge}});
  return out;
}
EnvelopeSample read_sample(const In& in) {
  return {in.num("C"), in.num("N"), in.num("D"), in.num("loss"), in.str("run"), in.flag("edge")};
}

// ---- --law lr

json lr_scans_json(const std::vector<LrScanRecord>& scans) {
  json out = json::array();
  for (auto& s : scans)
    out.push_back({{"N", s.N}, {"D", s.D}, {"shape", s.shape}, {"lrs", s.lrs}, {"losses", s.losses},
                   {"runs", s.runs}, {"grid_lr", s.grid_lr}, {"lr_opt", s.lr_opt}, {"bracketed", s.bracketed},
                   {"note", s.note}});
  return out;
}
LrScanRecord read_lr_scan(const In& in) {
  return {in.num("N"),      in.num("D"),         in.str("shape"),      in.nums("lrs"),  in.nums("losses"),
          in.int32("runs"), in.num("grid_lr"),   in.num("lr_opt"),     in.flag("bracketed"), in.str("note")};
}
json lr_sizes_json(const std::vector<LrSizeRecord>& sizes) {
  json out = json::array();
  for (auto& s : sizes)
    out.push_back({{"N", s.N}, {"scans", s.scans}, {"bracketed", s.bracketed}, {"lr_opt", s.lr_opt}, {"used", s.used}});
  return out;
}
LrSizeRecord read_lr_size(const In& in) {
  return {in.num("N"), in.int32("scans"), in.int32("bracketed"), in.num("lr_opt"), in.flag("used")};
}
LrPart read_lr_part(const In& conv, const In& res) {
  return {conv.int32("sizes"), conv.int32("used"), res.at("scans").list(read_lr_scan),
          res.at("sizes").list(read_lr_size), read_identification(res.at("identification"))};
}

// ---- the convergence column and the result object, by kind

json convergence_json(const FitRecord& r) {
  if (auto* s = r.solver()) return solver_json(*s);
  if (auto* a = r.isoflop())
    return {{"budgets", a->budget_count}, {"used", a->used}, {"tolerance_decades", a->tolerance_decades}};
  if (auto* l = r.lr_rule()) return {{"sizes", l->sizes}, {"used", l->used}};
  auto& e = *r.envelope();
  return {{"envelope_points", e.envelope_points}, {"edge_points", e.edge_points}, {"winners", e.winners},
          {"smooth_frac", e.smooth_frac}};
}

json result_json(const FitRecord& r) {
  json res = json::object();
  if (auto* a = r.isoflop()) res["budgets"] = budgets_json(a->budgets);
  if (auto* e = r.envelope()) res["envelope"] = envelope_json(e->envelope);
  if (auto* l = r.lr_rule()) {
    res["scans"] = lr_scans_json(l->scans);
    res["sizes"] = lr_sizes_json(l->size_rows);
  }
  res["derived"] = estimates_json(r.derived);
  if (auto* l = r.law_fit()) res["residuals"] = residuals_json(l->residuals);
  const bool law3 = r.solver() != nullptr;
  if (law3) res["holdout"] = holdout_json(r.holdout);
  if (auto* b = r.backtest()) res["backtest"] = backtest_json(*b);
  if (auto* p = r.prediction_interval()) res["prediction_interval"] = interval_json(*p);
  if (auto* l = r.law_fit(); l && l->range) res["range"] = range_json(*l->range);
  if (auto* id = r.identification()) res["identification"] = identification_json(*id);
  res["model"] = model_json(r.model);
  if (!law3) res["holdout"] = holdout_json(r.holdout);
  res["bootstrap"] = bootstrap_json(r.bootstrap);
  res["warnings"] = r.warnings;
  res["seconds"] = r.seconds;
  return res;
}

LawPart read_law_part(const In& conv, const In& res) {
  LawPart p;
  p.convergence = read_solver(conv);
  p.residuals = read_residuals(res.at("residuals"));
  p.backtest = res.opt("backtest", read_backtest);
  p.prediction_interval = res.opt("prediction_interval", read_interval);
  p.range = res.opt("range", read_range);
  p.identification = res.opt("identification", read_identification);
  return p;
}

FrontierPart read_frontier_part(const In& conv, const In& res) {
  return {read_solver(conv), res.opt("backtest", read_backtest), res.opt("prediction_interval", read_interval)};
}

IsoflopPart read_isoflop_part(const In& conv, const In& res) {
  return {conv.int32("budgets"), conv.int32("used"), conv.num("tolerance_decades"),
          res.at("budgets").list(read_budget)};
}

EnvelopePart read_envelope_part(const In& conv, const In& res) {
  return {conv.int32("envelope_points"), conv.int32("edge_points"), conv.int32("winners"), conv.num("smooth_frac"),
          res.at("envelope").list(read_sample)};
}

}  // namespace

json FitRecord::to_json() const {
  json j;
  if (id != 0) {
    j["id"] = id;
    j["created_at"] = created_at;
  }
  j["source"] = source;
  j["law"] = law;
  j["approach"] = approach;
  j["selection"] = selection;
  j["conventions"] = conventions;
  j["params"] = estimates_json(params);
  j["objective"] = objective;
  j["n_points"] = n_points;
  j["convergence"] = convergence_json(*this);
  j["result"] = result_json(*this);
  return j;
}

FitRecord FitRecord::from_json(const json& j) {
  const std::string unnamed = "the fit record";
  std::string name = unnamed;
  if (j.is_object() && j.contains("id")) name = fmt::format("fit {}", In(j["id"], unnamed, "id").integer());
  const In in(j, name);
  FitRecord r;
  if (in.has("id")) {
    r.id = in.integer("id");
    r.created_at = in.str("created_at");
  }
  r.source = in.str("source");
  r.law = in.str("law");
  r.approach = in.str("approach");
  r.selection = in.at("selection").object();
  r.conventions = in.at("conventions").object();
  r.params = read_estimates(in.at("params"));
  r.objective = in.num("objective");
  r.n_points = in.integer("n_points");
  const In conv = in.at("convergence"), res = in.at("result");
  r.derived = read_estimates(res.at("derived"));
  r.model = read_model(res.at("model"));
  r.holdout = read_holdout(res.at("holdout"));
  r.bootstrap = read_bootstrap(res.at("bootstrap"));
  r.warnings = res.strs("warnings");
  r.seconds = res.num("seconds");
  if (r.approach == "1") r.part = read_envelope_part(conv, res);
  else if (r.approach == "2") r.part = read_isoflop_part(conv, res);
  else if (r.approach == "3" && r.model.kind == "power") r.part = read_frontier_part(conv, res);
  else if (r.approach == "3") r.part = read_law_part(conv, res);
  else if (r.approach == "lr") r.part = read_lr_part(conv, res);
  else in.at("approach").fail(fmt::format("is '{}', not 1, 2, 3 or lr", r.approach));
  return r;
}

}  // namespace scalelab::fit
