// A sweep's runs and evals rows -> the emergence record: threshold fit, mirage
// diagnostics and the small-model prediction over scale, or the transition
// step of every run group over training.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include "common/error.h"
#include "fit/emergence.h"

namespace scalelab::fit::emergence {

namespace {

// Rates (fractions of items) get binomial intervals and [chance, 1] bounds.
bool is_rate(const std::string& metric) {
  return metric == "exact_match" || metric.find("acc") != std::string::npos;
}

const std::vector<std::string> kContinuous = {"token_logprob", "seq_logprob", "edit_distance", "token_acc",
                                              "segment_loss"};

// Seeds of one configuration share everything but the seed (and the name
// that carries it): their resolved configs agree once those lines go.
std::string group_key(const store::Run& r) {
  std::istringstream in(r.config_toml);
  std::string out, line;
  while (std::getline(in, line)) {
    auto s = line.find_first_not_of(" \t");
    if (s != std::string::npos && (line.compare(s, 4, "seed") == 0 || line.compare(s, 4, "name") == 0)) {
      auto rest = line.substr(s + 4);
      if (rest.find_first_not_of(" \t") != std::string::npos && rest[rest.find_first_not_of(" \t")] == '=') continue;
    }
    out += line + "\n";
  }
  return out;
}

std::string x_label(const std::string& x) {
  if (x == "params") return "parameters N";
  if (x == "compute") return "training FLOPs C";
  if (x == "tokens") return "training tokens D";
  return "optimizer step";
}

json interval_json(double value, const Interval& iv) {
  return {{"value", value}, {"lo", std::isfinite(iv.lo) ? json(iv.lo) : json()},
          {"hi", std::isfinite(iv.hi) ? json(iv.hi) : json()}};
}

json threshold_json(const ThresholdFit& f, const std::vector<Obs>& obs) {
  json j;
  j["transition"] = f.transition;
  j["why_not"] = f.why_not;
  j["sigmoid"] = {{"left", f.best.left}, {"right", f.best.right}, {"k", f.best.k}, {"m", f.best.m}};
  j["threshold"] = interval_json(f.best.threshold(), f.threshold);
  j["k"] = interval_json(f.best.k, f.k);
  j["left"] = interval_json(f.best.left, f.left);
  j["right"] = interval_json(f.best.right, f.right);
  j["k_at_bound"] = f.k_at_bound;
  j["bic"] = {{"sigmoid", f.bic_sigmoid}, {"linear_in_log", f.bic_linear}, {"constant", f.bic_constant}};
  j["rise"] = f.rise;
  j["rise_se"] = f.rise_se;
  j["x_range"] = {f.x_lo, f.x_hi};
  j["points"] = f.points;
  j["levels"] = f.levels;
  j["rss"] = f.rss;
  j["bootstrap"] = {{"resamples", f.resamples}, {"failed", f.failed}, {"transition_share", f.transition_share}};
  // At most 200 draws travel with the record: enough for a 95% band.
  json d = json::array();
  const std::size_t stride = std::max<std::size_t>(1, f.draws.size() / 200);
  for (std::size_t i = 0; i < f.draws.size(); i += stride) d.push_back(f.draws[i]);
  j["draws"] = d;
  json pts = json::array();
  for (auto& o : obs) pts.push_back({o.x, o.y, o.n});
  j["observations"] = pts;
  return j;
}

// A threshold fit, or the reason there is none when the data cannot carry one.
json try_threshold(const std::vector<Obs>& obs, const ThresholdOptions& o, std::optional<ThresholdFit>* out = nullptr) {
  std::set<double> levels;
  for (auto& p : obs) levels.insert(p.x);
  if (levels.size() < 4) {
    json pts = json::array();
    for (auto& p : obs) pts.push_back({p.x, p.y, p.n});
    return {{"transition", false},
            {"why_not", {fmt::format("only {} distinct value(s) of x; a threshold fit needs at least 4", levels.size())}},
            {"points", obs.size()},
            {"levels", levels.size()},
            {"observations", pts}};
  }
  auto f = fit_threshold(obs, o);
  if (out) *out = f;
  return threshold_json(f, obs);
}

// The first x (log grid over [lo, hi]) where f crosses `level`, or NaN.
double crossing(const std::function<double(double)>& f, double level, double lo, double hi) {
  const int n = 400;
  double px = lo, pv = f(lo) - level;
  for (int i = 1; i <= n; ++i) {
    const double x = lo * std::pow(hi / lo, static_cast<double>(i) / n), v = f(x) - level;
    if (std::isfinite(pv) && std::isfinite(v) && (pv <= 0) != (v <= 0)) {
      double a = std::log(px), b = std::log(x);
      for (int k = 0; k < 60; ++k) {
        const double c = (a + b) / 2;
        ((f(std::exp(a)) - level <= 0) == (f(std::exp(c)) - level <= 0) ? a : b) = c;
      }
      return std::exp((a + b) / 2);
    }
    px = x, pv = v;
  }
  return NAN;
}

struct RunRow {
  const store::Run* run = nullptr;
  double x = 0;
  std::int64_t step = 0;
  std::map<std::string, std::pair<double, double>> m;  // metric -> (value, n)
};

double r2_of(const std::vector<double>& y, const std::vector<double>& f) {
  double mean = 0;
  for (double v : y) mean += v;
  mean /= static_cast<double>(y.size());
  double ss = 0, sr = 0;
  for (std::size_t i = 0; i < y.size(); ++i) ss += (y[i] - mean) * (y[i] - mean), sr += (y[i] - f[i]) * (y[i] - f[i]);
  return ss > 0 ? 1 - sr / ss : NAN;
}

json compare(const std::vector<double>& y, const std::vector<double>& f) {
  double worst = 0;
  for (std::size_t i = 0; i < y.size(); ++i) worst = std::max(worst, std::fabs(y[i] - f[i]));
  const double r2 = r2_of(y, f);
  return {{"r2", std::isfinite(r2) ? json(r2) : json()}, {"max_abs_error", worst}};
}

// The composition p_token^L: p from the token log-probability when there is
// one (exp of the mean per-token log-probability), else token accuracy.
std::optional<double> composed(const RunRow& r, std::string* source) {
  auto L = r.m.find("answer_len");
  if (L == r.m.end() || !(L->second.first > 0)) return std::nullopt;
  if (auto lp = r.m.find("token_logprob"); lp != r.m.end()) {
    if (source) *source = "exp(token_logprob)^answer_len";
    return std::exp(lp->second.first * L->second.first);
  }
  if (auto ta = r.m.find("token_acc"); ta != r.m.end()) {
    if (source) *source = "token_acc^answer_len";
    return std::pow(std::clamp(ta->second.first, 0.0, 1.0), L->second.first);
  }
  return std::nullopt;
}

json scale_analysis(const Request& q, const std::vector<RunRow>& rows, json& record) {
  const ThresholdOptions& o = q.threshold;
  std::map<double, int> level_of;
  for (auto& r : rows) level_of[r.x] = 0;
  int li = 0;
  for (auto& [x, i] : level_of) i = li++;

  std::vector<Obs> obs;
  std::vector<double> xs, ys;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    auto it = rows[i].m.find(q.metric);
    if (it == rows[i].m.end()) continue;
    obs.push_back({rows[i].x, it->second.first, is_rate(q.metric) ? it->second.second : 0.0, static_cast<int>(i),
                   level_of[rows[i].x]});
    xs.push_back(rows[i].x), ys.push_back(it->second.first);
  }
  std::optional<ThresholdFit> tf;
  json out;
  out["threshold"] = try_threshold(obs, o, &tf);
  const bool transition = tf && tf->transition;

