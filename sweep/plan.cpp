#include "sweep/plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <queue>
#include <set>
#include <tuple>

#include "common/error.h"
#include "common/table.h"
#include "config/config.h"

namespace scalelab::sweep {

namespace {

struct Shape {
  trainer::ModelConfig model;
  double n_non_embedding = 0;
};

Shape shape_of(const SweepConfig& sc, double target_non_embedding, const std::string& key) {
  try {
    auto m = trainer::shape_for_params(target_non_embedding, sc.shape_rule, sc.base.model);
    return {m, static_cast<double>(trainer::count_params(m).non_embedding)};
  } catch (const UserError& e) {
    sc.fail(key, fmt::format("no model of {} non-embedding parameters under the shape rule: {}",
                             si(target_non_embedding), e.what()));
  }
}

// The shapes of one IsoFLOP budget: `sizes` distinct shapes spaced evenly in
// log N across `span`, centred on the size the tokens-per-parameter prior calls
// optimal. With C ~= 6 N D and D = r N that size is sqrt(C / (6 r)).
std::vector<Shape> isoflop_shapes(const SweepConfig& sc, double budget) {
  const auto& iso = sc.isoflop;
  const double centre = std::sqrt(budget / (6.0 * iso.tokens_per_param));
  const double lo = centre / std::sqrt(iso.span), hi = centre * std::sqrt(iso.span);
  // The shape rule rounds to whole layers and heads, so scan it finely and keep
  // the distinct shapes it produces.
  std::map<double, Shape> found;
  const int scan = iso.sizes == 1 ? 1 : 256;
  for (int i = 0; i < scan; ++i) {
    double t = scan == 1 ? centre : lo * std::pow(hi / lo, static_cast<double>(i) / (scan - 1));
    auto s = shape_of(sc, t, "axes.compute");
    found.emplace(s.n_non_embedding, s);
  }
  std::vector<Shape> cand;
  for (auto& [n, s] : found) cand.push_back(s);
  const int k = iso.sizes, m = static_cast<int>(cand.size());
  if (m < k)
    sc.fail("isoflop.sizes",
            fmt::format("the shape rule gives only {} distinct models between N={} and N={} for the budget {:.3g} "
                        "FLOPs; lower isoflop.sizes, widen isoflop.span or use a finer rule (smaller model.head_dim "
                        "or model.aspect_ratio)",
                        m, si(lo), si(hi), budget));
  // Assign candidates to the ideal log-spaced targets in order, minimising the
  // total log distance (a small dynamic programme: m <= 256, k <= 1000).
  auto ideal = [&](int j) { return k == 1 ? centre : lo * std::pow(hi / lo, static_cast<double>(j) / (k - 1)); };
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<std::vector<double>> cost(k + 1, std::vector<double>(m + 1, inf));
  std::vector<std::vector<char>> took(k + 1, std::vector<char>(m + 1, 0));
  for (int i = 0; i <= m; ++i) cost[0][i] = 0;
  for (int j = 1; j <= k; ++j)
    for (int i = j; i <= m; ++i) {
      double skip = cost[j][i - 1];
      double take = cost[j - 1][i - 1] + std::fabs(std::log(cand[i - 1].n_non_embedding / ideal(j - 1)));
      if (take <= skip) cost[j][i] = take, took[j][i] = 1;
      else cost[j][i] = skip;
    }
  std::vector<Shape> out;
  for (int j = k, i = m; j > 0; --i)
    if (took[j][i]) out.push_back(cand[i - 1]), --j;
  std::reverse(out.begin(), out.end());
  return out;
}

std::string run_name(const SweepConfig& sc, const trainer::RunSpec& s, double budget, bool many_d, bool many_lr,
                     bool many_seed) {
  std::string name = sc.name + "/" + trainer::shape_name(s.model);
  if (sc.train_fraction.size() > 1) name += fmt::format("/frac{:.3g}", s.task.train_fraction);
  if (budget > 0) name += fmt::format("/C{:.3g}", budget);
  if (many_d) name += "/D" + si(s.tokens);
  if (many_lr) name += fmt::format("/lr{:.3g}", s.optim.lr);
  if (many_seed) name += fmt::format("/seed{}", s.seed);
  return name;
}

class Builder {
 public:
  Builder(const SweepConfig& sc, Plan& plan) : sc_(sc), plan_(plan) {
    lrs_ = sc.lr.empty() ? std::vector<double>{sc.base.optim.lr} : sc.lr;
    seeds_ = sc.seed.empty() ? std::vector<std::uint64_t>{sc.base.seed} : sc.seed;
    fractions_ = sc.train_fraction.empty() ? std::vector<double>{sc.base.task.train_fraction} : sc.train_fraction;
  }

