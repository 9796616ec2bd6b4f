#include "sweep/plan.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "fit/analysis.h"
#include "sweep/test_files.h"

using namespace scalelab;
using sweep::testing::Dir;

namespace {

const char* kIsoflop = R"(name = "iso"
[data]
path = "CORPUS"
[model]
seq_len = 64
head_dim = 16
aspect_ratio = 16
[train]
batch_tokens = 1024
[axes]
compute = [1e12, 4e12, 1.6e13]
[isoflop]
sizes = 5
span = 64
tokens_per_param = 20
)";

const std::string kGrid = sweep::testing::tiny_grid(
    "params = {min = 2e4, max = 5e5, points = 3}\ntokens.per_param = [5, 20]\nlr = [1e-3, 3e-3]\nseed = [1, 2]\n");

std::set<std::string> ids(const sweep::Plan& p) {
  std::set<std::string> out;
  for (auto& r : p.runs) out.insert(r.record.id);
  return out;
}

}  // namespace

TEST_CASE("isoflop runs spend their budget within 1% on distinct model sizes") {
  Dir d;
  auto sc = sweep::load_sweep_config(d.write("iso.toml", kIsoflop));
  auto plan = sweep::make_plan(sc);
  CHECK(plan.skipped.empty());
  CHECK(plan.notes.empty());
  std::map<double, std::vector<const sweep::PlannedRun*>> by_budget;
  for (auto& r : plan.runs) by_budget[r.budget].push_back(&r);
  REQUIRE(by_budget.size() == 3);
  for (auto& [c, runs] : by_budget) {
    CAPTURE(c);
    REQUIRE(runs.size() == 5);
    std::set<double> sizes;
    std::set<std::string> shapes;
    std::vector<double> tpp;
    for (auto* r : runs) {
      CHECK(std::fabs(r->flops - c) / c <= 0.01);
      CHECK(r->flops == doctest::Approx(r->record.flops_per_token * r->record.planned_tokens));
      CHECK(r->config.spec.tokens == static_cast<double>(r->steps * 1024));  // whole steps
      CHECK(r->record.planned_tokens == r->config.spec.tokens);
      CHECK(r->tokens_per_param == doctest::Approx(r->config.spec.tokens / r->n));
      CHECK(r->n == static_cast<double>(r->record.params_non_embedding));
      sizes.insert(r->n);
      shapes.insert(r->record.shape);
      tpp.push_back(r->tokens_per_param);
    }
    CHECK(sizes.size() == 5);
    CHECK(shapes.size() == 5);
    // The sizes bracket the prior: the smallest model sees more tokens per
    // parameter than the prior's 20, the largest fewer.
    CHECK(*std::max_element(tpp.begin(), tpp.end()) > 20);
    CHECK(*std::min_element(tpp.begin(), tpp.end()) < 20);
    CHECK(*sizes.rbegin() / *sizes.begin() > 4);
  }
  // Launch order: the most compute first.
  for (std::size_t i = 1; i < plan.runs.size(); ++i) CHECK(plan.runs[i - 1].flops >= plan.runs[i].flops);
}

TEST_CASE("a grid is the cross product, with tokens per parameter as configured") {
  Dir d;
  auto sc = sweep::load_sweep_config(d.write("grid.toml", kGrid));
  auto plan = sweep::make_plan(sc);
  CHECK(plan.runs.size() == 3 * 2 * 2 * 2);
  CHECK(ids(plan).size() == plan.runs.size());
  std::set<double> lrs;
  std::set<std::uint64_t> seeds;
  for (auto& r : plan.runs) {
    auto& s = r.config.spec;
    lrs.insert(s.optim.lr);
    seeds.insert(s.seed);
    // D = m N, rounded to whole 512-token steps.
    double m = r.tokens_per_param < 10 ? 5 : 20;
    CHECK(std::fabs(s.tokens - m * r.n) <= 256);
    CHECK(r.budget == 0);
    CHECK(r.record.sweep_id == sweep::sweep_id(sc));
    CHECK(r.record.name.rfind("grid/", 0) == 0);
  }
  CHECK(lrs == std::set<double>{1e-3, 3e-3});
  CHECK(seeds == std::set<std::uint64_t>{1, 2});
}

