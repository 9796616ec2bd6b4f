// A sweep's runs and evals rows -> the emergence record: over scale
// (emergence_scale.cpp) or the transition step of every run group over training.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

#include "common/error.h"
#include "fit/emergence_detail.h"

namespace scalelab::fit::emergence {

namespace detail {

bool is_rate(const std::string& metric) { return metric == "exact_match" || metric.find("acc") != std::string::npos; }

namespace {

std::vector<Point> points_of(const std::vector<Obs>& obs) {
  std::vector<Point> pts;
  for (auto& o : obs) pts.push_back({o.x, o.y, o.n});
  return pts;
}

// Non-finite bounds (no bootstrap, or a degenerate one) are stored as null: NaN here.
Estimate estimate(double value, const Interval& iv) {
  return {value, std::isfinite(iv.lo) ? iv.lo : NAN, std::isfinite(iv.hi) ? iv.hi : NAN};
}

SigmoidFit sigmoid_fit(const ThresholdFit& f) {
  SigmoidFit s;
  s.best = f.best;
  s.threshold = estimate(f.best.threshold(), f.threshold);
  s.k = estimate(f.best.k, f.k);
  s.left = estimate(f.best.left, f.left);
  s.right = estimate(f.best.right, f.right);
  s.k_at_bound = f.k_at_bound;
  s.bic_sigmoid = f.bic_sigmoid, s.bic_linear = f.bic_linear, s.bic_constant = f.bic_constant;
  s.rise = f.rise, s.rise_se = f.rise_se;
  s.x_lo = f.x_lo, s.x_hi = f.x_hi;
  s.rss = f.rss;
  s.resamples = f.resamples, s.failed = f.failed, s.transition_share = f.transition_share;
  // At most 200 draws travel with the record: enough for a 95% band.
  const std::size_t stride = std::max<std::size_t>(1, f.draws.size() / 200);
  for (std::size_t i = 0; i < f.draws.size(); i += stride)
    s.draws.push_back({f.draws[i][0], f.draws[i][1], f.draws[i][2], f.draws[i][3]});
  return s;
}

}  // namespace

Threshold try_threshold(const std::vector<Obs>& obs, const ThresholdOptions& o) {
  Threshold t;
  t.observations = points_of(obs);
  std::set<double> levels;
  for (auto& p : obs) levels.insert(p.x);
  t.points = static_cast<int>(obs.size());
  t.levels = static_cast<int>(levels.size());
  if (levels.size() < 4) {
    t.why_not = {fmt::format("only {} distinct value(s) of x; a threshold fit needs at least 4", levels.size())};
    return t;
  }
  const auto f = fit_threshold(obs, o);
  t.transition = f.transition;
  t.why_not = f.why_not;
  t.points = f.points, t.levels = f.levels;
  t.fit = sigmoid_fit(f);
  return t;
}

}  // namespace detail

namespace {

using detail::is_rate;
using detail::RunRow;
using EvalsOf = std::function<std::vector<store::Eval>(const std::string&)>;

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

// ---- over training

std::vector<std::vector<const store::Run*>> seed_groups(const std::vector<const store::Run*>& runs) {
  std::vector<std::pair<std::string, std::vector<const store::Run*>>> groups;
  for (auto* r : runs) {
    const auto key = group_key(*r);
    auto it = std::find_if(groups.begin(), groups.end(), [&](auto& g) { return g.first == key; });
    if (it == groups.end()) groups.push_back({key, {r}});
    else it->second.push_back(r);
  }
  std::vector<std::vector<const store::Run*>> out;
  for (auto& g : groups) out.push_back(std::move(g.second));
  return out;
}

// The group's evaluations of `task` against the step; each run is a bootstrap unit.
std::vector<Obs> step_observations(const Request& q, const std::string& task,
                                   const std::vector<const store::Run*>& members, const EvalsOf& evals) {
  std::vector<Obs> obs;
  int unit = 0;
  for (auto* r : members) {
    for (auto& e : evals(r->id))
      if (e.task == task && e.metric == q.metric && e.step > 0 && std::isfinite(e.value))
        obs.push_back({static_cast<double>(e.step), e.value, is_rate(q.metric) ? static_cast<double>(e.n) : 0.0, unit, 0});
    ++unit;
  }
  std::sort(obs.begin(), obs.end(), [](auto& a, auto& b) { return a.x < b.x; });
  return obs;
}

RunGroup step_group(const Request& q, const std::vector<const store::Run*>& members, const EvalsOf& evals,
                    int& points) {
  RunGroup g;
  for (auto* r : members) g.runs.push_back({r->id, r->name});
  g.label = members.front()->name + (members.size() > 1 ? fmt::format(" (+{} seeds)", members.size() - 1) : "");
  g.shape = members.front()->shape;
  g.params = members.front()->params_total;
  for (const bool test : {true, false}) {
    const auto obs = step_observations(q, test ? q.task : q.task + "/train", members, evals);
    if (obs.empty()) continue;
    (test ? g.test : g.train) = detail::try_threshold(obs, q.threshold);
    points += static_cast<int>(obs.size());
  }
  if (g.test && g.train && g.test->transition && g.train->transition)
    g.delay = g.test->fit->threshold.value / g.train->fit->threshold.value;
  return g;
}

// Runs that differ only in their seed are one group: the bootstrap draws runs within it.
void over_training(const Request& q, const std::vector<store::Run>& runs, const EvalsOf& evals, Record& rec) {
  std::vector<const store::Run*> used;
  for (auto& r : runs)
    if (!evals(r.id).empty()) used.push_back(&r);
  OverTraining ot;
  int points = 0;
  for (auto& members : seed_groups(used)) {
    ot.groups.push_back(step_group(q, members, evals, points));
    ot.transitions += ot.groups.back().test && ot.groups.back().test->transition;
  }
  rec.selection.used = static_cast<int>(used.size());
  rec.n_points = points;
  rec.objective = 0.0;
  rec.result.over_training = std::move(ot);
}

// ---- over scale

// A run's last evaluated step of the task, or why it is left out.
std::optional<RunRow> run_row(const Request& q, const store::Run& r, const std::vector<store::Eval>& es,
                              std::vector<Skipped>& skipped) {
  auto skip = [&](std::string why) {
    skipped.push_back({r.id, std::move(why)});
    return std::nullopt;
  };
  std::int64_t last = -1;
  for (auto& e : es)
    if (e.task == q.task) last = std::max(last, e.step);
  if (last < 0) return skip("no evals of the task");
  if (r.status != "done") return skip("status is " + r.status);
  RunRow row;
  row.run = &r;
  row.x = run_x(r, q.x);
  row.step = last;
  for (auto& e : es)
    if (e.task == q.task && e.step == last && std::isfinite(e.value)) row.m[e.metric] = {e.value, static_cast<double>(e.n)};
  if (!(row.x > 0)) return skip("x is not positive");
  return row;
}

void over_scale(const Request& q, const std::vector<store::Run>& runs, const EvalsOf& evals, Record& rec) {
  std::vector<RunRow> rows;
  for (auto& r : runs)
    if (auto row = run_row(q, r, evals(r.id), rec.selection.skipped)) rows.push_back(std::move(*row));
  if (rows.empty()) user_error("sweep '{}': no finished run has evals of task '{}'", q.sweep_name, q.task);
  auto o = detail::scale_analysis(q, rows);
  rec.selection.used = static_cast<int>(rows.size());
  rec.n_points = o.threshold.points;
  rec.objective = o.threshold.fit ? o.threshold.fit->rss : 0.0;
  for (auto& r : rows) {
    RunRecord u{r.run->id, r.run->name, r.x, r.step, {}};
    for (auto& [k, v] : r.m) u.metrics.push_back({k, v.first});
    rec.result.runs.push_back(std::move(u));
  }
  rec.result.over_scale = std::move(o);
}

// ---- the request

void check_request(const Request& q) {
  if (q.x != "params" && q.x != "compute" && q.x != "tokens" && q.x != "step")
    user_error("--x must be params, compute, tokens or step, got '{}'", q.x);
  if (q.threshold.resamples < 0) user_error("--bootstrap must be >= 0, got {}", q.threshold.resamples);
  if (q.chance && !(*q.chance >= 0 && *q.chance < 1)) user_error("--chance must be in [0, 1), got {}", *q.chance);
  if (q.predict_below && !(*q.predict_below > 0))
    user_error("--predict-below must be positive, got {}", *q.predict_below);
}

std::string names(const std::set<std::string>& s) {
  std::string out;
  for (auto& n : s) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// Every run's evals, once; errors a user can act on when the task or metric is not there.
std::map<std::string, std::vector<store::Eval>> load_evals(const Request& q, const std::vector<store::Run>& runs,
                                                           const EvalsOf& evals) {
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
    std::set<std::string> all;
    for (auto& [t, m] : tasks) all.insert(t);
    user_error("sweep '{}' has no evals for task '{}'; tasks with evals: {}", q.sweep_name, q.task, names(all));
  }
  if (!tasks[q.task].count(q.metric))
    user_error("task '{}' has no metric '{}'; its metrics: {}", q.task, q.metric, names(tasks[q.task]));
  return by_run;
}

Record header(const Request& q, const std::vector<store::Run>& runs) {
  Record rec;
  rec.source = q.sweep_id;
  rec.conventions = {q.x, x_label(q.x), q.chance.value_or(0.0), is_rate(q.metric),
                     "95% percentile bootstrap over runs (within each scale) and binomial resampling of every rate "
                     "from its item count"};
  rec.selection = {q.sweep_name, q.task, q.metric, static_cast<int>(runs.size()), 0, {}};
  rec.result.task = q.task, rec.result.metric = q.metric, rec.result.x = q.x;
  return rec;
}

}  // namespace

double run_x(const store::Run& r, const std::string& x) {
  const double tokens = r.tokens_done > 0 ? r.tokens_done : r.planned_tokens;
  if (x == "params") return static_cast<double>(r.params_total);
  if (x == "tokens") return tokens;
  if (x == "compute") return tokens * r.flops_per_token;
  user_error("--x must be params, compute, tokens or step, got '{}'", x);
}

Record analyze(const Request& q, const std::vector<store::Run>& runs, const EvalsOf& evals) {
  check_request(q);
  auto by_run = load_evals(q, runs, evals);
  const EvalsOf cached = [&](const std::string& id) { return by_run.count(id) ? by_run[id] : evals(id); };
  Request qq = q;  // the threshold fit's bounds follow the metric
  qq.threshold.rate = is_rate(q.metric);
  qq.threshold.chance = q.chance.value_or(0.0);
  Record rec = header(q, runs);
  if (q.x == "step") over_training(qq, runs, cached, rec);
  else over_scale(qq, runs, cached, rec);
  return rec;
}

}  // namespace scalelab::fit::emergence