  // One grid point (a shape and a D) for every lr and seed.
  void add(const trainer::ModelConfig& model, double tokens, double budget, bool many_d) {
    // Every planned shape passes here, whichever axis or rule made it (docs/mup.md).
    if (auto p = trainer::parametrization_problem(model)) sc_.fail(p->key, p->what);
    const auto batch = static_cast<double>(sc_.base.batch_tokens);
    const auto counts = trainer::count_params(model);  // every shape here has passed trainer::check_size
    const double n = static_cast<double>(sc_.base.param_convention == "total" ? counts.total : counts.non_embedding);
    const auto lrs = sc_.lr_rule.set ? std::vector<double>{sc_.lr_rule.lr(n)} : lrs_;
    for (double fraction : fractions_)
    for (double lr : lrs)
      for (auto seed : seeds_) {
        PlannedRun p;
        auto& s = p.config.spec;
        s = sc_.base;
        s.task.train_fraction = fraction;
        s.model = model;
        s.optim.lr = lr;
        s.seed = seed;
        const double d = capped_by_epochs(s, tokens, budget);
        p.steps = static_cast<std::int64_t>(std::llround(d / batch));
        // D is a whole number of optimizer steps, so the run trains exactly what is planned.
        s.tokens = static_cast<double>(p.steps) * batch;
        // Warmup resolved to steps with the trainer's own rule, so the stored
        // config names exactly the schedule that runs.
        config::resolve_warmup(s, p.steps);
        p.budget = budget;
        p.n = n;
        p.tokens_per_param = s.tokens / p.n;
        p.flops = trainer::flops_per_token(model, s.flop_convention, s.param_convention) * s.tokens;
        p.config.name = run_name(sc_, s, budget, many_d, lrs_.size() > 1, seeds_.size() > 1);
        p.skipped = filter(p, tokens);
        if (!p.skipped.empty()) {
          plan_.skipped.push_back(std::move(p));
          continue;
        }
        p.record = record(p.config);
        if (seen_.insert(p.record.id).second) plan_.runs.push_back(std::move(p));
      }
  }

  int capped() const { return capped_; }

 private:
  // filters.max_epochs: a grid or ladder point's D is capped to that many epochs of
  // the run's data; an IsoFLOP point keeps its budget's D, and filter() skips it.
  double capped_by_epochs(const trainer::RunSpec& s, double tokens, double budget) {
    if (!std::isfinite(sc_.filters.max_epochs) || budget > 0) return tokens;
    const auto unique = unique_tokens(s);
    if (!unique || tokens <= sc_.filters.max_epochs * *unique) return tokens;
    ++capped_;
    const double batch = static_cast<double>(s.batch_tokens);
    return std::max(batch, std::floor(sc_.filters.max_epochs * *unique / batch) * batch);
  }

  // Sweeps share one corpus: its size is read once per data source.
  std::optional<double> unique_tokens(const trainer::RunSpec& s) {
    const auto key = fmt::format("{}\n{}\n{}\n{}", s.data.kind, s.data.path, s.data.val_fraction, s.task.train_fraction);
    auto it = unique_.find(key);
    if (it == unique_.end()) it = unique_.emplace(key, trainer::unique_train_tokens(s)).first;
    return it->second;
  }

