#include "sweep/sweep_config.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <regex>
#include <sstream>

#include "common/error.h"
#include "common/hash.h"
#include "common/table.h"
#include "fit/lr_rule.h"
#include "store/store.h"
#include "sweep/run_config.h"
#include "sweep/sweep_layers.h"
#include "sweep/task_config.h"

namespace scalelab::sweep {

namespace fs = std::filesystem;
using config::TomlReader;
using config::join_key;

namespace {

// Typed access to the merged table: each value is checked by a TomlReader named
// after the file it came from, so errors point into the right layer.
class Layered {
 public:
  explicit Layered(std::string top) : top_(std::move(top)) {}
  TomlReader at(const toml::table& t, std::string_view key) const {
    auto* n = t.get(key);
    return TomlReader(file_of(n ? *n : static_cast<const toml::node&>(t), top_));
  }
  [[noreturn]] void fail(const toml::node* n, std::string_view key, std::string_view what) const {
    TomlReader(n ? file_of(*n, top_) : top_).fail(n, key, what);
  }
  const std::string& top() const { return top_; }
  // A cross-key rule's failure, in the layer that set the key (else its table's).
  config::Blame blame(const toml::table& root) const {
    return [this, &root](std::string_view table, std::string_view key, const std::string& what) {
      const auto* t = root.get_as<toml::table>(table);
      const toml::node* n = t && t->get(key) ? t->get(key) : t;
      fail(n, join_key(table, key), what);
    };
  }

