// The emergence record <-> its stored JSON. Key order and number types (an
// integer stays an integer, a double a double) are those the 0.1.0 release
// wrote, so a record written today dumps to the same text.
#include <fmt/format.h>

#include <algorithm>

#include "common/error.h"
#include "fit/emergence_record.h"

namespace scalelab::fit::emergence {

const PowerTrend* OverScale::trend(const std::string& metric) const {
  for (auto& c : continuous)
    if (c.trend.metric == metric) return &c.trend;
  return nullptr;
}

namespace {

// ---- writing

// The release wrote null explicitly where a value could be missing; NaN would dump the same.
json nullable(double v) { return std::isfinite(v) ? json(v) : json(); }

json sigmoid_json(const Sigmoid& s) { return {{"left", s.left}, {"right", s.right}, {"k", s.k}, {"m", s.m}}; }

json estimate_json(const Estimate& e) { return {{"value", e.value}, {"lo", nullable(e.lo)}, {"hi", nullable(e.hi)}}; }

json xy_json(const std::vector<XY>& v) {
  json a = json::array();
  for (auto& [x, y] : v) a.push_back({x, y});
  return a;
}

json agreement_json(const Agreement& a) { return {{"r2", nullable(a.r2)}, {"max_abs_error", a.max_abs_error}}; }

json threshold_json(const Threshold& t) {
  json j;
  j["transition"] = t.transition;
  j["why_not"] = t.why_not;
  const auto& f = t.fit;
  if (f) {
    j["sigmoid"] = sigmoid_json(f->best);
    j["threshold"] = estimate_json(f->threshold);
    j["k"] = estimate_json(f->k);
    j["left"] = estimate_json(f->left);
    j["right"] = estimate_json(f->right);
    j["k_at_bound"] = f->k_at_bound;
    j["bic"] = {{"sigmoid", f->bic_sigmoid}, {"linear_in_log", f->bic_linear}, {"constant", f->bic_constant}};
    j["rise"] = f->rise;
    j["rise_se"] = f->rise_se;
    j["x_range"] = {f->x_lo, f->x_hi};
  }
  j["points"] = t.points;
  j["levels"] = t.levels;
  if (f) {
    j["rss"] = f->rss;
    j["bootstrap"] = {{"resamples", f->resamples}, {"failed", f->failed}, {"transition_share", f->transition_share}};
    json d = json::array();
    for (auto& s : f->draws) d.push_back({s.left, s.right, s.k, s.m});
    j["draws"] = d;
  }
  json pts = json::array();
  for (auto& p : t.observations) pts.push_back({p.x, p.y, p.n});
  j["observations"] = pts;
  return j;
}

json trend_json(const OverScale::Continuous& c) {
  const auto& t = c.trend;
  json j;
  j["law"] = t.transform + " = A x^b";
  j["A"] = t.A;
  j["b"] = t.b;
  j["transform"] = t.transform;
  j["r2"] = nullable(t.r2);
  j["r2_log"] = nullable(t.r2_log);
  j["max_abs_residual"] = t.max_abs_residual;
  j["residuals"] = xy_json(t.residuals);
  j["observations"] = xy_json(c.observations);
  return j;
}

json mirage_json(const Mirage& m) {
  json j;
  if (const auto& c = m.composition) {
    j["composition"] = c->source;
    j["per_run"] = agreement_json(c->per_run);
    if (c->smooth) {
      j["smooth"] = agreement_json(c->smooth->agreement);
      j["smooth"]["from"] = c->smooth->from;
      j["explained"] = c->smooth->explained;
    }
  }
  j["verdict"] = m.verdict;
  return j;
}

json method_json(const Method& m) {
  if (m.why_not) return {{"why_not", *m.why_not}};
  json j;
  j["how"] = m.how;
  if (m.sigmoid) j["sigmoid"] = sigmoid_json(*m.sigmoid);
  if (m.fitted_accuracy_range) j["fitted_accuracy_range"] = {m.fitted_accuracy_range->first, m.fitted_accuracy_range->second};
  j["predicted_crossing"] = nullable(m.predicted_crossing);
  if (m.error_decades) j["error_decades"] = *m.error_decades;
  if (m.large_models) j["large_models"] = agreement_json(*m.large_models);
  j["curve"] = xy_json(m.curve);
  return j;
}

json prediction_json(const Prediction& p) {
  json j;
  j["below"] = p.below;
  j["small_runs"] = p.small_runs;
  j["large_runs"] = p.large_runs;
  j["level"] = p.level;
  j["observed_crossing"] = nullable(p.observed_crossing);
  if (!p.extrapolation) {
    j["why_not"] = p.why_not;
    return j;
  }
  const auto& e = *p.extrapolation;
  j["answer_len"] = e.answer_len;
  j["trend"] = {{"metric", e.trend.metric}, {"A", e.trend.A}, {"b", e.trend.b}, {"transform", e.trend.transform}};
  json methods = json::object();
  for (auto& m : e.methods) methods[m.name] = method_json(m);
  j["methods"] = methods;
  return j;
}

json over_scale_json(const OverScale& o) {
  json scores = json::object(), trends = json::object();
  for (auto& [metric, s] : o.shape_scores)
    scores[metric] = {{"I", s.I}, {"breakthroughness", s.breakthroughness}, {"linearity", s.linearity},
                      {"scales", s.points}};
  for (auto& c : o.continuous) trends[c.trend.metric] = trend_json(c);
  return {{"threshold", threshold_json(o.threshold)},
          {"shape_scores", scores},
          {"continuous", trends},
          {"mirage", mirage_json(o.mirage)},
          {"prediction", prediction_json(o.prediction)}};
}

json group_json(const RunGroup& g) {
  json j;
  j["runs"] = json::array();
  for (auto& [id, name] : g.runs) j["runs"].push_back({{"id", id}, {"name", name}});
  j["label"] = g.label;
  j["shape"] = g.shape;
  j["params"] = g.params;
  if (g.test) j["test"] = threshold_json(*g.test);
  if (g.train) j["train"] = threshold_json(*g.train);
  if (g.delay) j["delay"] = *g.delay;
  return j;
}

json result_json(const Result& r) {
  json j;
  j["task"] = r.task;
  j["metric"] = r.metric;
  j["x"] = r.x;
  if (r.over_training) {
    json groups = json::array();
    for (auto& g : r.over_training->groups) groups.push_back(group_json(g));
    j["over_training"] = {{"groups", groups}, {"transitions", r.over_training->transitions}};
  }
  if (r.over_scale) {
    j["over_scale"] = over_scale_json(*r.over_scale);
    json runs = json::array();
    for (auto& u : r.runs) {
      json m = json::object();
      for (auto& [k, v] : u.metrics) m[k] = v;
      runs.push_back({{"run", u.run}, {"name", u.name}, {"x", u.x}, {"step", u.step}, {"metrics", m}});
    }
    j["runs"] = runs;
  }
  if (r.bootstrap_seed) j["bootstrap_seed"] = *r.bootstrap_seed;
  return j;
}

json selection_json(const Selection& s) {
  json skipped = json::array();
  for (auto& k : s.skipped) skipped.push_back({{"run", k.run}, {"why", k.why}});
  return {{"sweep_name", s.sweep_name}, {"task", s.task}, {"metric", s.metric},
          {"runs", s.runs},             {"used", s.used}, {"skipped", skipped}};
}

// The over-scale threshold's estimates, copied to the fits table's params column.
json params_json(const Result& r) {
  if (!r.over_scale || !r.over_scale->threshold.transition || !r.over_scale->threshold.fit) return nullptr;
  const auto& f = *r.over_scale->threshold.fit;
  return {{"threshold", estimate_json(f.threshold)}, {"k", estimate_json(f.k)}, {"floor", estimate_json(f.left)},
          {"ceiling", estimate_json(f.right)}};
}

// ---- reading

// One JSON object of a record being read; errors name the key's path and the fit.
class Reader {
 public:
  Reader(const json& j, std::string path, std::string fit) : j_(j), path_(std::move(path)), fit_(std::move(fit)) {
    if (!j_.is_object()) fail("", "expected an object");
  }
  bool has(const std::string& key) const { return j_.contains(key); }
  const json& at(const std::string& key) const {
    auto it = j_.find(key);
    if (it == j_.end()) fail(key, "missing");
    return *it;
  }
  Reader obj(const std::string& key) const { return {at(key), where(key), fit_}; }
  double num(const std::string& key) const { return number(at(key), key); }
  std::int64_t integer(const std::string& key) const {
    const json& v = at(key);
    if (!v.is_number_integer()) fail(key, "expected an integer");
    return v.get<std::int64_t>();
  }
  int small(const std::string& key) const { return static_cast<int>(integer(key)); }
  bool flag(const std::string& key) const {
    const json& v = at(key);
    if (!v.is_boolean()) fail(key, "expected true or false");
    return v.get<bool>();
  }
  std::string str(const std::string& key) const {
    const json& v = at(key);
    if (!v.is_string()) fail(key, "expected a string");
    return v.get<std::string>();
  }
  std::vector<std::string> strs(const std::string& key) const {
    std::vector<std::string> out;
    for (auto& v : array(key)) {
      if (!v.is_string()) fail(key, "expected an array of strings");
      out.push_back(v.get<std::string>());
    }
    return out;
  }
  std::vector<double> nums(const std::string& key, std::size_t n) const { return numbers_of(array(key), key, n); }
  // Arrays of numbers of one width: [[x, y], ...], [[x, y, n], ...].
  std::vector<std::vector<double>> rows(const std::string& key, std::size_t width) const {
    std::vector<std::vector<double>> out;
    for (auto& r : array(key)) out.push_back(numbers_of(r, key, width));
    return out;
  }
  std::vector<XY> pairs(const std::string& key) const {
    std::vector<XY> out;
    for (auto& r : rows(key, 2)) out.push_back({r[0], r[1]});
    return out;
  }
  std::vector<Reader> objs(const std::string& key) const {
    std::vector<Reader> out;
    const json& a = array(key);
    for (std::size_t i = 0; i < a.size(); ++i) out.emplace_back(a[i], fmt::format("{}[{}]", where(key), i), fit_);
    return out;
  }
  // An object's members in stored order, each an object itself.
  std::vector<std::pair<std::string, Reader>> members(const std::string& key) const {
    std::vector<std::pair<std::string, Reader>> out;
    const Reader o = obj(key);
    for (auto& [k, v] : o.j_.items()) out.emplace_back(k, Reader(v, o.where(k), fit_));
    return out;
  }
  std::vector<std::pair<std::string, double>> numbers(const std::string& key) const {
    std::vector<std::pair<std::string, double>> out;
    const Reader o = obj(key);
    for (auto& [k, v] : o.j_.items()) out.emplace_back(k, o.number(v, k));
    return out;
  }
  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    user_error("{}emergence record: {}: {}", fit_.empty() ? "" : fit_ + ": ", where(key), what);
  }

