#include "sweep/plan_view.h"

#include <algorithm>
#include <tuple>
#include <sstream>
#include <thread>

#include "common/error.h"
#include "common/table.h"
#include "sweep/calibrate.h"

namespace scalelab::sweep {

using nlohmann::json;

namespace {

json run_json(const PlannedRun& r) {
  const auto& s = r.config.spec;
  return {{"id", r.record.id},
          {"name", r.record.name},
          {"shape", r.record.shape},
          {"n_layer", s.model.n_layer},
          {"d_model", s.model.d_model},
          {"n_head", s.model.n_head},
          {"seq_len", s.model.seq_len},
          {"params_total", r.record.params_total},
          {"params_non_embedding", r.record.params_non_embedding},
          {"tokens", s.tokens},
          {"flops", r.flops},  // what this run trains (a branch: its cooldown)
          {"point_flops", r.record.flops_per_token * s.tokens},  // the (N, D) point's C
          {"flops_per_token", r.record.flops_per_token},
          {"flop_convention", r.record.flop_convention},
          {"budget", r.budget > 0 ? json(r.budget) : json()},
          {"tokens_per_param", r.tokens_per_param},
          {"steps", r.steps},
          {"batch_tokens", s.batch_tokens},
          {"lr", s.optim.lr},
          {"seed", s.seed},
          {"est_s", r.est_s >= 0 ? json(r.est_s) : json()},
          {"skipped", r.skipped.empty() ? json() : json(r.skipped)},
          {"parent", r.parent.empty() ? json() : json(r.parent)},
          {"fork_step", r.parent.empty() ? json() : json(r.fork_step)},
          {"config", canonical_toml(r.config)}};
}

json totals_json(const PlanView& v) {
  const double serial = v.plan.total_est_s();
  const double wall = makespan(v.plan, v.pool.jobs);
  return {{"runs", v.plan.runs.size()},
          {"tokens", v.plan.total_tokens()},
          {"flops", v.plan.total_flops()},
          {"est_serial_s", serial >= 0 ? json(serial) : json()},
          {"est_wall_s", wall >= 0 ? json(wall) : json()},
          {"jobs", v.pool.jobs},
          {"threads_per_job", v.pool.threads_per_job},
          {"device", v.pool.devices.front()}};
}

}  // namespace

PoolOptions pool_options(const SweepConfig& sc) {
  PoolOptions o;
  o.jobs = sc.execution.jobs;
  o.threads_per_job = sc.execution.threads_per_job;
  o.devices = sc.execution.devices;
  o.runs_per_device = sc.execution.runs_per_device;
  o.retries = sc.execution.retries;
  o.lease_ttl_s = sc.execution.lease_ttl_s;
  o.peak_tflops = sc.execution.peak_tflops;
  o.gpu_memory_fraction = sc.execution.gpu_memory_fraction;
  o.cuda_graphs = sc.execution.cuda_graphs;
  return o;
}

void add_estimates(Plan& plan, const SweepConfig& sc, store::Store& st, const std::string& device, int threads,
                   const Say& say) {
  Calibrator cal(&st, {device, threads, 1.0}, say);
  estimate(plan, sc, [&](const PlannedRun& r) { return cal.tokens_per_s(r.config.spec); });
}

PlanView view_plan(const PlanRequest& r, const Say& say) {
  PlanView v;
  v.config = load_sweep_config(r.config);
  resolve_lr_rule(v.config, r.db);  // lr_rule = { fit = ID } reads the fit from the database
  if (!r.device.empty()) {
    try {
      v.config.execution.devices = parse_devices({r.device});
    } catch (const UserError& e) {
      user_error("--device: {}", e.what());
    }
  }
  v.plan = make_plan(v.config);
  if (!r.show.empty()) {
    v.shown_toml = find_run(v.plan, r.show).record.config_toml;
    return v;
  }
  v.pool = pool_options(v.config);
  resolve_pool(v.pool, std::thread::hardware_concurrency());
  if (r.threads > 0) v.pool.threads_per_job = r.threads;
  if (r.calibrate && !v.plan.runs.empty()) {
    auto st = store::Store::open(r.db);
    add_estimates(v.plan, v.config, *st, v.pool.devices.front(), v.pool.threads_per_job, say);
  }
  return v;
}

std::vector<const PlannedRun*> display_order(const std::vector<PlannedRun>& runs) {
  std::vector<const PlannedRun*> out;
  for (auto& r : runs) out.push_back(&r);
  std::stable_sort(out.begin(), out.end(), [](auto* a, auto* b) {
    const auto &x = a->config.spec, &y = b->config.spec;
    // A ladder's trunk before its branches.
    return std::make_tuple(a->budget, a->n, !a->parent.empty(), x.tokens, x.optim.lr, x.seed) <
           std::make_tuple(b->budget, b->n, !b->parent.empty(), y.tokens, y.optim.lr, y.seed);
  });
  return out;
}

std::vector<std::string> render_plan(const PlanView& v) {
  const auto& sc = v.config;
  const auto& plan = v.plan;
  const bool many_lr = sc.lr.size() > 1 || sc.lr_rule.set, many_seed = sc.seed.size() > 1;
  std::vector<std::string> head = {"id", "shape", ">N", ">N non-emb", ">D", ">C", ">tok/param", ">steps"};
  if (many_lr) head.push_back(">lr");
  if (many_seed) head.push_back(">seed");
  const bool ladder = sc.mode == "ladder";
  if (ladder) head.insert(head.end(), {">trains C", "ladder"});
  head.push_back(">est. time");
  Table t(head);
  for (auto* r : display_order(plan.runs)) {
    const auto& s = r->config.spec;
    std::vector<std::string> row = {r->record.id.substr(0, 12), r->record.shape, si(r->record.params_total),
                                    si(r->record.params_non_embedding), si(s.tokens),
                                    fmt::format("{:.3g}", r->record.flops_per_token * s.tokens),
                                    fmt::format("{:.3g}", r->tokens_per_param), std::to_string(r->steps)};
    if (many_lr) row.push_back(fmt::format("{:.3g}", s.optim.lr));
    if (many_seed) row.push_back(std::to_string(s.seed));
    if (ladder) row.push_back(fmt::format("{:.3g}", r->flops));
    if (ladder)
      row.push_back(r->parent.empty() ? "trunk"
                                      : fmt::format("fork at {} of {}", r->fork_step, r->parent.substr(0, 12)));
    row.push_back(r->est_s >= 0 ? duration(r->est_s) : "-");
    t.add(row);
  }
  const double serial = plan.total_est_s(), wall = makespan(plan, v.pool.jobs);
  std::vector<std::string> out = {
      fmt::format("sweep {} ({}), {} mode, {}", sc.name, sweep_id(sc).substr(0, 12), sc.mode, sc.path)};
  std::istringstream table(t.render());
  for (std::string line; std::getline(table, line);) out.push_back(line);
  out.push_back(fmt::format(
      "total: {} runs, D {} tokens, C {:.3g} FLOPs ({} convention); est. {} serial, {} on {} job(s) x {} thread(s) on {}",
      plan.runs.size(), si(plan.total_tokens()), plan.total_flops(),
      plan.runs.empty() ? "-" : plan.runs.front().record.flop_convention, serial >= 0 ? duration(serial) : "-",
      wall >= 0 ? duration(wall) : "-", v.pool.jobs, v.pool.threads_per_job, v.pool.devices.front()));
  for (std::size_t i = 0; i < plan.skipped.size() && i < 10; ++i)
    out.push_back(fmt::format("skipped {}: {}", plan.skipped[i].config.name, plan.skipped[i].skipped));
  if (plan.skipped.size() > 10) out.push_back(fmt::format("skipped {} more", plan.skipped.size() - 10));
  for (auto& n : plan.notes) out.push_back("note: " + n);
  return out;
}

json plan_json(const PlanView& v) {
  const auto& sc = v.config;
  json runs = json::array(), skipped = json::array();
  for (auto* r : display_order(v.plan.runs)) runs.push_back(run_json(*r));
  for (auto& r : v.plan.skipped) skipped.push_back(run_json(r));
  return {{"sweep", {{"id", sweep_id(sc)}, {"name", sc.name}, {"mode", sc.mode}, {"path", sc.path}, {"files", sc.files}}},
          {"runs", runs},
          {"skipped", skipped},
          {"notes", v.plan.notes},
          {"totals", totals_json(v)}};
}

}  // namespace scalelab::sweep