  // Mirage diagnostics.
  auto shape = shape_scores(xs, ys);
  json scores = json::object();
  scores[q.metric] = {{"I", shape.I}, {"breakthroughness", shape.breakthroughness}, {"linearity", shape.linearity},
                      {"scales", shape.points}};
  json trends = json::object();
  std::map<std::string, PowerTrend> trend_of;
  for (auto& metric : kContinuous) {
    if (metric == q.metric) continue;
    std::vector<double> cx, cy;
    for (auto& r : rows)
      if (auto it = r.m.find(metric); it != r.m.end() && std::isfinite(it->second.first))
        cx.push_back(r.x), cy.push_back(it->second.first);
    if (cx.empty()) continue;
    auto s = shape_scores(cx, cy);
    scores[metric] = {{"I", s.I}, {"breakthroughness", s.breakthroughness}, {"linearity", s.linearity},
                      {"scales", s.points}};
    auto t = fit_trend(metric, cx, cy);
    if (!t) continue;
    json res = json::array();
    for (auto& [x, e] : t->residuals) res.push_back({x, e});
    json pts = json::array();
    for (std::size_t i = 0; i < cx.size(); ++i) pts.push_back({cx[i], cy[i]});
    trends[metric] = {{"law", fmt::format("{} = A x^b", t->transform == "y" ? "y" : t->transform)},
                      {"A", t->A},
                      {"b", t->b},
                      {"transform", t->transform},
                      {"r2", std::isfinite(t->r2) ? json(t->r2) : json()},
                      {"r2_log", std::isfinite(t->r2_log) ? json(t->r2_log) : json()},
                      {"max_abs_residual", t->max_abs_residual},
                      {"residuals", res},
                      {"observations", pts}};
    trend_of.emplace(metric, *t);
  }
  out["shape_scores"] = scores;
  out["continuous"] = trends;

