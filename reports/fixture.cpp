#include "reports/fixture.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>

#include "fit/analysis.h"
#include "fit/laws.h"

namespace scalelab::reports::fixture {

namespace {
std::string hex_id(std::uint64_t x) {
  // splitmix64: distinct, stable, hex ids like the store's config hashes.
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return fmt::format("{:016x}", x ^ (x >> 31));
}
}  // namespace

Made make_sweep(store::Store& st, const SweepSpec& s) {
  std::mt19937_64 rng(s.seed);
  std::normal_distribution<double> gauss(0, 1);
  const auto law = fit::Chinchilla::from(s.law);
  store::Sweep sw;
  sw.id = hex_id(std::hash<std::string>{}(s.name) ^ s.seed);
  sw.name = s.name;
  sw.config_toml = fmt::format("name = \"{}\"\nmode = \"isoflop\"\n# synthetic: L = {} + {}/N^{} + {}/D^{}\n", s.name,
                               s.law[0], s.law[1], s.law[3], s.law[2], s.law[4]);
  sw.created_at = store::now_iso8601();
  struct Plan {
    store::Run run;
    double N, D;
  };
  std::vector<Plan> plans;
  std::uint64_t k = s.seed * 1000003;
  for (double C : s.budgets)
    for (int i = 0; i < s.sizes; ++i)
      for (int seed = 0; seed < s.seeds; ++seed) {
        const double n_opt = law.n_opt(C);
        const double N = std::round(n_opt * std::pow(s.span, (i - 0.5 * (s.sizes - 1)) / std::max(1, s.sizes - 1)));
        const double D = C / (6 * N);
        store::Run r;
        r.id = r.config_hash = hex_id(++k);
        r.sweep_id = sw.id;
        r.name = fmt::format("{}/N{:.3g}/C{:.0e}/s{}", s.name, N, C, seed);
        r.config_toml = fmt::format("[model]\nparams = {}\n[train]\ntokens = {}\nseed = {}\n", N, D, seed);
        r.shape = fmt::format("L{}-D{}-H4-T128", 2 + i, 64 * (i + 1));
        r.n_layer = 2 + i, r.d_model = 64 * (i + 1), r.n_head = 4, r.seq_len = 128, r.vocab = 256;
        r.params_total = static_cast<std::int64_t>(N);
        r.params_non_embedding = static_cast<std::int64_t>(0.9 * N);
        r.flops_per_token = 6 * N;
        r.flop_convention = "6N";
        r.planned_tokens = D;
        plans.push_back({r, N, D});
      }
  for (int p = 0; p < s.pending; ++p) {
    store::Run r = plans.front().run;
    r.id = r.config_hash = hex_id(++k);
    r.name = fmt::format("{}/pending{}", s.name, p);
    plans.push_back({r, 0, 0});
  }
  std::vector<store::Run> runs;
  for (auto& p : plans) runs.push_back(p.run);
  st.register_sweep(sw, runs);

  Made made{sw.id, static_cast<int>(plans.size()), 0};
  for (auto& p : plans) {
    if (p.N == 0) continue;  // pending
    const std::int64_t steps = 10LL * s.curve_rows;
    const double per_step = p.D / static_cast<double>(steps);
    std::vector<store::Metric> ms;
    double final_loss = 0;
    for (int j = 1; j <= s.curve_rows; ++j) {
      store::Metric m;
      m.run_id = p.run.id;
      m.split = s.curve_split;
      m.step = 10LL * j;
      m.tokens = per_step * static_cast<double>(m.step);
      m.flops = m.tokens * p.run.flops_per_token;
      m.loss = law.loss(p.N, m.tokens) * std::exp(s.noise * gauss(rng));
      m.lr = 1e-3;
      m.wall_s = 0.01 * static_cast<double>(m.step);
      final_loss = m.loss;
      ms.push_back(m);
    }
    st.write_metrics(ms);
    made.metric_rows += static_cast<std::int64_t>(ms.size());
    store::Run done = p.run;
    done.status = "done";
    done.steps_done = steps;
    done.tokens_done = p.D;
    done.final_val_loss = final_loss;
    done.final_train_loss = final_loss * 0.99;
    done.tokens_per_s = 1e5;
    done.wall_s = p.D / 1e5;
    st.finish_run(done);
    if (s.evals) {
      // Per-token accuracy rises smoothly in log N; exact match of a 4-token
      // answer is its 4th power: the mirage of Schaeffer et al. 2023.
      const double p_token = 0.02 + 0.97 / (1 + std::exp(-3.0 * (std::log10(p.N) - std::log10(law.n_opt(3e15)))));
      const int n = 1000;
      std::binomial_distribution<int> correct(n, std::pow(p_token, 4));
      const double em = correct(rng) / double(n);
      // Metric names as the evals contract has them (docs/emergence-analysis.md).
      st.write_evals({{p.run.id, steps, "addition", "exact_match", em, n},
                      {p.run.id, steps, "addition", "token_logprob", std::log(p_token) + 0.01 * gauss(rng), n},
                      {p.run.id, steps, "addition", "edit_distance", 4 * (1 - p_token), n},
                      {p.run.id, steps, "addition", "answer_len", 4, n},
                      {p.run.id, steps / 2, "addition", "exact_match", em / 2, n}});
    }
  }
  return made;
}

namespace {
store::Run ladder_run(const std::string& sweep_id, const std::string& name, double N, double tokens, std::uint64_t k) {
  store::Run r;
  r.id = r.config_hash = hex_id(k);
  r.sweep_id = sweep_id;
  r.name = name;
  r.config_toml = fmt::format("[model]\nparams = {}\n[train]\ntokens = {}\n", N, tokens);
  r.shape = "L2-D64-H4-T128";
  r.n_layer = 2, r.d_model = 64, r.n_head = 4, r.seq_len = 128, r.vocab = 256;
  r.params_total = static_cast<std::int64_t>(N);
  r.params_non_embedding = static_cast<std::int64_t>(0.9 * N);
  r.flops_per_token = 6 * N;
  r.flop_convention = "6N";
  r.planned_tokens = tokens;
  return r;
}

// Validation rows at every `every` steps in (from, to], and at `to`.
std::vector<store::Metric> ladder_rows(const store::Run& r, const LadderSpec& s, std::int64_t from, std::int64_t to,
                                       const std::function<double(std::int64_t)>& loss) {
  std::vector<store::Metric> ms;
  for (std::int64_t step = from + 1; step <= to; ++step) {
    if (step % s.every != 0 && step != to) continue;
    store::Metric m;
    m.run_id = r.id, m.split = "val", m.step = step;
    m.tokens = s.tokens_per_step * static_cast<double>(step);
    m.flops = m.tokens * r.flops_per_token;
    m.loss = loss(step), m.lr = 1e-3, m.wall_s = 0.01 * static_cast<double>(step);
    ms.push_back(m);
  }
  return ms;
}

void finish(store::Store& st, store::Run r, std::int64_t steps, double tokens, double loss) {
  r.status = "done";
  r.steps_done = steps, r.tokens_done = tokens;
  r.final_val_loss = loss, r.final_train_loss = loss * 0.99;
  r.tokens_per_s = 1e5, r.wall_s = tokens / 1e5;
  st.finish_run(r);
}
}  // namespace

MadeLadder make_ladder(store::Store& st, const LadderSpec& s) {
  const auto law = fit::Chinchilla::from(s.law);
  // A constant learning rate stays above the cooled-down loss; a branch's cooldown closes the gap.
  const double gap = 0.08;
  auto loss_at = [&](std::int64_t step) { return law.loss(s.N, s.tokens_per_step * static_cast<double>(step)); };
  store::Sweep sw;
  sw.id = hex_id(std::hash<std::string>{}(s.name) ^ 0x1add3);
  sw.name = s.name;
  sw.config_toml = fmt::format("name = \"{}\"\nmode = \"ladder\"\n", s.name);
  sw.created_at = store::now_iso8601();
  MadeLadder made{sw.id, "", {}, {}};
  std::vector<std::int64_t> steps;
  for (double D : s.tokens) {
    const auto S = static_cast<std::int64_t>(std::llround(D / s.tokens_per_step));
    steps.push_back(S);
    made.fork_steps.push_back(S - std::llround(s.decay_fraction * static_cast<double>(S)));  // the trainer's rule
  }
  const std::int64_t trunk_steps = *std::max_element(made.fork_steps.begin(), made.fork_steps.end());
  const double trunk_tokens = s.tokens_per_step * static_cast<double>(trunk_steps);
  const std::uint64_t k = std::hash<std::string>{}(s.name) * 1000003;  // ids differ between ladders
  std::vector<store::Run> runs{ladder_run(sw.id, s.name + "/trunk", s.N, trunk_tokens, k)};
  for (std::size_t i = 0; i < s.tokens.size(); ++i) {
    runs.push_back(ladder_run(sw.id, fmt::format("{}/D{:.3g}", s.name, s.tokens[i]), s.N, s.tokens[i], k + 1 + i));
    runs.back().parent_id = runs.front().id;
    runs.back().fork_step = made.fork_steps[i];
  }
  st.register_sweep(sw, runs);
  made.trunk_id = runs.front().id;
  st.write_metrics(ladder_rows(runs.front(), s, 0, trunk_steps, [&](auto k) { return loss_at(k) + gap; }));
  finish(st, runs.front(), trunk_steps, trunk_tokens, loss_at(trunk_steps) + gap);
  for (std::size_t i = 0; i < s.tokens.size(); ++i) {
    const store::Run& b = runs[i + 1];
    const std::int64_t fork = made.fork_steps[i], end = steps[i];
    st.copy_trunk_rows(made.trunk_id, b.id, fork, {false, fork % s.every == 0, false});
    auto cooled = [&](std::int64_t k) {
      return loss_at(k) + gap * (1 - static_cast<double>(k - fork) / static_cast<double>(end - fork));
    };
    st.write_metrics(ladder_rows(b, s, fork, end, cooled));
    finish(st, b, end, s.tokens[i], cooled(end));
    made.branch_ids.push_back(b.id);
  }
  return made;
}

std::vector<std::int64_t> fit_sweep(store::Store& st, const std::string& sweep_id, const std::vector<int>& approaches,
                                    int bootstrap, bool power_c) {
  fit::SweepConventions conv;
  conv.split = "val";
  auto ds = fit::dataset_from_runs(sweep_id, st.runs(sweep_id), conv,
                                   [&](const std::string& id) { return st.metrics(id, "val"); });
  std::vector<std::int64_t> ids;
  auto store_one = [&](fit::FitOptions o) {
    o.boot.resamples = bootstrap;
    auto row = fit::to_store(fit::fit_record(ds, o));
    row.created_at = store::now_iso8601();
    ids.push_back(st.add_fit(row));
  };
  for (int a : approaches) {
    fit::FitOptions o;
    o.approach = a;
    store_one(o);
  }
  if (power_c) {
    fit::FitOptions o;
    o.approach = 3;
    o.law = fit::Law::power_c;
    store_one(o);
  }
  return ids;
}

}  // namespace scalelab::reports::fixture