  std::string filter(const PlannedRun& p, double wanted_tokens) const {
    const auto& f = sc_.filters;
    if (p.steps < 1)
      return fmt::format("D={} is less than one batch ({} tokens)", si(wanted_tokens), sc_.base.batch_tokens);
    if (p.steps < f.min_steps) return fmt::format("{} steps < filters.min_steps ({})", p.steps, f.min_steps);
    if (p.tokens_per_param < f.min_tokens_per_param)
      return fmt::format("{:.3g} tokens/param < filters.min_tokens_per_param ({})", p.tokens_per_param,
                         f.min_tokens_per_param);
    if (p.tokens_per_param > f.max_tokens_per_param)
      return fmt::format("{:.3g} tokens/param > filters.max_tokens_per_param ({})", p.tokens_per_param,
                         f.max_tokens_per_param);
    if (p.budget > 0 && std::isfinite(f.max_epochs)) {
      auto unique = trainer::unique_train_tokens(p.config.spec);
      if (unique && p.config.spec.tokens > f.max_epochs * *unique)
        return fmt::format("{:.3g} epochs > filters.max_epochs ({})", p.config.spec.tokens / *unique, f.max_epochs);
    }
    if (p.budget > 0) {
      double miss = std::fabs(p.flops - p.budget) / p.budget;
      if (miss > sc_.isoflop.tolerance)
        return fmt::format("whole steps miss the budget by {:.2f}% > isoflop.tolerance ({:.2f}%)", miss * 100,
                           sc_.isoflop.tolerance * 100);
    }
    return "";
  }

  // The stored record, checked by reading its canonical text back exactly as a
  // worker will: a point the run parser would reject is caught here, not mid-sweep.
  store::Run record(const RunConfig& rc) const {
    auto rec = run_record(rc, sweep_id(sc_));
    try {
      auto back = parse_run_config(rec.config_toml, rc.name, false);
      if (run_id(back) != rec.id) throw std::logic_error("run config does not round-trip: " + rc.name);
    } catch (const UserError& e) {
      sc_.fail(sc_.mode == "isoflop" ? "axes.compute" : "axes", fmt::format("run {}: {}", rc.name, e.what()));
    }
    return rec;
  }