  // Does the continuous trend explain the jump? Compose per run, and from the
  // smooth power law of the token log-probability (or token accuracy).
  json mirage;
  std::vector<double> obs_y, per_run, smooth;
  std::string source;
  const std::string token_metric = trend_of.count("token_logprob") ? "token_logprob"
                                   : trend_of.count("token_acc")   ? "token_acc"
                                                                   : "";
  for (auto& r : rows) {
    auto it = r.m.find(q.metric);
    auto c = composed(r, &source);
    if (it == r.m.end() || !c) continue;
    obs_y.push_back(it->second.first);
    per_run.push_back(*c);
    if (!token_metric.empty()) {
      const double L = r.m.at("answer_len").first, t = trend_of.at(token_metric).at(r.x);
      smooth.push_back(token_metric == "token_logprob" ? std::exp(L * t) : std::pow(std::clamp(t, 0.0, 1.0), L));
    }
  }
  if (obs_y.size() >= 2) {
    mirage["composition"] = source;
    mirage["per_run"] = compare(obs_y, per_run);
    if (smooth.size() == obs_y.size()) {
      mirage["smooth"] = compare(obs_y, smooth);
      mirage["smooth"]["from"] = token_metric + " power law";
      const double r2 = mirage["smooth"]["r2"].is_null() ? NAN : mirage["smooth"]["r2"].get<double>();
      const bool explained = std::isfinite(r2) && r2 >= 0.8;
      mirage["explained"] = explained;
      mirage["verdict"] =
          !transition ? "no transition in the discrete metric, so no jump to explain"
          : explained ? fmt::format("the jump is explained by the smooth {} trend (R^2 {:.2f} of the composed "
                                    "prediction against {}): a mirage of the metric",
                                    token_metric, r2, q.metric)
                      : fmt::format("the smooth {} trend does not explain the jump (R^2 {:.2f} of the composed "
                                    "prediction against {})",
                                    token_metric, r2, q.metric);
    } else {
      mirage["verdict"] = "no continuous per-token metric to compose from";
    }
  } else {
    mirage["verdict"] = "no answer_len with token_logprob or token_acc: the composition p^L cannot be formed";
  }
  out["mirage"] = mirage;