TEST_CASE("runs that would repeat their data more than 4 epochs get one warning line") {
  Dir d;
  auto warning_for = [&](const std::string& corpus) {
    std::string text = kGrid;
    text.replace(text.find("CORPUS"), 6, corpus);
    return sweep::epoch_warning(sweep::make_plan(sweep::load_sweep_config(d.write("grid.toml", text))));
  };
  auto corpus_of = [&](std::size_t bytes) { return d.write("c.txt", std::string(bytes, 'a')); };
  // The largest run trains on 20 x 5e5 = 1e7 tokens.
  CHECK(warning_for(corpus_of(3'000'000)).empty());
  // 990k training bytes: only the largest runs repeat them more than 4 times.
  const auto w = warning_for(corpus_of(1'000'000));
  CHECK(w.rfind("warning: ", 0) == 0);
  CHECK(w.find('\n') == std::string::npos);
  CHECK(w.find("of 24 planned runs") != std::string::npos);
  CHECK(w.find("990k unique") != std::string::npos);
  // Unknown size (the corpus gone since the config was read): no warning, no error.
  auto plan = sweep::make_plan(sweep::load_sweep_config(d.write("grid.toml", kGrid)));
  for (auto& r : plan.runs) r.config.spec.data.path = d.path("missing.txt");
  CHECK(sweep::epoch_warning(plan).empty());
}

TEST_CASE("planning is deterministic and an edit only adds runs") {
  Dir d;
  auto path = d.write("iso.toml", kIsoflop);
  auto first = ids(sweep::make_plan(sweep::load_sweep_config(path)));
  CHECK(ids(sweep::make_plan(sweep::load_sweep_config(path))) == first);
  // A fourth budget adds its five runs and keeps every existing id.
  std::string edited = kIsoflop;
  edited.replace(edited.find("1.6e13]"), 7, "1.6e13, 6.4e13]");
  auto second = ids(sweep::make_plan(sweep::load_sweep_config(d.write("iso.toml", edited))));
  CHECK(second.size() == first.size() + 5);
  CHECK(std::includes(second.begin(), second.end(), first.begin(), first.end()));
  // Cosmetic changes (the sweep name) keep run ids too; a changed hyper-parameter does not.
  auto renamed = ids(sweep::make_plan(sweep::load_sweep_config(d.write("iso.toml", "name = \"x\"\n" +
                                                                                        std::string(kIsoflop).substr(13)))));
  CHECK(renamed == first);
  std::string lr = kIsoflop;
  lr.replace(lr.find("batch_tokens = 1024"), 19, "batch_tokens = 1024\nlr = 5e-4");
  auto changed = ids(sweep::make_plan(sweep::load_sweep_config(d.write("iso.toml", lr))));
  std::set<std::string> common;
  std::set_intersection(changed.begin(), changed.end(), first.begin(), first.end(),
                        std::inserter(common, common.begin()));
  CHECK(common.empty());
}

TEST_CASE("filters drop runs and say why") {
  Dir d;
  std::string text = kGrid;
  text += "[filters]\nmin_steps = 300\nmax_tokens_per_param = 10\n";
  auto sc = sweep::load_sweep_config(d.write("grid.toml", text));
  auto plan = sweep::make_plan(sc);
  CHECK(plan.runs.size() + plan.skipped.size() == 24);
  REQUIRE(!plan.skipped.empty());
  for (auto& r : plan.runs) {
    CHECK(r.steps >= 300);
    CHECK(r.tokens_per_param <= 10);
  }
  for (auto& r : plan.skipped) CHECK(!r.skipped.empty());

  // The runtime cap needs estimates: 10,000 tokens/s makes the long runs too long.
  sc.filters.max_est_runtime_s = 60;
  plan = sweep::make_plan(sc);
  auto before = plan.runs.size();
  sweep::estimate(plan, sc, [](const sweep::PlannedRun&) { return 10000.0; });
  CHECK(plan.runs.size() < before);
  for (auto& r : plan.runs) {
    CHECK(r.est_s > 0);
    CHECK(r.est_s <= 60);
    CHECK(r.est_s >= r.config.spec.tokens / 10000.0);
  }
  for (std::size_t i = 1; i < plan.runs.size(); ++i) CHECK(plan.runs[i - 1].est_s >= plan.runs[i].est_s);
}

