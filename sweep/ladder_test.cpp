#include <doctest/doctest.h>
#include <fmt/format.h>

#include <map>
#include <set>

#include "sweep/plan.h"
#include "sweep/test_files.h"

using namespace scalelab;
using sweep::testing::Dir;

namespace {

// Two widths, three D/N points each, branches cooling down over their last 25%.
std::string ladder_config(const std::string& extra = "") {
  return R"(name = "lad"
mode = "ladder"
[data]
path = "CORPUS"
[model]
n_layer = 1
n_head = 2
seq_len = 32
[train]
batch_tokens = 512
schedule = "wsd"
decay_fraction = 0.25
lr = 3e-3
)" + extra + R"(
[axes]
d_model = [16, 32]
tokens = [51200, 102400, 204800]
)";
}

sweep::Plan plan_of(const Dir& d, const std::string& text) {
  return sweep::make_plan(sweep::load_sweep_config(d.write("lad.toml", text)));
}

std::string error_of(const Dir& d, const std::string& text) {
  return sweep::testing::user_error_of([&] { plan_of(d, text); }, "ladder config was accepted");
}

}  // namespace

TEST_CASE("a ladder plans one trunk per size and its branches as the independent WSD runs") {
  Dir d;
  auto plan = plan_of(d, ladder_config());
  REQUIRE(plan.runs.size() == 8);
  std::map<std::string, const sweep::PlannedRun*> trunks;
  for (std::size_t i = 0; i < 2; ++i) {
    const auto& t = plan.runs[i];
    CHECK(t.parent.empty());  // trunks come first
    CHECK(t.config.spec.schedule.kind == "constant");
    CHECK(t.config.name.find("/trunk") != std::string::npos);
    trunks[t.record.id] = &t;
  }
  for (std::size_t i = 2; i < plan.runs.size(); ++i) {
    const auto& b = plan.runs[i];
    REQUIRE(trunks.count(b.parent));
    const auto& t = *trunks[b.parent];
    CHECK(b.record.parent_id == t.record.id);
    CHECK(b.record.shape == t.record.shape);
    const auto& s = b.config.spec;
    CHECK(s.schedule.kind == "wsd");
    // The shared warmup: 2% of the shortest branch (100 steps), as steps in both.
    CHECK(s.schedule.warmup_steps == 2);
    CHECK(t.config.spec.schedule.warmup_steps == 2);
    // The fork is where the cooldown starts: the last 25% of the branch's steps.
    CHECK(b.fork_step == b.steps - b.steps / 4);
    CHECK(b.record.fork_step == b.fork_step);
    CHECK(b.fork_step <= t.steps);
    // Before the fork the branch's LR is the trunk's, step for step; after it, it cools.
    for (std::int64_t k = 0; k < b.fork_step; ++k)
      CHECK(trainer::lr_at(s.optim, s.schedule, k, b.steps) ==
            trainer::lr_at(t.config.spec.optim, t.config.spec.schedule, k, t.steps));
    CHECK(trainer::lr_at(s.optim, s.schedule, b.fork_step, b.steps) < s.optim.lr);
    // Its identity is the independent run's: the same config read as a run config.
    auto rc = sweep::parse_run_config(b.record.config_toml, "branch");
    CHECK(sweep::run_id(rc) == b.record.id);
    CHECK(b.flops == doctest::Approx(b.record.flops_per_token * b.own_tokens()));
  }
  // The longest branch (400 steps) forks at 300: the trunk's length.
  for (auto& [id, t] : trunks) CHECK(t->steps == 300);
  bool noted = false;
  for (auto& n : plan.notes) noted |= n.find("ladder: 2 trunk(s) and 6 cooldown branches") != std::string::npos;
  CHECK(noted);
}