  // Prediction from the smaller models.
  json pred;
  double lo = INFINITY, hi = 0;
  for (auto& r : rows) lo = std::min(lo, r.x), hi = std::max(hi, r.x);
  const double below = q.predict_below.value_or(std::sqrt(lo * hi));
  pred["below"] = below;
  std::vector<const RunRow*> small, large;
  for (auto& r : rows) (r.x <= below ? small : large).push_back(&r);
  std::set<double> small_x;
  for (auto* r : small) small_x.insert(r->x);
  pred["small_runs"] = small.size();
  pred["large_runs"] = large.size();
  const double chance = q.chance.value_or(0.0);
  const double level = transition ? (tf->best.left + tf->best.right) / 2 : (chance + 1) / 2;
  pred["level"] = level;
  pred["observed_crossing"] = transition ? json(tf->best.threshold()) : json();
  if (token_metric.empty() || small_x.size() < 2 || large.empty()) {
    pred["why_not"] = token_metric.empty() ? "no token_logprob or token_acc to extrapolate"
                      : large.empty()      ? "no runs above --predict-below to check against"
                                           : "fewer than 2 scales below --predict-below";
  } else {
    std::vector<double> sx, sy;
    double L = 0;
    int nl = 0;
    for (auto* r : small)
      if (auto it = r->m.find(token_metric); it != r->m.end()) sx.push_back(r->x), sy.push_back(it->second.first);
    for (auto& r : rows)
      if (auto it = r.m.find("answer_len"); it != r.m.end()) L += it->second.first, ++nl;
    auto t = fit_trend(token_metric, sx, sy);
    if (t && nl > 0) {
      L /= nl;
      pred["answer_len"] = L;
      pred["trend"] = {{"metric", token_metric}, {"A", t->A}, {"b", t->b}, {"transform", t->transform}};
      auto via_comp = [&](double x) {
        const double v = t->at(x);
        return token_metric == "token_logprob" ? std::exp(L * v) : std::pow(std::clamp(v, 0.0, 1.0), L);
      };
      json methods = json::object();
      auto report = [&](const std::string& name, const std::function<double(double)>& f, json extra) {
        std::vector<double> oy, py;
        for (auto* r : large)
          if (auto it = r->m.find(q.metric); it != r->m.end()) oy.push_back(it->second.first), py.push_back(f(r->x));
        json m = std::move(extra);
        const double c = crossing(f, level, lo / 100, hi * 100);
        m["predicted_crossing"] = std::isfinite(c) ? json(c) : json();
        if (std::isfinite(c) && transition) m["error_decades"] = std::log10(c / tf->best.threshold());
        if (!oy.empty()) m["large_models"] = compare(oy, py);
        json curve = json::array();
        for (int i = 0; i <= 60; ++i) {
          const double x = lo / 2 * std::pow(hi * 2 / (lo / 2), i / 60.0);
          curve.push_back({x, f(x)});
        }
        m["curve"] = curve;
        methods[name] = m;
      };
      report("composition", via_comp, {{"how", fmt::format("{} power law on the small models, then p^L", token_metric)}});
      // OLMo's two-step ladder: a sigmoid from the per-token loss to accuracy,
      // fitted on the small models only (Bhagia et al. 2024).
      if (token_metric == "token_logprob") {
        std::vector<Obs> so;
        int u = 0;
        for (auto* r : small) {
          auto a = r->m.find(q.metric);
          auto lp = r->m.find("token_logprob");
          if (a != r->m.end() && lp != r->m.end() && -lp->second.first > 0)
            so.push_back({-lp->second.first, a->second.first, a->second.second, u++, 0});
        }
        std::set<double> sl;
        for (auto& p : so) sl.insert(p.x);
        if (sl.size() >= 4) {
          ThresholdOptions so_opt = o;
          so_opt.chance = chance;
          auto sig = fit_sigmoid(so, so_opt);
          double amin = 1, amax = 0;
          for (auto& p : so) amin = std::min(amin, p.y), amax = std::max(amax, p.y);
          report("loss_sigmoid", [&](double x) { return sig.at(-t->at(x)); },
                 {{"how", "token_logprob power law on the small models, then a loss -> accuracy sigmoid fitted on "
                          "them (OLMo's two-step ladder)"},
                  {"sigmoid", {{"left", sig.left}, {"right", sig.right}, {"k", sig.k}, {"m", sig.m}}},
                  {"fitted_accuracy_range", {amin, amax}}});
        } else {
          methods["loss_sigmoid"] = {{"why_not", "fewer than 4 small runs to fit the loss -> accuracy sigmoid"}};
        }
      }
      pred["methods"] = methods;
    } else {
      pred["why_not"] = nl == 0 ? "no answer_len evals for the composition" : "the small models' trend could not be fitted";
    }
  }
  out["prediction"] = pred;
  record["n_points"] = obs.size();
  record["objective"] = tf ? tf->rss : 0.0;
  if (transition) {
    record["params"] = {{"threshold", out["threshold"]["threshold"]},
                        {"k", out["threshold"]["k"]},
                        {"floor", out["threshold"]["left"]},
                        {"ceiling", out["threshold"]["right"]}};
  }
  return out;
}

json step_analysis(const Request& q, const std::vector<const store::Run*>& runs,
                   const std::function<std::vector<store::Eval>(const std::string&)>& evals, json& record) {
  // Runs that differ only in their seed are one group: the bootstrap draws runs within it.
  std::vector<std::pair<std::string, std::vector<const store::Run*>>> groups;
  for (auto* r : runs) {
    const auto key = group_key(*r);
    auto it = std::find_if(groups.begin(), groups.end(), [&](auto& g) { return g.first == key; });
    if (it == groups.end()) groups.push_back({key, {r}});
    else it->second.push_back(r);
  }
  json out = json::array();
  int points = 0, transitions = 0;
  for (auto& [key, members] : groups) {
    json g;
    g["runs"] = json::array();
    for (auto* r : members) g["runs"].push_back({{"id", r->id}, {"name", r->name}});
    g["label"] = members.front()->name + (members.size() > 1 ? fmt::format(" (+{} seeds)", members.size() - 1) : "");
    g["shape"] = members.front()->shape;
    g["params"] = members.front()->params_total;
    for (const std::string& task : std::vector<std::string>{q.task, q.task + "/train"}) {
      std::vector<Obs> obs;
      int unit = 0;
      for (auto* r : members) {
        for (auto& e : evals(r->id))
          if (e.task == task && e.metric == q.metric && e.step > 0 && std::isfinite(e.value))
            obs.push_back({static_cast<double>(e.step), e.value, is_rate(q.metric) ? static_cast<double>(e.n) : 0.0,
                           unit, 0});
        ++unit;
      }
      if (obs.empty()) continue;
      std::sort(obs.begin(), obs.end(), [](auto& a, auto& b) { return a.x < b.x; });
      const std::string k = task == q.task ? "test" : "train";
      g[k] = try_threshold(obs, q.threshold);
      points += static_cast<int>(obs.size());
      if (k == "test" && g[k]["transition"].get<bool>()) ++transitions;
    }
    if (g.contains("test") && g.contains("train") && g["test"]["transition"].get<bool>() &&
        g["train"]["transition"].get<bool>())
      g["delay"] = g["test"]["threshold"]["value"].get<double>() / g["train"]["threshold"]["value"].get<double>();
    out.push_back(g);
  }
  record["n_points"] = points;
  record["objective"] = 0.0;
  return {{"groups", out}, {"transitions", transitions}};
}

}  // namespace