 private:
  std::string where(const std::string& key) const {
    return key.empty() ? path_ : path_.empty() ? key : path_ + "." + key;
  }
  const json& array(const std::string& key) const {
    const json& v = at(key);
    if (!v.is_array()) fail(key, "expected an array");
    return v;
  }
  std::vector<double> numbers_of(const json& a, const std::string& key, std::size_t n) const {
    if (!a.is_array() || a.size() != n) fail(key, fmt::format("expected an array of {} numbers", n));
    std::vector<double> v;
    for (auto& x : a) v.push_back(number(x, key));
    return v;
  }
  double number(const json& v, const std::string& key) const {
    if (v.is_number()) return v.get<double>();
    if (v.is_null()) return NAN;  // a NaN or infinity as written
    fail(key, "expected a number");
  }

  const json& j_;
  std::string path_, fit_;
};

Sigmoid read_sigmoid(const Reader& r) { return {r.num("left"), r.num("right"), r.num("k"), r.num("m")}; }

Estimate read_estimate(const Reader& r) { return {r.num("value"), r.num("lo"), r.num("hi")}; }

Agreement read_agreement(const Reader& r) { return {r.num("r2"), r.num("max_abs_error")}; }

SigmoidFit read_sigmoid_fit(const Reader& r) {
  SigmoidFit f;
  f.best = read_sigmoid(r.obj("sigmoid"));
  f.threshold = read_estimate(r.obj("threshold"));
  f.k = read_estimate(r.obj("k"));
  f.left = read_estimate(r.obj("left"));
  f.right = read_estimate(r.obj("right"));
  f.k_at_bound = r.flag("k_at_bound");
  const Reader bic = r.obj("bic");
  f.bic_sigmoid = bic.num("sigmoid"), f.bic_linear = bic.num("linear_in_log"), f.bic_constant = bic.num("constant");
  f.rise = r.num("rise"), f.rise_se = r.num("rise_se");
  const auto range = r.nums("x_range", 2);
  f.x_lo = range[0], f.x_hi = range[1];
  f.rss = r.num("rss");
  const Reader bs = r.obj("bootstrap");
  f.resamples = bs.small("resamples"), f.failed = bs.small("failed"), f.transition_share = bs.num("transition_share");
  for (auto& d : r.rows("draws", 4)) f.draws.push_back({d[0], d[1], d[2], d[3]});
  return f;
}

Threshold read_threshold(const Reader& r) {
  Threshold t;
  t.transition = r.flag("transition");
  t.why_not = r.strs("why_not");
  // The fitted part is all or nothing: too few scales stores none of it.
  if (r.has("sigmoid")) t.fit = read_sigmoid_fit(r);
  t.points = r.small("points"), t.levels = r.small("levels");
  for (auto& p : r.rows("observations", 3)) t.observations.push_back({p[0], p[1], p[2]});
  return t;
}

Mirage read_mirage(const Reader& r) {
  Mirage m;
  m.verdict = r.str("verdict");
  if (!r.has("composition")) return m;
  Composition c;
  c.source = r.str("composition");
  c.per_run = read_agreement(r.obj("per_run"));
  if (r.has("smooth")) c.smooth = Composition::Smooth{read_agreement(r.obj("smooth")), r.obj("smooth").str("from"),
                                                      r.flag("explained")};
  m.composition = c;
  return m;
}

Method read_method(const std::string& name, const Reader& r) {
  Method m;
  m.name = name;
  if (r.has("why_not")) {
    m.why_not = r.str("why_not");
    return m;
  }
  m.how = r.str("how");
  if (r.has("sigmoid")) m.sigmoid = read_sigmoid(r.obj("sigmoid"));
  if (r.has("fitted_accuracy_range")) {
    const auto range = r.nums("fitted_accuracy_range", 2);
    m.fitted_accuracy_range = XY{range[0], range[1]};
  }
  m.predicted_crossing = r.num("predicted_crossing");
  if (r.has("error_decades")) m.error_decades = r.num("error_decades");
  if (r.has("large_models")) m.large_models = read_agreement(r.obj("large_models"));
  m.curve = r.pairs("curve");
  return m;
}

Prediction read_prediction(const Reader& r) {
  Prediction p;
  p.below = r.num("below");
  p.small_runs = r.small("small_runs"), p.large_runs = r.small("large_runs");
  p.level = r.num("level");
  p.observed_crossing = r.num("observed_crossing");
  if (r.has("why_not")) {
    p.why_not = r.str("why_not");
    return p;
  }
  Extrapolation e;
  e.answer_len = r.num("answer_len");
  const Reader t = r.obj("trend");
  e.trend.metric = t.str("metric"), e.trend.transform = t.str("transform");
  e.trend.A = t.num("A"), e.trend.b = t.num("b");
  for (auto& [name, m] : r.members("methods")) e.methods.push_back(read_method(name, m));
  p.extrapolation = e;
  return p;
}

OverScale read_over_scale(const Reader& r) {
  OverScale o;
  o.threshold = read_threshold(r.obj("threshold"));
  for (auto& [metric, s] : r.members("shape_scores"))
    o.shape_scores.push_back({metric, {s.num("I"), s.num("breakthroughness"), s.num("linearity"), s.small("scales")}});
  for (auto& [metric, c] : r.members("continuous")) {
    PowerTrend t;
    t.metric = metric, t.transform = c.str("transform");
    t.A = c.num("A"), t.b = c.num("b");
    t.r2 = c.num("r2"), t.r2_log = c.num("r2_log"), t.max_abs_residual = c.num("max_abs_residual");
    t.residuals = c.pairs("residuals");
    o.continuous.push_back({t, c.pairs("observations")});
  }
  o.mirage = read_mirage(r.obj("mirage"));
  o.prediction = read_prediction(r.obj("prediction"));
  return o;
}

RunGroup read_group(const Reader& r) {
  RunGroup g;
  for (auto& u : r.objs("runs")) g.runs.push_back({u.str("id"), u.str("name")});
  g.label = r.str("label"), g.shape = r.str("shape");
  g.params = r.integer("params");
  if (r.has("test")) g.test = read_threshold(r.obj("test"));
  if (r.has("train")) g.train = read_threshold(r.obj("train"));
  if (r.has("delay")) g.delay = r.num("delay");
  return g;
}

Result read_result(const Reader& r) {
  Result res;
  res.task = r.str("task"), res.metric = r.str("metric"), res.x = r.str("x");
  if (r.has("over_training")) {
    const Reader ot = r.obj("over_training");
    OverTraining o;
    for (auto& g : ot.objs("groups")) o.groups.push_back(read_group(g));
    o.transitions = ot.small("transitions");
    res.over_training = o;
  }
  if (r.has("over_scale")) {
    res.over_scale = read_over_scale(r.obj("over_scale"));
    for (auto& u : r.objs("runs"))
      res.runs.push_back({u.str("run"), u.str("name"), u.num("x"), u.integer("step"), u.numbers("metrics")});
  }
  if (!res.over_scale && !res.over_training) r.fail("over_scale", "missing (and no over_training either)");
  if (r.has("bootstrap_seed")) {
    const json& v = r.at("bootstrap_seed");
    if (!v.is_number_unsigned()) r.fail("bootstrap_seed", "expected a non-negative integer");
    res.bootstrap_seed = v.get<std::uint64_t>();
  }
  return res;
}

}  // namespace

