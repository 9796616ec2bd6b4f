// Cooldown ladders (docs/ladders.md), after Hägele et al. 2024 and OLMo-core's
// WSD-S: the grid's points of one size become WSD branches forked from one
// warmup-stable trunk. A branch is planned as the independent WSD run to its D
// (so it has that run's id): its first fork_step steps are the trunk's, step for
// step, because the trunk holds the same LR after the same warmup and batches are
// a function of (seed, step). Only its cooldown is trained.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <tuple>

#include "common/table.h"
#include "sweep/plan.h"
#include "trainer/schedule.h"

namespace scalelab::sweep {

namespace {

using Key = std::tuple<std::string, double, std::uint64_t, double>;  // shape, lr, seed, train fraction

Key key_of(const PlannedRun& r) {
  const auto& s = r.config.spec;
  return {r.record.shape, s.optim.lr, s.seed, s.task.train_fraction};
}

// Warmup in steps, shared by the trunk and every branch of a size: the config's,
// or warmup_fraction of the shortest branch.
std::int64_t shared_warmup(const SweepConfig& sc, const std::vector<PlannedRun*>& branches) {
  if (sc.base.schedule.warmup_steps >= 0) return sc.base.schedule.warmup_steps;
  std::int64_t shortest = branches.front()->steps;
  for (auto* b : branches) shortest = std::min(shortest, b->steps);
  auto w = sc.base.schedule;
  w.warmup_steps = -1;
  return trainer::warmup_steps(w, shortest);
}

// A branch's name without its D and budget: "s/L2-D32-H2-T32/C1e+12/D1.2M/lr0.003" -> "s/L2-D32-H2-T32/lr0.003/trunk".
std::string trunk_name(const std::string& branch) {
  std::string out;
  std::size_t start = 0;
  for (bool first = true; start <= branch.size(); first = false) {
    auto end = std::min(branch.find('/', start), branch.size());
    auto seg = branch.substr(start, end - start);
    // Segments after the sweep name and shape; shapes themselves start with "L".
    const bool point = !first && seg.size() > 1 && (seg[0] == 'C' || seg[0] == 'D') && std::isdigit(seg[1]);
    if (!point) out += (out.empty() ? "" : "/") + seg;
    start = end + 1;
  }
  return out + "/trunk";
}

PlannedRun make_trunk(const SweepConfig& sc, const PlannedRun& like, std::int64_t steps, std::int64_t warmup) {
  PlannedRun t;
  t.config = like.config;
  auto& s = t.config.spec;
  s.schedule.kind = "constant";
  s.schedule.warmup_steps = warmup;
  s.tokens = double(steps) * double(s.batch_tokens);
  t.steps = steps;
  t.n = like.n;
  t.tokens_per_param = s.tokens / t.n;
  t.flops = like.record.flops_per_token * s.tokens;
  t.config.name = trunk_name(like.config.name);
  t.record = run_record(t.config, sweep_id(sc));
  t.record.name = t.config.name;
  return t;
}

// Turns one size's branches into WSD runs forked from a trunk they share.
PlannedRun ladder_of(const SweepConfig& sc, std::vector<PlannedRun*>& branches) {
  const std::int64_t warmup = shared_warmup(sc, branches);
  std::int64_t last_fork = 0;
  for (auto* b : branches) {
    auto& s = b->config.spec;
    s.schedule.warmup_steps = warmup;
    b->fork_step = trainer::cooldown_start(s.schedule, b->steps);
    if (b->fork_step < 1)
      sc.fail("train.decay_fraction", fmt::format("branch {} ({} steps) would cool down from its first step; give it "
                                                  "more tokens or a smaller cooldown", b->config.name, b->steps));
    last_fork = std::max(last_fork, b->fork_step);
  }
  std::int64_t trunk_steps = last_fork;
  if (double r = sc.ladder.trunk_tokens_per_param; r > 0) {
    trunk_steps = std::llround(r * branches.front()->n / double(sc.base.batch_tokens));
    for (auto* b : branches)
      if (b->fork_step > trunk_steps)
        sc.fail("ladder.trunk_tokens_per_param",
                fmt::format("branch {} forks at step {}, beyond the trunk's {} steps ({} tokens per parameter)",
                            b->config.name, b->fork_step, trunk_steps, r));
  }
  PlannedRun trunk = make_trunk(sc, *branches.front(), trunk_steps, warmup);
  for (auto* b : branches) {
    const double fpt = b->record.flops_per_token;
    auto name = b->record.name;
    b->record = run_record(b->config, sweep_id(sc));
    b->record.name = name;
    b->record.parent_id = trunk.record.id;
    b->record.fork_step = b->fork_step;
    b->parent = trunk.record.id;
    b->flops = fpt * double(b->steps - b->fork_step) * double(sc.base.batch_tokens);
  }
  return trunk;
}

}  // namespace

void make_ladders(const SweepConfig& sc, Plan& plan) {
  std::map<Key, std::vector<PlannedRun*>> sizes;
  for (auto& r : plan.runs) sizes[key_of(r)].push_back(&r);
  std::vector<PlannedRun> trunks;
  double independent = 0, ladder = 0;
  for (auto& [key, branches] : sizes) {
    for (auto* b : branches) independent += b->flops;
    trunks.push_back(ladder_of(sc, branches));
    ladder += trunks.back().flops;
    for (auto* b : branches) ladder += b->flops;
  }
  const std::size_t n_branches = plan.runs.size();
  // Trunks first: nothing of a ladder can start before its trunk.
  plan.runs.insert(plan.runs.begin(), trunks.begin(), trunks.end());
  if (!trunks.empty())
    plan.notes.push_back(fmt::format("ladder: {} trunk(s) and {} cooldown branches train {:.3g} FLOPs; independent "
                                     "runs to the same {} points would train {:.3g} ({:.2f}x the ladder)",
                                     trunks.size(), n_branches, ladder, n_branches, independent, independent / ladder));
}

}  // namespace scalelab::sweep