TEST_CASE("makespan schedules the longest runs first on the least loaded worker") {
  sweep::Plan plan;
  for (double t : {7.0, 5.0, 4.0, 3.0, 3.0}) {
    sweep::PlannedRun r;
    r.est_s = t;
    plan.runs.push_back(r);
  }
  CHECK(sweep::makespan(plan, 1) == 22);
  CHECK(sweep::makespan(plan, 2) == 12);  // 7+3 and 5+4+3
  CHECK(sweep::makespan(plan, 3) == 8);   // 7, 5+3, 4+3
  plan.runs[0].est_s = -1;
  CHECK(sweep::makespan(plan, 2) < 0);    // unknown without every estimate
}

TEST_CASE("lr_rule gives each size its own learning rate, recorded in its run config") {
  Dir d;
  const auto rule = "[lr_rule]\nc = 0.27\nk = 0.34\n";
  auto sc = sweep::load_sweep_config(
      d.write("rule.toml", sweep::testing::tiny_grid("params = [2e4, 1.6e5]\ntokens = [51200]\n") + rule));
  auto plan = sweep::make_plan(sc);
  REQUIRE(plan.runs.size() == 2);
  for (auto& r : plan.runs) {
    const double want = 0.27 * std::pow(r.n, -0.34);
    CHECK(r.config.spec.optim.lr == doctest::Approx(want).epsilon(0.005));  // 3 significant digits
    // The stored config carries the value used, so the run reads back with the same id.
    auto back = sweep::parse_run_config(r.record.config_toml, "r", false);
    CHECK(back.spec.optim.lr == r.config.spec.optim.lr);
  }
  CHECK(plan.runs[0].config.spec.optim.lr != plan.runs[1].config.spec.optim.lr);
  CHECK(sc.lr_rule.lr(1e4) == doctest::Approx(0.0118));

  auto error_of = [&](const std::string& text) {
    return sweep::testing::user_error_of(
        [&] { sweep::load_sweep_config(d.write("bad.toml", sweep::testing::tiny_grid(text))); }, "accepted");
  };
  CHECK(error_of("params = [2e4]\ntokens = [51200]\nlr = [1e-3, 3e-3]\n" + std::string(rule))
            .find("axes.lr: give axes.lr or lr_rule, not both") != std::string::npos);
  CHECK(error_of("params = [2e4]\ntokens = [51200]\n[lr_rule]\nc = 0.27\n")
            .find("lr_rule.k: missing; expected lr_rule = { c = 0.1, k = 0.25 }") != std::string::npos);
  CHECK(error_of("params = [2e4]\ntokens = [51200]\n[lr_rule]\nc = -1\nk = 0.3\n").find("lr_rule.c") !=
        std::string::npos);
  CHECK(error_of("params = [2e4]\ntokens = [51200]\n[lr_rule]\nc = 0.1\nk = 0.3\nfit = 3\n").find("lr_rule") !=
        std::string::npos);
}

namespace {
// A stored `fit --law lr` record: 3 sizes whose best LRs follow lr = 0.3 N^-0.35 exactly.
std::int64_t store_lr_fit(store::Store& st, const std::string& params) {
  fit::Dataset ds;
  ds.source = "sweep-id";
  ds.conventions = {{"params", params}};
  for (double N : {3e3, 1e4, 3e4}) {
    fit::LrScan scan{N, 20 * N, "shape", "wsd/0.2", {}};
    for (int i = -1; i <= 1; ++i) {
      const double lr = 0.3 * std::pow(N, -0.35) * std::pow(2.0, i + 0.25);
      const double u = std::log(lr / (0.3 * std::pow(N, -0.35)));
      scan.trials.push_back({lr, {2 + 0.02 * u * u}, {"r"}});
    }
    ds.lr_scans.push_back(scan);
  }
  fit::FitOptions o;
  o.lr_rule = true;
  o.boot.resamples = 0;
  auto row = fit::to_store(fit::fit_record(ds, o));
  row.created_at = "2026-12-01T00:00:00Z";
  return st.add_fit(row);
}
}  // namespace