json to_json(const Record& r) {
  json j;
  j["source"] = r.source;
  j["law"] = "emergence";
  j["approach"] = r.approach();
  const auto& c = r.conventions;
  j["conventions"] = {{"x", c.x}, {"x_label", c.x_label}, {"chance", c.chance}, {"rate", c.rate},
                      {"interval", c.interval}};
  j["n_points"] = r.n_points;
  j["objective"] = r.objective;
  if (auto p = params_json(r.result); !p.is_null()) j["params"] = p;
  j["selection"] = selection_json(r.selection);
  j["convergence"] = json::object();
  j["result"] = result_json(r.result);
  if (r.id) j["id"] = *r.id;
  if (r.created_at) j["created_at"] = *r.created_at;
  return j;
}

Record record_from_json(const json& j) {
  std::string fit;
  if (j.is_object() && j.contains("id") && j["id"].is_number_integer()) fit = fmt::format("fit {}", j["id"].get<std::int64_t>());
  const Reader r(j, "", fit);
  if (r.str("law") != "emergence") r.fail("law", fmt::format("'{}' is not an emergence record", r.str("law")));
  Record rec;
  if (r.has("id")) rec.id = r.integer("id");
  if (r.has("created_at")) rec.created_at = r.str("created_at");
  rec.source = r.str("source");
  const Reader c = r.obj("conventions");
  rec.conventions = {c.str("x"), c.str("x_label"), c.num("chance"), c.flag("rate"), c.str("interval")};
  rec.n_points = r.small("n_points");
  rec.objective = r.num("objective");
  const Reader s = r.obj("selection");
  rec.selection = {s.str("sweep_name"), s.str("task"), s.str("metric"), s.small("runs"), s.small("used"), {}};
  for (auto& k : s.objs("skipped")) rec.selection.skipped.push_back({k.str("run"), k.str("why")});
  rec.result = read_result(r.obj("result"));
  return rec;
}

void to_json(json& j, const Record& r) { j = to_json(r); }
void from_json(const json& j, Record& r) { r = record_from_json(j); }

}  // namespace scalelab::fit::emergence