  const SweepConfig& sc_;
  Plan& plan_;
  int capped_ = 0;
  std::map<std::string, std::optional<double>> unique_;
  std::vector<double> lrs_;
  std::vector<std::uint64_t> seeds_;
  std::vector<double> fractions_;
  std::set<std::string> seen_;
};

// Approach 2 fits a parabola per budget, so a budget left with fewer than 3 sizes
// (by the filters, or a ladder's sizes) measures no optimum.
void note_thin_budgets(const SweepConfig& sc, Plan& plan) {
  for (double c : sc.compute) {
    std::set<double> sizes;
    for (auto& r : plan.runs)
      if (r.budget == c) sizes.insert(r.n);
    if (sizes.size() < 3)
      plan.notes.push_back(fmt::format("budget {:.3g} FLOPs keeps {} model size(s) after filters; an IsoFLOP "
                                       "parabola needs at least 3",
                                       c, sizes.size()));
  }
}

}  // namespace

double Plan::total_tokens() const {
  double t = 0;
  for (auto& r : runs) t += r.own_tokens();
  return t;
}

double Plan::total_flops() const {
  double t = 0;
  for (auto& r : runs) t += r.flops;
  return t;
}

double Plan::total_est_s() const {
  double t = 0;
  for (auto& r : runs) {
    if (r.est_s < 0) return -1;
    t += r.est_s;
  }
  return t;
}

Plan make_plan(const SweepConfig& sc) {
  Plan plan;
  if (sc.lr_rule.fit && !(sc.lr_rule.c > 0))
    sc.fail("lr_rule.fit", "the rule is read from the database, which this command does not open");
  if (sc.lr_rule.fit)
    plan.notes.push_back(fmt::format("lr_rule: fit {}: lr = {:.4g} N^-{:.4g}, rounded to 3 significant digits",
                                     sc.lr_rule.fit, sc.lr_rule.c, sc.lr_rule.k));
  Builder b(sc, plan);
  if (sc.mode == "isoflop") {
    for (double c : sc.compute) {
      auto shapes = isoflop_shapes(sc, c);
      for (auto& s : shapes) {
        double fpt = trainer::flops_per_token(s.model, sc.base.flop_convention, sc.base.param_convention);
        b.add(s.model, c / fpt, c, false);
      }
    }
    note_thin_budgets(sc, plan);
  } else {
    std::vector<Shape> shapes;
    if (!sc.d_model.empty() || !sc.n_layer.empty()) {
      const auto widths = sc.d_model.empty() ? std::vector<int>{sc.base.model.d_model} : sc.d_model;
      const auto depths = sc.n_layer.empty() ? std::vector<int>{sc.base.model.n_layer} : sc.n_layer;
      for (int layers : depths)
        for (int d : widths) {
          auto m = sc.base.model;
          m.d_model = d;
          m.n_layer = layers;
          try {
            shapes.push_back({m, static_cast<double>(trainer::count_params(m).non_embedding)});
          } catch (const UserError& e) {
            sc.fail(sc.d_model.empty() ? "axes.n_layer" : "axes.d_model", e.what());
          }
        }
    } else if (sc.params.empty()) {
      shapes.push_back({sc.base.model, static_cast<double>(trainer::count_params(sc.base.model).non_embedding)});
    } else {
      std::set<std::string> names;
      for (double target : sc.params) {
        auto s = shape_of(sc, target, "axes.params");
        if (names.insert(trainer::shape_name(s.model)).second)
          shapes.push_back(s);
        else
          plan.notes.push_back(fmt::format("axes.params: {} rounds to {}, already planned", si(target),
                                           trainer::shape_name(s.model)));
      }
    }
    for (auto& s : shapes) {
      auto counts = trainer::count_params(s.model);
      double n = static_cast<double>(sc.base.param_convention == "total" ? counts.total : counts.non_embedding);
      if (!sc.compute.empty()) {  // a ladder with branches on compute levels: IsoFLOP profiles for free
        const double fpt = trainer::flops_per_token(s.model, sc.base.flop_convention, sc.base.param_convention);
        for (double c : sc.compute) b.add(s.model, c / fpt, c, true);
      } else if (!sc.tokens_per_param.empty()) {
        for (double m : sc.tokens_per_param) b.add(s.model, m * n, 0, sc.tokens_per_param.size() > 1);
      } else if (!sc.tokens.empty()) {
        for (double d : sc.tokens) b.add(s.model, d, 0, sc.tokens.size() > 1);
      } else {
        b.add(s.model, sc.base.tokens, 0, false);
      }
    }
  }
  if (sc.mode == "ladder" && !sc.compute.empty()) note_thin_budgets(sc, plan);
  if (b.capped() > 0)
    plan.notes.push_back(fmt::format("filters.max_epochs: {} run(s) capped to D = {:g} epochs of their data",
                                     b.capped(), sc.filters.max_epochs));
  if (sc.mode == "ladder") make_ladders(sc, plan);
  // Until estimated, the most compute goes first (a ladder's trunks before their branches).
  std::stable_sort(plan.runs.begin(), plan.runs.end(), [](auto& a, auto& b) {
    return std::make_tuple(a.parent.empty(), a.flops) > std::make_tuple(b.parent.empty(), b.flops);
  });
  return plan;
}

const PlannedRun& find_run(const Plan& plan, const std::string& id_or_name) {
  std::vector<const PlannedRun*> found;
  for (auto& r : plan.runs) {
    if (r.record.name == id_or_name) return r;
    if (!id_or_name.empty() && r.record.id.rfind(id_or_name, 0) == 0) found.push_back(&r);
  }
  if (found.size() == 1) return *found.front();
  if (found.empty()) user_error("{}: no planned run has this id prefix or name (see `scalelab plan`)", id_or_name);
  user_error("{}: the id prefix fits {} planned runs; give more digits", id_or_name, found.size());
}

namespace {

// The last step's validation pass: eval.final_tokens, or the whole held-out split
// of a text corpus when that is smaller (trainer/engine.cpp).
double final_pass_tokens(const trainer::RunSpec& s) {
  const double asked = static_cast<double>(s.eval_final_tokens);
  if (s.data.kind != "text") return asked;
  const auto val = trainer::split_sizes(s).val;
  return val ? std::min(asked, *val) : asked;
}

}  // namespace

void estimate(Plan& plan, const SweepConfig& sc, const ThroughputFn& tokens_per_s) {
  std::vector<PlannedRun> keep;
  for (auto& r : plan.runs) {
    const auto& s = r.config.spec;
    double tps = tokens_per_s(r);
    // Validation passes are forward-only, about a third of a training token's cost.
    double evals = std::floor(static_cast<double>(r.steps) / s.eval_every) + 1;
    double eval_tokens = evals * s.eval_batches * s.micro_batch * s.model.seq_len + final_pass_tokens(s);
    r.est_s = tps > 0 ? (r.own_tokens() + eval_tokens / 3.0) / tps : -1;
    if (r.est_s > sc.filters.max_est_runtime_s) {
      r.skipped = fmt::format("estimated {} > filters.max_est_runtime ({})", duration(r.est_s),
                              duration(sc.filters.max_est_runtime_s));
      plan.skipped.push_back(std::move(r));
    } else {
      keep.push_back(std::move(r));
    }
  }
  plan.runs = std::move(keep);
  std::stable_sort(plan.runs.begin(), plan.runs.end(), [](auto& a, auto& b) {
    return std::make_tuple(a.parent.empty(), a.est_s) > std::make_tuple(b.parent.empty(), b.est_s);
  });
}

std::string epoch_warning(const Plan& plan, double max_epochs) {
  // Sweeps share one corpus: stat it once, not once per run.
  std::map<std::string, std::optional<double>> sizes;
  int over = 0;
  const PlannedRun* worst = nullptr;
  double worst_epochs = 0, worst_unique = 0;
  for (auto& r : plan.runs) {
    const auto& s = r.config.spec;
    std::optional<double> unique;
    if (s.data.kind == "task") {
      unique = trainer::unique_train_tokens(s);
    } else {
      const auto key = fmt::format("{}\n{}\n{}", s.data.kind, s.data.path, s.data.val_fraction);
      auto it = sizes.find(key);
      if (it == sizes.end()) it = sizes.emplace(key, trainer::unique_train_tokens(s)).first;
      unique = it->second;
    }
    if (!unique || *unique <= 0) continue;
    const double epochs = s.tokens / *unique;
    if (epochs <= max_epochs) continue;
    ++over;
    if (epochs > worst_epochs) worst = &r, worst_epochs = epochs, worst_unique = *unique;
  }
  if (!worst) return "";
  return fmt::format("warning: {} of {} planned runs would train for more than {:g} epochs of their data "
                     "(up to {:.3g}: {}, {} tokens of {} unique)",
                     over, plan.runs.size(), max_epochs, worst_epochs, worst->record.name, si(worst->config.spec.tokens),
                     si(worst_unique));
}

double makespan(const Plan& plan, int slots) {
  std::vector<double> times;
  for (auto& r : plan.runs) {
    if (r.est_s < 0) return -1;
    times.push_back(r.est_s);
  }
  std::sort(times.rbegin(), times.rend());
  std::priority_queue<double, std::vector<double>, std::greater<>> load;
  for (int i = 0; i < std::max(1, slots); ++i) load.push(0);
  for (double t : times) {
    double l = load.top();
    load.pop();
    load.push(l + t);
  }
  double end = 0;
  while (!load.empty()) end = std::max(end, load.top()), load.pop();
  return end;
}

}  // namespace scalelab::sweep