TEST_CASE("a longer trunk keeps its branches, and ladder inputs that cannot work are refused") {
  Dir d;
  auto longer = plan_of(d, ladder_config() + "[ladder]\ntrunk_tokens_per_param = 1000\n");
  CHECK(longer.runs.front().steps > 300);
  auto err = error_of(d, ladder_config() + "[ladder]\ntrunk_tokens_per_param = 10\n");
  CHECK(err.find("ladder.trunk_tokens_per_param: branch lad/") != std::string::npos);
  CHECK(err.find("beyond the trunk's") != std::string::npos);

  auto cosine = ladder_config();
  cosine.replace(cosine.find("schedule = \"wsd\""), 16, "schedule = \"cosine\"");
  CHECK(error_of(d, cosine).find("lad.toml:11: train.schedule: a ladder's branches are WSD runs") !=
        std::string::npos);
  for (std::string f : {"0.0", "1.0"}) {
    auto text = ladder_config();
    text.replace(text.find("decay_fraction = 0.25"), 21, "decay_fraction = " + f);
    CHECK(error_of(d, text).find("train.decay_fraction: a ladder's cooldown fraction must be in (0, 1)") !=
          std::string::npos);
  }
  auto grid = ladder_config("[ladder]\ntrunk_tokens_per_param = 10\n");
  grid.replace(grid.find("mode = \"ladder\""), 15, "mode = \"grid\"  ");
  CHECK(error_of(d, grid).find("ladder: only used in ladder mode") != std::string::npos);
}

TEST_CASE("filters.max_epochs caps a grid's D, skips IsoFLOP points over it, and must be positive") {
  Dir d;
  d.write("big.txt", std::string(60000, 'a'));
  auto grid = [&](const std::string& filters) {
    auto text = sweep::testing::tiny_grid("params = [3e3]\ntokens = [51200, 102400, 409600]\n" + filters);
    text.replace(text.find("CORPUS"), 6, d.path("big.txt"));
    return text;
  };
  auto free = plan_of(d, grid(""));
  REQUIRE(free.runs.size() == 3);
  const double unique = *trainer::unique_train_tokens(free.runs[0].config.spec);
  // 409600 tokens are about 7 epochs of the ~59k unique ones; 4 epochs cap it.
  auto capped = plan_of(d, grid("[filters]\nmax_epochs = 4\n"));
  REQUIRE(capped.runs.size() == 3);
  double longest = 0;
  for (auto& r : capped.runs) longest = std::max(longest, r.config.spec.tokens);
  CHECK(longest <= 4 * unique);
  CHECK(longest > 4 * unique - 512);
  bool noted = false;
  for (auto& n : capped.notes) noted |= n.find("filters.max_epochs: 1 run(s) capped") != std::string::npos;
  CHECK(noted);
  for (std::string bad : {"0", "-1"}) {
    auto err = error_of(d, grid("[filters]\nmax_epochs = " + bad + "\n"));
    CHECK(err.find("filters.max_epochs: expected a positive number") != std::string::npos);
  }
}

TEST_CASE("a ladder on compute levels puts each size's branches on the shared FLOP budgets") {
  Dir d;
  auto text = ladder_config();
  text.replace(text.find("tokens = [51200, 102400, 204800]"), 32, "compute = [4e9, 8e9, 1.6e10]");
  auto plan = plan_of(d, text);
  std::map<double, std::set<std::string>> sizes_at;  // budget -> shapes
  int trunks = 0;
  for (auto& r : plan.runs) {
    if (r.parent.empty()) {
      ++trunks;
      CHECK(r.budget == 0);
      // The trunk's name drops the point's budget and D: one trunk per size.
      CHECK(r.config.name.find("/C") == std::string::npos);
      CHECK(r.config.name.find("/D") == std::string::npos);
      continue;
    }
    REQUIRE(r.budget > 0);
    // Whole steps land within isoflop.tolerance of the budget.
    CHECK(r.record.flops_per_token * r.config.spec.tokens == doctest::Approx(r.budget).epsilon(0.01));
    CHECK(r.config.name.find(fmt::format("/C{:.3g}/", r.budget)) != std::string::npos);
    sizes_at[r.budget].insert(r.record.shape);
  }
  CHECK(trunks == 2);
  REQUIRE(sizes_at.size() == 3);
  for (auto& [c, shapes] : sizes_at) CHECK(shapes.size() == 2);

  // A budget the filters leave with fewer than 3 sizes is noted; both axes at once are refused.
  bool noted = false;
  for (auto& n : plan.notes) noted |= n.find("budget 4e+09 FLOPs keeps 2 model size(s)") != std::string::npos;
  CHECK(noted);
  auto both = text;
  both.replace(both.find("compute = "), 10, "tokens = [51200]\ncompute = ");
  CHECK(error_of(d, both).find("axes.compute: give the ladder's branch points as axes.compute or axes.tokens, not both") !=
        std::string::npos);
}