 private:
  std::string top_;
};

ReaderFor readers(const Layered& L) {
  return [&L](const toml::table& t, std::string_view k) { return L.at(t, k); };
}

// [model] with width and/or depth axes: it fixes n_head and whichever of
// d_model and n_layer is not an axis.
void read_axis_shape(const Layered& L, const toml::table& root, SweepConfig& sc, bool axis_d, bool axis_l) {
  const auto& t = *root.get_as<toml::table>("model");
  for (auto k : {"params", "d_model", "n_layer"}) {
    const bool conflict = std::string_view(k) == "params" || (std::string_view(k) == "d_model" ? axis_d : axis_l);
    if (conflict && t.contains(k))
      L.fail(t.get(k), join_key("model", k),
             fmt::format("conflicts with axes.{}; the axis sets every run's shape", axis_d ? "d_model" : "n_layer"));
  }
  std::vector<const char*> need{"n_head"};
  if (!axis_d) need.push_back("d_model");
  if (!axis_l) need.push_back("n_layer");
  for (auto k : need)
    if (!t.contains(k)) L.fail(&t, join_key("model", k), "missing; the shape axes need the rest of the shape fixed");
  for (auto k : need) config::read(L.at(t, k), t, "model", k, sc.base);
  if (!axis_d) config::check_heads(sc.base, L.blame(root));
  sc.fixed_shape = true;
}

void read_model(const Layered& L, const toml::table& root, SweepConfig& sc) {
  auto* t = L.at(root, "model").table(root, "model", "");
  if (!t) L.fail(nullptr, "model", "missing table; expected [model] with at least seq_len");
  auto& m = sc.base.model;
  if (sc.base.data.kind != "text") m.vocab = 50304;
  config::read_plain(readers(L), *t, "model", sc.base);
  check_vocab(L.at(*t, "vocab"), *t, sc.base);
  resolve_task_model(readers(L), t, sc.base);
  auto& rule = sc.shape_rule;
  rule.aspect_ratio = config::number(L.at(*t, "aspect_ratio"), *t, "model", "aspect_ratio", rule.aspect_ratio);
  // Checked before the cast, which is undefined past INT_MAX (a fuzzer's 1.7e10).
  const double head_dim = config::number(L.at(*t, "head_dim"), *t, "model", "head_dim", rule.head_dim);
  if (head_dim > trainer::kMaxHeadDim)
    user_error("{}: model.head_dim: expected at most {:g}, got {:g}", sc.path, trainer::kMaxHeadDim, head_dim);
  rule.head_dim = static_cast<int>(head_dim);

  // With sizes from the axes, a shape in [model] would be silently overridden.
  auto* axes = root.get_as<toml::table>("axes");
  const bool axis_d = axes && axes->contains("d_model"), axis_l = axes && axes->contains("n_layer");
  if (axis_d || axis_l) return read_axis_shape(L, root, sc, axis_d, axis_l);
  if (sc.mode == "isoflop" || (axes && axes->contains("params")))
    for (auto k : {"params", "n_layer", "d_model", "n_head"})
      if (t->contains(k))
        L.fail(t->get(k), join_key("model", k),
               sc.mode == "isoflop" ? "not used in isoflop mode: the shape rule sizes every run"
                                    : "conflicts with axes.params; the axis sizes every run");
  bool explicit_shape = t->contains("n_layer") || t->contains("d_model") || t->contains("n_head");
  sc.fixed_shape = explicit_shape || t->contains("params");
  if (t->contains("params")) {
    if (explicit_shape)
      L.fail(t->get("params"), "model.params",
             "give either params (with the shape rule) or n_layer/d_model/n_head, not both");
    const double target = config::number(L.at(*t, "params"), *t, "model", "params", 0);
    try {
      m = trainer::shape_for_params(target, rule, m);
    } catch (const UserError& e) {
      L.fail(t->get("params"), "model.params", e.what());
    }
    return;
  }
  if (!explicit_shape) return;
  for (auto k : {"n_layer", "d_model", "n_head"})
    if (!t->contains(k)) L.fail(t, join_key("model", k), "missing; expected a positive integer (or give model.params)");
  for (auto k : {"n_layer", "d_model", "n_head"}) config::read(L.at(*t, k), *t, "model", k, sc.base);
  config::check_heads(sc.base, L.blame(root));
  config::check_shape(sc.base, L.blame(root));
}

void read_train(const Layered& L, const toml::table& root, trainer::RunSpec& s) {
  // Every key has a default, and D comes from the axes: [train] may be absent.
  auto* t = L.at(root, "train").table(root, "train", "");
  read_task_train(readers(L), t, s);
  if (t) config::read_plain(readers(L), *t, "train", s);
  config::check_batch(s, L.blame(root));
}

void read_eval(const Layered& L, const toml::table& root, trainer::RunSpec& s) {
  if (auto* t = L.at(root, "eval").table(root, "eval", "")) config::check_task_eval(t->contains("task_every"), s, L.blame(root));
  for (auto name : {"eval", "checkpoint", "flops"})
    if (auto* t = L.at(root, name).table(root, name, "")) config::read_plain(readers(L), *t, name, s);
}

// A positive number from a list element or a range bound.
double positive_at(const Layered& L, const toml::node& n, const std::string& key) {
  auto v = n.value<double>();
  if (!n.is_number() || !v || !std::isfinite(*v) || *v <= 0)
    L.fail(&n, key, "expected a positive number");
  return *v;
}

// An axis: a list of positive numbers, or {min, max, points} spaced evenly in log.
std::vector<double> read_values(const Layered& L, const toml::node& n, const std::string& key) {
  std::vector<double> out;
  if (auto* arr = n.as_array()) {
    if (arr->empty()) L.fail(&n, key, "expected at least one value");
    for (std::size_t i = 0; i < arr->size(); ++i)
      out.push_back(positive_at(L, *arr->get(i), fmt::format("{}[{}]", key, i)));
    return out;
  }
  auto* t = n.as_table();
  if (!t) L.fail(&n, key, "expected a list of numbers or a log-range {min, max, points}");
  for (auto k : {"min", "max", "points"})
    if (!t->contains(k)) L.fail(&n, join_key(key, k), "missing; a log-range needs min, max and points");
  double lo = positive_at(L, *t->get("min"), join_key(key, "min"));
  double hi = positive_at(L, *t->get("max"), join_key(key, "max"));
  if (hi < lo) L.fail(t->get("max"), join_key(key, "max"), fmt::format("must be at least min ({}), got {}", lo, hi));
  auto points = L.at(*t, "points").positive_int(*t, "points", key, 1);
  if (points > 100000) L.fail(t->get("points"), join_key(key, "points"), "expected at most 100000 points");
  if (points == 1 && hi != lo)
    L.fail(t->get("points"), join_key(key, "points"), "one point cannot span min..max; give at least 2");
  for (std::int64_t i = 0; i < points; ++i)
    out.push_back(points == 1 ? lo : lo * std::pow(hi / lo, static_cast<double>(i) / static_cast<double>(points - 1)));
  return out;
}

void read_axes(const Layered& L, const toml::table& root, SweepConfig& sc) {
  auto* t = L.at(root, "axes").table(root, "axes", "");
  if (!t) return;
  if (auto* n = t->get("params")) sc.params = read_values(L, *n, "axes.params");
  if (auto* n = t->get("compute")) sc.compute = read_values(L, *n, "axes.compute");
  if (auto* n = t->get("lr")) sc.lr = read_values(L, *n, "axes.lr");
  if (auto* n = t->get("d_model")) {
    auto* arr = n->as_array();
    if (!arr || arr->empty()) L.fail(n, "axes.d_model", "expected a list of positive integers, e.g. [16, 24, 32]");
    for (std::size_t i = 0; i < arr->size(); ++i) {
      auto* e = arr->get(i);
      auto v = e->value<std::int64_t>();
      const auto key = fmt::format("axes.d_model[{}]", i);
      if (!e->is_integer() || !v || *v < 1 || *v > 65536) L.fail(e, key, "expected a positive integer");
      if (*v % sc.base.model.n_head)
        L.fail(e, key, fmt::format("{} is not divisible by model.n_head ({})", *v, sc.base.model.n_head));
      sc.d_model.push_back(static_cast<int>(*v));
    }
  }
  if (auto* n = t->get("n_layer")) {
    auto* arr = n->as_array();
    if (!arr || arr->empty()) L.fail(n, "axes.n_layer", "expected a list of positive integers, e.g. [1, 2]");
    for (std::size_t i = 0; i < arr->size(); ++i) {
      auto* e = arr->get(i);
      auto v = e->value<std::int64_t>();
      if (!e->is_integer() || !v || *v < 1 || *v > 4096)
        L.fail(e, fmt::format("axes.n_layer[{}]", i), "expected a positive integer");
      sc.n_layer.push_back(static_cast<int>(*v));
    }
  }
  if (auto* n = t->get("train_fraction")) {
    if (sc.base.task.name != "modular")
      L.fail(n, "axes.train_fraction", "only used with a [task] table naming the modular task");
    auto* arr = n->as_array();
    if (!arr || arr->empty()) L.fail(n, "axes.train_fraction", "expected a list of fractions, e.g. [0.3, 0.5, 0.7]");
    for (std::size_t i = 0; i < arr->size(); ++i) {
      auto* e = arr->get(i);
      auto v = e->value<double>();
      if (!e->is_number() || !v || !(*v > 0 && *v < 1))
        L.fail(e, fmt::format("axes.train_fraction[{}]", i), "expected a fraction in (0, 1)");
      sc.train_fraction.push_back(*v);
    }
  }
  if (auto* n = t->get("tokens")) {
    auto* tt = n->as_table();
    if (tt && tt->contains("per_param"))
      sc.tokens_per_param = read_values(L, *tt->get("per_param"), "axes.tokens.per_param");
    else
      sc.tokens = read_values(L, *n, "axes.tokens");
  }
  if (auto* n = t->get("seed")) {
    auto* arr = n->as_array();
    if (!arr || arr->empty()) L.fail(n, "axes.seed", "expected a list of non-negative integers, e.g. [1, 2, 3]");
    for (std::size_t i = 0; i < arr->size(); ++i) {
      auto* e = arr->get(i);
      auto v = e->value<std::int64_t>();
      if (!e->is_integer() || !v || *v < 0) L.fail(e, fmt::format("axes.seed[{}]", i), "expected a non-negative integer");
      sc.seed.push_back(static_cast<std::uint64_t>(*v));
    }
  }
}

// Seconds from a number or a string with a unit.
double duration_at(const Layered& L, const toml::table& t, std::string_view key, const std::string& full) {
  auto* n = t.get(key);
  double v = n->is_number() ? *n->value<double>() : n->is_string() ? parse_duration(*n->value<std::string>()) : NAN;
  if (!std::isfinite(v) || v <= 0)
    L.fail(n, full, "expected a positive duration: seconds, or a string such as \"90s\", \"10m\", \"2h\"");
  return v;
}

// lr_rule = { c = .., k = .. } or { fit = ID }; c and k of a fit come later (resolve_lr_rule).
void read_lr_rule(const Layered& L, const toml::table& root, const toml::table& t, SweepConfig& sc) {
  if (t.contains("fit") && (t.contains("c") || t.contains("k")))
    L.fail(t.get("fit"), "lr_rule.fit", "give lr_rule = { fit = ID } or lr_rule = { c = 0.1, k = 0.25 }, not both");
  if (!t.contains("fit"))
    for (auto k : {"c", "k"})
      if (!t.contains(k))
        L.fail(&t, join_key("lr_rule", k), "missing; expected lr_rule = { c = 0.1, k = 0.25 } or lr_rule = { fit = ID }");
  if (auto* n = root.get_as<toml::table>("axes") ? root["axes"].as_table()->get("lr") : nullptr)
    L.fail(n, "axes.lr", "give axes.lr or lr_rule, not both");
  if (t.contains("fit")) sc.lr_rule = {true, 0, 0, L.at(t, "fit").positive_int(t, "fit", "lr_rule", 0)};
  else sc.lr_rule = {true, L.at(t, "c").positive(t, "c", "lr_rule", 0), L.at(t, "k").in_range(t, "k", "lr_rule", 0, -2, 2)};
}

void read_settings(const Layered& L, const toml::table& root, SweepConfig& sc) {
  if (auto* t = L.at(root, "isoflop").table(root, "isoflop", "")) {
    auto& s = sc.isoflop;
    s.sizes = static_cast<int>(L.at(*t, "sizes").positive_int(*t, "sizes", "isoflop", s.sizes));
    if (s.sizes > 1000) L.fail(t->get("sizes"), "isoflop.sizes", "expected at most 1000 sizes per budget");
    s.span = L.at(*t, "span").in_range(*t, "span", "isoflop", s.span, 1.0, 1e6);
    s.tokens_per_param = L.at(*t, "tokens_per_param").positive(*t, "tokens_per_param", "isoflop", s.tokens_per_param);
    s.tolerance = L.at(*t, "tolerance").in_range(*t, "tolerance", "isoflop", s.tolerance, 1e-6, 0.5);
    if (s.sizes > 1 && s.span == 1.0)
      L.fail(t->get("span"), "isoflop.span", fmt::format("{} sizes need a span above 1", s.sizes));
  }
  if (auto* t = L.at(root, "lr_rule").table(root, "lr_rule", "")) read_lr_rule(L, root, *t, sc);
  if (auto* t = L.at(root, "ladder").table(root, "ladder", ""))
    sc.ladder.trunk_tokens_per_param =
        L.at(*t, "trunk_tokens_per_param").positive(*t, "trunk_tokens_per_param", "ladder", 0);
  if (auto* t = L.at(root, "filters").table(root, "filters", "")) {
    auto& f = sc.filters;
    f.min_steps = L.at(*t, "min_steps").positive_int(*t, "min_steps", "filters", f.min_steps);
    if (t->contains("max_est_runtime")) f.max_est_runtime_s = duration_at(L, *t, "max_est_runtime", "filters.max_est_runtime");
    f.min_tokens_per_param = L.at(*t, "min_tokens_per_param").positive(*t, "min_tokens_per_param", "filters", 0);
    f.max_tokens_per_param = L.at(*t, "max_tokens_per_param")
                                 .positive(*t, "max_tokens_per_param", "filters", f.max_tokens_per_param);
    f.max_epochs = L.at(*t, "max_epochs").positive(*t, "max_epochs", "filters", f.max_epochs);
    if (f.max_tokens_per_param < f.min_tokens_per_param)
      L.fail(t->get("max_tokens_per_param"), "filters.max_tokens_per_param",
             fmt::format("must be at least filters.min_tokens_per_param ({})", f.min_tokens_per_param));
  }
  if (auto* t = L.at(root, "execution").table(root, "execution", "")) {
    auto& e = sc.execution;
    auto pos_int = [&](std::string_view k, int fb) {
      auto v = L.at(*t, k).positive_int(*t, k, "execution", fb);
      if (v > 4096) L.fail(t->get(k), join_key("execution", k), fmt::format("expected at most 4096, got {}", v));
      return static_cast<int>(v);
    };
    e.jobs = pos_int("jobs", e.jobs);
    e.threads_per_job = pos_int("threads_per_job", e.threads_per_job);
    e.runs_per_device = pos_int("runs_per_device", e.runs_per_device);
    auto retries = L.at(*t, "retries").integer(*t, "retries", "execution");
    if (retries && (*retries < 0 || *retries > 100))
      L.fail(t->get("retries"), "execution.retries", fmt::format("expected an integer in [0, 100], got {}", *retries));
    e.retries = static_cast<int>(retries.value_or(e.retries));
    if (t->contains("lease_ttl")) e.lease_ttl_s = duration_at(L, *t, "lease_ttl", "execution.lease_ttl");
    if (e.lease_ttl_s < 5) L.fail(t->get("lease_ttl"), "execution.lease_ttl", "expected at least 5 seconds");
    e.runs_dir = L.at(*t, "runs_dir").string(*t, "runs_dir", "execution").value_or("");
    e.peak_tflops = L.at(*t, "peak_tflops").positive(*t, "peak_tflops", "execution", 0);
    if (auto f = L.at(*t, "gpu_memory_fraction").number(*t, "gpu_memory_fraction", "execution")) {
      if (!(*f > 0 && *f <= 1))
        L.fail(t->get("gpu_memory_fraction"), "execution.gpu_memory_fraction",
               fmt::format("expected a number in (0, 1], got {}", *f));
      e.gpu_memory_fraction = *f;
    }
    e.cuda_graphs = L.at(*t, "cuda_graphs").boolean(*t, "cuda_graphs", "execution").value_or(false);
    if (auto* n = t->get("devices")) {
      std::vector<std::string> devs;
      if (auto* arr = n->as_array()) {
        for (auto& d : *arr) {
          if (!d.is_string()) L.fail(&d, "execution.devices", "expected device names such as \"cpu\" or \"cuda:0\"");
          devs.push_back(*d.value<std::string>());
        }
      } else if (n->is_string()) {
        std::stringstream ss(*n->value<std::string>());
        for (std::string d; std::getline(ss, d, ',');) devs.push_back(d);
      } else {
        L.fail(n, "execution.devices", "expected \"cpu\", \"cuda:0,cuda:1\" or a list of device names");
      }
      try {
        e.devices = parse_devices(devs);
      } catch (const UserError& err) {
        L.fail(n, "execution.devices", err.what());
      }
    }
  }
}

// A ladder's branches are WSD runs cooling down over part of their length.
void check_ladder(const Layered& L, const toml::table& root, const SweepConfig& sc) {
  const auto& w = sc.base.schedule;
  auto* train = root.get_as<toml::table>("train");
  auto at = [&](const char* k) { return train && train->get(k) ? train->get(k) : static_cast<const toml::node*>(train); };
  if (w.kind != "wsd")
    L.fail(at("schedule"), "train.schedule",
           fmt::format("a ladder's branches are WSD runs; set schedule = \"wsd\", got \"{}\"", w.kind));
  if (!(w.decay_fraction > 0 && w.decay_fraction < 1))
    L.fail(at("decay_fraction"), "train.decay_fraction",
           fmt::format("a ladder's cooldown fraction must be in (0, 1), got {}", w.decay_fraction));
}

// Checks that the axes fit the mode and that every run gets a shape and a D.
void check_mode(const Layered& L, const toml::table& root, SweepConfig& sc) {
  auto* axes = root.get_as<toml::table>("axes");
  auto axis = [&](std::string_view k) { return axes ? axes->get(k) : nullptr; };
  if (sc.mode == "isoflop") {
    if (sc.compute.empty())
      L.fail(root.get("mode"), "axes.compute", "missing; isoflop mode needs FLOP budgets, e.g. compute = [1e13, 3e13]");
    for (auto k : {"params", "tokens", "d_model", "n_layer"})
      if (auto* n = axis(k))
        L.fail(n, join_key("axes", k), "not used in isoflop mode: each budget's sizes come from [isoflop]");
    return;
  }
  if (auto* n = axis("compute"); n && sc.mode != "ladder")
    L.fail(n, "axes.compute",
           "only used in isoflop and ladder modes; set mode = \"isoflop\" or use axes.params and axes.tokens");
  if (sc.mode == "ladder") check_ladder(L, root, sc);
  else if (auto* n = root.get("ladder")) L.fail(n, "ladder", "only used in ladder mode; set mode = \"ladder\"");
  for (auto k : {"d_model", "n_layer"})
    if (axis(k) && axis("params"))
      L.fail(axis(k), join_key("axes", k), "give axes.params or the shape axes (d_model, n_layer), not both");
  if (sc.params.empty() && !sc.fixed_shape)
    L.fail(axes ? static_cast<const toml::node*>(axes) : nullptr, "axes.params",
           "missing; give model sizes (axes.params) or a fixed shape in [model]");
  if (auto* n = axis("compute"); n && axis("tokens"))
    L.fail(n, "axes.compute", "give the ladder's branch points as axes.compute or axes.tokens, not both");
  auto* train = root.get_as<toml::table>("train");
  bool has_d = !sc.compute.empty() || !sc.tokens.empty() || !sc.tokens_per_param.empty() ||
               (train && (train->contains("tokens") || train->contains("steps")));
  if (!has_d)
    L.fail(axes ? static_cast<const toml::node*>(axes) : nullptr, "axes.tokens",
           "missing; give token budgets (axes.tokens, or axes.tokens.per_param) or train.tokens");
}

void record_origins(const toml::table& t, const std::string& prefix, const std::string& top,
                    std::map<std::string, std::string>& origin) {
  for (auto&& [k, v] : t) {
    auto key = join_key(prefix, k.str());
    origin[key] = where(v, top);
    if (auto* sub = v.as_table()) record_origins(*sub, key, top, origin);
  }
}

}  // namespace


void SweepConfig::fail(const std::string& key, std::string_view what) const {
  auto it = origin.find(key);
  user_error("{}: {}: {}", it != origin.end() ? it->second : (files.empty() ? path : files.back()), key, what);
}


SweepConfig load_sweep_config(const std::string& path, bool check_data) {
  SweepConfig sc;
  sc.base = config::defaults();
  std::vector<std::string> chain;
  auto root = load_layers(path, chain, sc.files);
  Layered L(path);
  sc.path = fs::absolute(path).lexically_normal().string();
  sc.name = L.at(root, "name").string(root, "name", "").value_or(fs::path(path).stem().string());
  if (sc.name.empty()) L.fail(root.get("name"), "name", "expected a non-empty sweep name");
  if (int c = first_control(sc.name); c >= 0)
    L.fail(root.get("name"), "name", fmt::format("contains the control character 0x{:02x}; names are printed in "
                                                 "tables and shell commands", c));
  std::string mode_default = root.get_as<toml::table>("axes") && root["axes"]["compute"] ? "isoflop" : "grid";
  sc.mode = L.at(root, "mode").one_of(root, "mode", "", mode_default, {"grid", "isoflop", "ladder"});
  auto* data = L.at(root, "data").table(root, "data", "");
  if (!data) L.fail(nullptr, "data", "missing table; expected [data] with kind and path");
  read_data(readers(L), *data, sc.base, check_data);
  read_task([&](const toml::table& t, std::string_view k) { return L.at(t, k); }, root, sc.base);
  read_model(L, root, sc);
  read_train(L, root, sc.base);
  read_eval(L, root, sc.base);
  read_axes(L, root, sc);
  read_settings(L, root, sc);
  check_mode(L, root, sc);
  record_origins(root, "", path, sc.origin);
  std::ostringstream text;
  text << root;
  sc.resolved_toml = text.str();
  return sc;
}

double LrRule::lr(double n) const {
  const double v = c * std::pow(n, -k);
  const double scale = std::pow(10.0, std::floor(std::log10(v)) - 2);
  return std::round(v / scale) * scale;
}

void resolve_lr_rule(SweepConfig& sc, const std::string& db) {
  auto& rule = sc.lr_rule;
  if (!rule.fit) return;
  const std::string key = "lr_rule.fit";
  std::unique_ptr<store::Store> st;
  try {
    st = store::Store::open_existing(db);
  } catch (const UserError& e) {
    sc.fail(key, fmt::format("fit {} is read from the database: {}", rule.fit, e.what()));
  }
  const auto row = st->fit(rule.fit);
  if (!row)
    sc.fail(key, fmt::format("no fit {} in {} (fit one with `scalelab fit SWEEP --law lr --db {}`)", rule.fit, db, db));
  fit::LrRuleParams p;
  try {
    p = fit::lr_rule_of(*row);
  } catch (const UserError& e) {
    sc.fail(key, e.what());
  }
  // N must mean what it meant when the rule was fitted.
  if (p.params != sc.base.param_convention)
    sc.fail(key, fmt::format("fit {} measured N as {} parameters, but this sweep counts {} (flops.params): refit "
                             "with --params {}, or set flops.params = \"{}\"",
                             rule.fit, p.params, sc.base.param_convention, sc.base.param_convention, p.params));
  if (!(p.c > 0 && std::isfinite(p.c) && std::isfinite(p.k)))
    sc.fail(key, fmt::format("fit {} has no usable rule (c = {}, k = {})", rule.fit, p.c, p.k));
  rule.c = p.c, rule.k = p.k;
}

std::string sweep_id(const SweepConfig& sc) { return hex64(fnv1a64("sweep\n" + sc.name + "\n" + sc.path)); }

}  // namespace scalelab::sweep