TEST_CASE("lr_rule = { fit = ID } takes c and k from a stored LR fit") {
  Dir d;
  const auto id = store_lr_fit(*d.open_store(), "non_embedding");
  const auto axes = sweep::testing::tiny_grid("params = [2e4, 1.6e5]\ntokens = [51200]\n");
  auto sc = sweep::load_sweep_config(d.write("fit.toml", axes + fmt::format("[lr_rule]\nfit = {}\n", id)));
  CHECK(sc.lr_rule.fit == id);
  // Planning without the database is refused, naming the key.
  CHECK(sweep::testing::user_error_of([&] { sweep::make_plan(sc); }, "planned").find("lr_rule.fit") !=
        std::string::npos);
  sweep::resolve_lr_rule(sc, d.db());
  CHECK(sc.lr_rule.c == doctest::Approx(0.3).epsilon(1e-3));
  CHECK(sc.lr_rule.k == doctest::Approx(0.35).epsilon(1e-3));
  auto plan = sweep::make_plan(sc);
  REQUIRE(plan.runs.size() == 2);
  for (auto& r : plan.runs) CHECK(r.config.spec.optim.lr == sc.lr_rule.lr(r.n));
  CHECK(plan.runs[0].config.spec.optim.lr != plan.runs[1].config.spec.optim.lr);
  CHECK(std::find(plan.notes.begin(), plan.notes.end(),
                  fmt::format("lr_rule: fit {}: lr = {:.4g} N^-{:.4g}, rounded to 3 significant digits", id,
                              sc.lr_rule.c, sc.lr_rule.k)) != plan.notes.end());
  // The stored sweep config keeps where the rule came from.
  CHECK(sc.resolved_toml.find(fmt::format("fit = {}", id)) != std::string::npos);

  // A child's lr_rule replaces its base's whole: fit = ID over a base's c, k.
  d.write("base.toml", axes + "[lr_rule]\nc = 0.27\nk = 0.34\n");
  auto child = sweep::load_sweep_config(
      d.write("child.toml", fmt::format("extends = \"base.toml\"\nname = \"child\"\n[lr_rule]\nfit = {}\n", id)));
  CHECK(child.lr_rule.fit == id);
}

TEST_CASE("lr_rule = { fit = ID } refuses a missing fit, a fit of another kind and a mixed rule") {
  Dir d;
  auto st = d.open_store();
  const auto id = store_lr_fit(*st, "non_embedding");
  store::Fit other;
  other.law = "chinchilla";
  other.approach = "3";
  const auto other_id = st->add_fit(other);
  const auto total_id = store_lr_fit(*st, "total");
  st.reset();
  const auto axes = sweep::testing::tiny_grid("params = [2e4]\ntokens = [51200]\n");
  auto error_of = [&](const std::string& rule, const std::string& db) {
    return sweep::testing::user_error_of(
        [&] {
          auto sc = sweep::load_sweep_config(d.write("bad.toml", axes + rule));
          sweep::resolve_lr_rule(sc, db);
        },
        "accepted");
  };
  CHECK(error_of("[lr_rule]\nfit = 99\n", d.db()).find("lr_rule.fit: no fit 99 in " + d.db()) != std::string::npos);
  CHECK(error_of(fmt::format("[lr_rule]\nfit = {}\n", other_id), d.db())
            .find(fmt::format("lr_rule.fit: fit {} is a chinchilla (approach 3) fit, not a learning-rate rule", other_id)) !=
        std::string::npos);
  CHECK(error_of(fmt::format("[lr_rule]\nfit = {}\nc = 0.3\n", id), d.db())
            .find("lr_rule.fit: give lr_rule = { fit = ID } or lr_rule = { c = 0.1, k = 0.25 }, not both") !=
        std::string::npos);
  CHECK(error_of(fmt::format("[lr_rule]\nfit = {}\n", id), d.path("missing.db"))
            .find("lr_rule.fit: fit " + std::to_string(id) + " is read from the database: ") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(d.path("missing.db")));
  CHECK(error_of(fmt::format("[lr_rule]\nfit = {}\n", total_id), d.db())
            .find("measured N as total parameters, but this sweep counts non_embedding") != std::string::npos);
  CHECK(error_of("[lr_rule]\nfit = 0\n", d.db()).find("lr_rule.fit") != std::string::npos);
}