double run_x(const store::Run& r, const std::string& x) {
  const double tokens = r.tokens_done > 0 ? r.tokens_done : r.planned_tokens;
  if (x == "params") return static_cast<double>(r.params_total);
  if (x == "tokens") return tokens;
  if (x == "compute") return tokens * r.flops_per_token;
  user_error("--x must be params, compute, tokens or step, got '{}'", x);
}

json analyze(const Request& q, const std::vector<store::Run>& runs,
             const std::function<std::vector<store::Eval>(const std::string&)>& evals) {
  if (q.x != "params" && q.x != "compute" && q.x != "tokens" && q.x != "step")
    user_error("--x must be params, compute, tokens or step, got '{}'", q.x);
  // Which tasks and metrics exist, for the errors a user can act on.
  std::map<std::string, std::set<std::string>> tasks;
  std::map<std::string, std::vector<store::Eval>> by_run;
  for (auto& r : runs) {
    auto es = evals(r.id);
    for (auto& e : es) tasks[e.task].insert(e.metric);
    by_run[r.id] = std::move(es);
  }
  if (tasks.empty())
    user_error("sweep '{}' has no task evaluations (no evals rows): configure a task evaluation in the sweep "
               "(docs/emergence.md) and run it",
               q.sweep_name);
  if (!tasks.count(q.task)) {
    std::string names;
    for (auto& [t, m] : tasks) names += (names.empty() ? "" : ", ") + t;
    user_error("sweep '{}' has no evals for task '{}'; tasks with evals: {}", q.sweep_name, q.task, names);
  }
  if (!tasks[q.task].count(q.metric)) {
    std::string names;
    for (auto& m : tasks[q.task]) names += (names.empty() ? "" : ", ") + m;
    user_error("task '{}' has no metric '{}'; its metrics: {}", q.task, q.metric, names);
  }
  auto cached = [&](const std::string& id) { return by_run.count(id) ? by_run[id] : evals(id); };

  json record;
  record["source"] = q.sweep_id;
  record["law"] = "emergence";
  record["approach"] = q.task + ":" + q.metric + ":" + q.x;
  record["conventions"] = {{"x", q.x},
                           {"x_label", x_label(q.x)},
                           {"chance", q.chance.value_or(0.0)},
                           {"rate", is_rate(q.metric)},
                           {"interval", "95% percentile bootstrap over runs (within each scale) and binomial "
                                        "resampling of every rate from its item count"}};
  json skipped = json::array();
  json result;
  result["task"] = q.task;
  result["metric"] = q.metric;
  result["x"] = q.x;

  ThresholdOptions topt = q.threshold;
  topt.rate = is_rate(q.metric);
  topt.chance = q.chance.value_or(0.0);
  Request qq = q;
  qq.threshold = topt;
  int used = 0;
  if (q.x == "step") {
    std::vector<const store::Run*> rs;
    for (auto& r : runs)
      if (!cached(r.id).empty()) rs.push_back(&r), ++used;
    result["over_training"] = step_analysis(qq, rs, cached, record);
  } else {
    std::vector<RunRow> rows;
    for (auto& r : runs) {
      auto& es = by_run[r.id];
      std::int64_t last = -1;
      for (auto& e : es)
        if (e.task == q.task) last = std::max(last, e.step);
      if (last < 0) {
        skipped.push_back({{"run", r.id}, {"why", "no evals of the task"}});
        continue;
      }
      if (r.status != "done") {
        skipped.push_back({{"run", r.id}, {"why", "status is " + r.status}});
        continue;
      }
      RunRow row;
      row.run = &r;
      row.x = run_x(r, q.x);
      row.step = last;
      for (auto& e : es)
        if (e.task == q.task && e.step == last && std::isfinite(e.value))
          row.m[e.metric] = {e.value, static_cast<double>(e.n)};
      if (!(row.x > 0)) {
        skipped.push_back({{"run", r.id}, {"why", "x is not positive"}});
        continue;
      }
      rows.push_back(std::move(row));
    }
    used = static_cast<int>(rows.size());
    if (rows.empty()) user_error("sweep '{}': no finished run has evals of task '{}'", q.sweep_name, q.task);
    result["over_scale"] = scale_analysis(qq, rows, record);
    json per_run = json::array();
    for (auto& r : rows) {
      json m = json::object();
      for (auto& [k, v] : r.m) m[k] = v.first;
      per_run.push_back({{"run", r.run->id}, {"name", r.run->name}, {"x", r.x}, {"step", r.step}, {"metrics", m}});
    }
    result["runs"] = per_run;
  }
  record["selection"] = {{"sweep_name", q.sweep_name}, {"task", q.task},   {"metric", q.metric},
                         {"runs", runs.size()},        {"used", used},     {"skipped", skipped}};
  record["convergence"] = json::object();
  record["result"] = result;
  return record;
}

}  // namespace scalelab::fit::emergence
