// `scalelab plan | sweep | status | cancel | retry`: sweeps from the terminal.
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <map>
#include <sstream>
#include <thread>

#include "app/commands.h"
#include "common/error.h"
#include "common/table.h"
#include "store/cluster.h"
#include "store/store.h"
#include "sweep/calibrate.h"
#include "sweep/launch.h"
#include "sweep/plan.h"
#include "sweep/slurm.h"
#include "sweep/status.h"
#include "sweep/sweep_config.h"

namespace scalelab::app {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

unsigned cores() { return std::max(1u, std::thread::hardware_concurrency()); }

json opt_json(const std::optional<double>& v) { return v ? json(*v) : json(); }

void to_stderr(const std::string& line) { fmt::print(stderr, "{}\n", line); }

// Runs in the order a reader scans a plan: by budget, then size, then the rest.
std::vector<const sweep::PlannedRun*> display_order(const std::vector<sweep::PlannedRun>& runs) {
  std::vector<const sweep::PlannedRun*> out;
  for (auto& r : runs) out.push_back(&r);
  std::stable_sort(out.begin(), out.end(), [](auto* a, auto* b) {
    const auto &x = a->config.spec, &y = b->config.spec;
    return std::tie(a->budget, a->n, x.tokens, x.optim.lr, x.seed) < std::tie(b->budget, b->n, y.tokens, y.optim.lr, y.seed);
  });
  return out;
}

// ------------------------------------------------------------------ plan

struct PlanArgs {
  std::string config, db, device, show;
  int threads = 0;
  bool json = false, no_calibrate = false;
};

// Device and threads a sweep's runs will use, as the pool will resolve them.
sweep::PoolOptions pool_from(const sweep::SweepConfig& sc) {
  sweep::PoolOptions o;
  o.jobs = sc.execution.jobs;
  o.threads_per_job = sc.execution.threads_per_job;
  o.devices = sc.execution.devices;
  o.runs_per_device = sc.execution.runs_per_device;
  o.retries = sc.execution.retries;
  o.lease_ttl_s = sc.execution.lease_ttl_s;
  return o;
}

json run_json(const sweep::PlannedRun& r) {
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
          {"flops", r.flops},
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
          {"config", sweep::canonical_toml(r.config)}};
}

void print_plan(const sweep::SweepConfig& sc, const sweep::Plan& plan, const sweep::PoolOptions& pool, bool json_out) {
  const double serial = plan.total_est_s();
  const double wall = sweep::makespan(plan, pool.jobs);
  if (json_out) {
    json runs = json::array(), skipped = json::array();
    for (auto* r : display_order(plan.runs)) runs.push_back(run_json(*r));
    for (auto& r : plan.skipped) skipped.push_back(run_json(r));
    json out = {{"sweep", {{"id", sweep::sweep_id(sc)}, {"name", sc.name}, {"mode", sc.mode}, {"path", sc.path},
                           {"files", sc.files}}},
                {"runs", runs},
                {"skipped", skipped},
                {"notes", plan.notes},
                {"totals",
                 {{"runs", plan.runs.size()},
                  {"tokens", plan.total_tokens()},
                  {"flops", plan.total_flops()},
                  {"est_serial_s", serial >= 0 ? json(serial) : json()},
                  {"est_wall_s", wall >= 0 ? json(wall) : json()},
                  {"jobs", pool.jobs},
                  {"threads_per_job", pool.threads_per_job},
                  {"device", pool.devices.front()}}}};
    fmt::print("{}\n", out.dump(2));
    return;
  }
  const bool many_lr = sc.lr.size() > 1, many_seed = sc.seed.size() > 1;
  std::vector<std::string> head = {"id", "shape", ">N", ">N non-emb", ">D", ">C", ">tok/param", ">steps"};
  if (many_lr) head.push_back(">lr");
  if (many_seed) head.push_back(">seed");
  head.push_back(">est. time");
  Table t(head);
  for (auto* r : display_order(plan.runs)) {
    const auto& s = r->config.spec;
    std::vector<std::string> row = {r->record.id.substr(0, 12), r->record.shape, si(r->record.params_total),
                                    si(r->record.params_non_embedding), si(s.tokens), fmt::format("{:.3g}", r->flops),
                                    fmt::format("{:.3g}", r->tokens_per_param), std::to_string(r->steps)};
    if (many_lr) row.push_back(fmt::format("{:.3g}", s.optim.lr));
    if (many_seed) row.push_back(std::to_string(s.seed));
    row.push_back(r->est_s >= 0 ? duration(r->est_s) : "-");
    t.add(row);
  }
  fmt::print("sweep {} ({}), {} mode, {}\n", sc.name, sweep::sweep_id(sc).substr(0, 12), sc.mode, sc.path);
  fmt::print("{}", t.render());
  fmt::print("total: {} runs, D {} tokens, C {:.3g} FLOPs ({} convention); est. {} serial, {} on {} job(s) x {} "
             "thread(s) on {}\n",
             plan.runs.size(), si(plan.total_tokens()), plan.total_flops(),
             plan.runs.empty() ? "-" : plan.runs.front().record.flop_convention,
             serial >= 0 ? duration(serial) : "-", wall >= 0 ? duration(wall) : "-", pool.jobs, pool.threads_per_job,
             pool.devices.front());
  for (std::size_t i = 0; i < plan.skipped.size() && i < 10; ++i)
    fmt::print("skipped {}: {}\n", plan.skipped[i].config.name, plan.skipped[i].skipped);
  if (plan.skipped.size() > 10) fmt::print("skipped {} more\n", plan.skipped.size() - 10);
  for (auto& n : plan.notes) fmt::print("note: {}\n", n);
}

// Estimates every run from a measured, cached calibration of its shape.
void add_estimates(sweep::Plan& plan, const sweep::SweepConfig& sc, store::Store& st, const std::string& device,
                   int threads) {
  sweep::Calibrator cal(&st, {device, threads, 1.0}, to_stderr);
  sweep::estimate(plan, sc, [&](const sweep::PlannedRun& r) { return cal.tokens_per_s(r.config.spec); });
}

void run_plan(PlanArgs& a) {
  auto sc = sweep::load_sweep_config(a.config);
  if (!a.device.empty()) {
    try {
      sc.execution.devices = sweep::parse_devices({a.device});
    } catch (const UserError& e) {
      user_error("--device: {}", e.what());
    }
  }
  auto plan = sweep::make_plan(sc);
  if (!a.show.empty()) return fmt::print("{}", sweep::find_run(plan, a.show).record.config_toml);
  auto pool = pool_from(sc);
  sweep::resolve_pool(pool, cores());
  if (a.threads > 0) pool.threads_per_job = a.threads;
  if (!a.no_calibrate && !plan.runs.empty()) {
    auto st = store::Store::open(a.db);
    add_estimates(plan, sc, *st, pool.devices.front(), pool.threads_per_job);
  }
  print_plan(sc, plan, pool, a.json);
  if (auto w = sweep::epoch_warning(plan); !w.empty()) to_stderr(w);
}

// ------------------------------------------------------------------ sweep

struct SweepArgs {
  std::string target, db, devices, runs_dir;
  int jobs = 0, threads = 0, runs_per_device = 0, retries = -1;
  bool quiet = false;
  // --backend slurm (docs/cluster.md)
  std::string backend = "local", partition, time;
  std::vector<std::string> sbatch_args;
  int gpus_per_run = 0, max_parallel = 0;
  long signal_before = 0;
  bool no_wait = false;
};

std::string self_exe() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  if (ec) throw std::runtime_error("cannot find the scalelab binary (/proc/self/exe): " + ec.message());
  return p.string();
}

// Submits to SLURM and, unless --no-wait, follows the jobs until the sweep settles.
void run_sweep_slurm(const SweepArgs& a, store::Store& st, const std::string& id, const sweep::PoolOptions& pool,
                     int config_threads) {
  sweep::slurm::Options o;
  o.db = pool.db;
  o.runs_dir = pool.runs_dir;
  o.exe = pool.exe;
  o.partition = a.partition;
  o.time = a.time;
  o.sbatch_args = a.sbatch_args;
  o.gpus_per_run = a.gpus_per_run;
  o.threads = a.threads > 0 ? a.threads : config_threads > 0 ? config_threads : 2;
  o.max_parallel = a.max_parallel;
  o.retries = pool.retries;
  o.signal_before_s = a.signal_before;
  o.wait = !a.no_wait;
  auto sw = st.sweep(id);
  fmt::print("slurm: {} thread(s){} per run; scripts and logs in {}/slurm/, worker logs in {}/<run id>/worker.log\n",
             o.threads, o.gpus_per_run > 0 ? fmt::format(", {} GPU(s)", o.gpus_per_run) : "", o.runs_dir, o.runs_dir);
  std::fflush(stdout);
  auto out = [&](const std::string& line) {
    if (!a.quiet || line.find("FAILED") != std::string::npos || line.find("DIVERGED") != std::string::npos) {
      fmt::print("{}\n", line);
      std::fflush(stdout);
    }
  };
  auto res = sweep::slurm::run(st, *sw, o, out);
  auto status = sweep::sweep_status(st, *sw);
  if (!o.wait) {
    fmt::print("submitted; `scalelab status {}` follows the jobs, `scalelab cancel {}` cancels them\n", sw->name,
               sw->name);
    return;
  }
  for (auto& line : sweep::render_status(status)) fmt::print("{}\n", line);
  if (res.interrupted) {
    fmt::print("detached: the jobs keep running; `scalelab status {}` follows them, `scalelab sweep {} --backend "
               "slurm` resumes watching\n",
               sw->name, sw->name);
    throw ExitStatus{130};
  }
  if (status.failed > 0) {
    fmt::print("{} run(s) failed; see their logs above, then `scalelab retry {} --failed`\n", status.failed, sw->name);
    throw ExitStatus{1};
  }
}

void run_sweep_cmd(SweepArgs& a) {
  const bool is_file = fs::is_regular_file(a.target);
  std::optional<sweep::SweepConfig> sc;
  sweep::PoolOptions pool;
  std::optional<sweep::Plan> plan;
  // Everything is validated before the store is opened: bad input registers nothing.
  if (is_file) {
    sc = sweep::load_sweep_config(a.target);
    plan = sweep::make_plan(*sc);
    pool = pool_from(*sc);
  }
  if (!a.devices.empty()) {
    std::vector<std::string> names;
    std::stringstream ss(a.devices);
    for (std::string d; std::getline(ss, d, ',');) names.push_back(d);
    try {
      pool.devices = sweep::parse_devices(names);
    } catch (const UserError& e) {
      user_error("--devices: {}", e.what());
    }
  }
  if (a.jobs > 0) pool.jobs = a.jobs;
  if (a.threads > 0) pool.threads_per_job = a.threads;
  if (a.runs_per_device > 0) pool.runs_per_device = a.runs_per_device;
  if (a.retries >= 0) pool.retries = a.retries;
  for (auto& w : sweep::resolve_pool(pool, cores())) to_stderr("warning: " + w);
  if (!is_file && a.target.find(".toml") != std::string::npos)
    user_error("{}: no such file; expected a sweep config (or the name or id of a registered sweep)", a.target);
  const bool slurm = a.backend == "slurm";
  if (slurm) {
    if (!a.time.empty() && sweep::slurm::parse_time_limit(a.time) <= 0)
      user_error("--time: expected a SLURM time limit such as 02:00:00, 90 (minutes) or 1-00:00:00, got '{}'", a.time);
    if (!sweep::slurm::available())
      user_error("--backend slurm: sbatch is not on PATH; run this on a SLURM login node");
  }

  auto st = store::Store::open(a.db);
  std::string id;
  if (is_file) {
    if (std::isfinite(sc->filters.max_est_runtime_s))
      add_estimates(*plan, *sc, *st, pool.devices.front(), pool.threads_per_job);
    for (auto& n : plan->notes) to_stderr("note: " + n);
    auto sub = sweep::submit(*st, *sc, *plan);
    id = sub.sweep_id;
    fmt::print("sweep {} ({}): {} runs, {} new, {} finished already{}\n", sc->name, id.substr(0, 12), sub.runs,
               sub.new_runs, sub.finished,
               plan->skipped.empty() ? "" : fmt::format(", {} skipped by filters", plan->skipped.size()));
  } else {
    auto sw = st->sweep(a.target);
    if (!sw) user_error("{}: no such file, and no sweep '{}' in {}", a.target, a.target, a.db);
    id = sw->id;
  }
  pool.db = fs::absolute(a.db).lexically_normal().string();
  std::string runs_dir = !a.runs_dir.empty()                       ? a.runs_dir
                         : sc && !sc->execution.runs_dir.empty()   ? sc->execution.runs_dir
                                                                   : (fs::path(a.db).parent_path() / "runs").string();
  pool.runs_dir = fs::absolute(runs_dir).lexically_normal().string();
  pool.exe = self_exe();
  if (slurm) {
    run_sweep_slurm(a, *st, id, pool, sc ? sc->execution.threads_per_job : 0);
    return;
  }
  pool.tty = !a.quiet && isatty(STDOUT_FILENO) == 1;
  fmt::print("{} job(s) x {} thread(s) on {}; worker logs in {}/<run id>/worker.log\n", pool.jobs,
             pool.threads_per_job, fmt::join(pool.devices, ","), pool.runs_dir);
  std::fflush(stdout);
  auto out = [&](const std::string& line) {
    if (!a.quiet || line.find("FAILED") != std::string::npos || line.find("DIVERGED") != std::string::npos) {
      fmt::print("{}\n", line);
      std::fflush(stdout);
    }
  };
  auto res = sweep::run_pool(*st, id, pool, out);
  auto sw = st->sweep(id);
  auto status = sweep::sweep_status(*st, *sw);
  if (!pool.tty)
    for (auto& line : sweep::render_status(status)) fmt::print("{}\n", line);
  if (res.held_elsewhere > 0)
    fmt::print("{} run(s) are being trained by another scalelab sweep; `scalelab status {}` follows them\n",
               res.held_elsewhere, sw->name);
  if (res.interrupted) {
    fmt::print("interrupted: run `scalelab sweep {}` again to continue where it stopped\n", a.target);
    throw ExitStatus{130};
  }
  if (status.failed > 0) {
    fmt::print("{} run(s) failed; see their logs above, then `scalelab retry {} --failed`\n", status.failed, sw->name);
    throw ExitStatus{1};
  }
}

// ------------------------------------------------------------------ status

struct StatusArgs {
  std::string sweep, db;
  bool watch = false, json = false;
  double interval = 2;
};

// The SLURM job of every run that has one: run id -> job.
std::map<std::string, store::ClusterJob> jobs_by_run(const store::Store& st, const std::string& sweep_id) {
  std::map<std::string, store::ClusterJob> m;
  for (auto& j : store::cluster_jobs(st, sweep_id, false)) m[j.run_id] = j;
  return m;
}

// Lines for the runs whose jobs are still pending or running on the cluster.
std::vector<std::string> slurm_lines(const sweep::SweepStatus& s, const std::map<std::string, store::ClusterJob>& jobs) {
  std::vector<std::string> out;
  int live = 0;
  for (auto& r : s.runs) {
    auto it = jobs.find(r.id);
    if (it == jobs.end() || it->second.settled) continue;
    if (++live <= 20)
      out.push_back(fmt::format("  slurm job {:<12} {:<10} {} ({})", it->second.job_id, it->second.state, r.name,
                                r.id.substr(0, 12)));
  }
  if (live > 20) out.push_back(fmt::format("  ... {} more slurm job(s)", live - 20));
  if (live > 0) out.insert(out.begin(), fmt::format("slurm: {} job(s) pending or running", live));
  return out;
}

json status_json(const sweep::SweepStatus& s, const std::map<std::string, store::ClusterJob>& jobs = {}) {
  json runs = json::array();
  for (auto& r : s.runs) {
    auto job = jobs.find(r.id);
    auto live = s.live_loss.find(r.id);
    runs.push_back({{"id", r.id},
                    {"name", r.name},
                    {"shape", r.shape},
                    {"status", sweep::sweep_state(r)},
                    {"store_status", r.status},
                    {"params_total", r.params_total},
                    {"params_non_embedding", r.params_non_embedding},
                    {"planned_tokens", r.planned_tokens},
                    {"tokens_done", r.tokens_done},
                    {"steps_done", r.steps_done},
                    {"flops_per_token", r.flops_per_token},
                    {"tokens_per_s", r.tokens_per_s},
                    {"loss", live != s.live_loss.end() ? json(live->second) : json()},
                    {"final_train_loss", opt_json(r.final_train_loss)},
                    {"final_val_loss", opt_json(r.final_val_loss)},
                    {"attempts", r.attempts},
                    {"failures", r.failures},
                    {"error", r.error.empty() ? json() : json(r.error)},
                    {"log", r.log_path.empty() ? json() : json(r.log_path)},
                    {"worker", r.lease ? json({{"owner", r.lease->owner}, {"pid", r.lease->worker_pid}}) : json()},
                    {"slurm", job == jobs.end() ? json()
                                                : json({{"job_id", job->second.job_id},
                                                        {"state", job->second.state},
                                                        {"settled", job->second.settled},
                                                        {"script", job->second.script}})}});
  }
  return {{"id", s.sweep.id},
          {"name", s.sweep.name},
          {"created_at", s.sweep.created_at},
          {"total", s.total},
          {"pending", s.pending},
          {"running", s.running},
          {"done", s.done},
          {"failed", s.failed},
          {"diverged", s.diverged},
          {"cancelled", s.cancelled},
          {"tokens_done", s.tokens_done},
          {"tokens_total", s.tokens_total},
          {"flops_done", s.flops_done},
          {"flops_total", s.flops_total},
          {"eta_s", s.settled() ? json(0) : s.eta_s >= 0 ? json(s.eta_s) : json()},
          {"runs", runs}};
}

std::atomic<bool> g_watch_stop{false};
extern "C" void on_watch_stop(int) { g_watch_stop = true; }

void run_status(const StatusArgs& a) {
  if (!fs::exists(a.db)) user_error("{}: no such database; run `scalelab sweep CONFIG --db {}` first", a.db, a.db);
  auto st = store::Store::open(a.db);
  std::vector<store::Sweep> sweeps;
  if (!a.sweep.empty()) {
    auto sw = st->sweep(a.sweep);
    if (!sw) user_error("{}: no sweep '{}'; `scalelab status --db {}` lists them", a.db, a.sweep, a.db);
    sweeps.push_back(*sw);
  } else {
    sweeps = st->sweeps();
    if (sweeps.empty()) {
      fmt::print("no sweeps in {}\n", a.db);
      return;
    }
  }
  const bool tty = isatty(STDOUT_FILENO) == 1;
  if (a.watch) {
    std::signal(SIGINT, on_watch_stop);
    std::signal(SIGTERM, on_watch_stop);
  }
  std::string last_plain;
  for (;;) {
    std::vector<sweep::SweepStatus> all;
    bool settled = true;
    std::vector<std::map<std::string, store::ClusterJob>> jobs;
    for (auto& sw : sweeps) {
      // Cluster tasks write result shards; status copies them in and settles finished jobs.
      if (!store::cluster_jobs(*st, sw.id, true).empty() && sweep::slurm::available())
        sweep::slurm::sync(*st, sw.id, [](const std::string&) {});
      all.push_back(sweep::sweep_status(*st, sw));
      jobs.push_back(jobs_by_run(*st, sw.id));
      settled = settled && all.back().settled();
    }
    if (a.json) {
      json arr = json::array();
      for (std::size_t i = 0; i < all.size(); ++i) arr.push_back(status_json(all[i], jobs[i]));
      fmt::print("{}\n", a.watch ? arr.dump() : arr.dump(2));
    } else if (a.watch && !tty) {
      // Plain lines for logs and pipes: one per sweep, only when something changed.
      std::string text;
      for (auto& s : all) text += sweep::status_line(s) + "\n";
      if (text != last_plain) fmt::print("{}", text);
      last_plain = text;
    } else {
      std::string text = a.watch ? "\x1b[H\x1b[2J" : "";
      for (std::size_t i = 0; i < all.size(); ++i) {
        auto& s = all[i];
        auto lines = a.sweep.empty() && all.size() > 1 && !a.watch ? std::vector<std::string>{sweep::status_line(s)}
                                                                   : sweep::render_status(s);
        if (!(a.sweep.empty() && all.size() > 1 && !a.watch))
          for (auto& l : slurm_lines(s, jobs[i])) lines.push_back(l);
        for (auto& l : lines) text += l + "\n";
      }
      fmt::print("{}", text);
    }
    std::fflush(stdout);
    if (!a.watch || settled) return;
    for (double waited = 0; waited < a.interval && !g_watch_stop; waited += 0.1)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (g_watch_stop) return;
  }
}

// ------------------------------------------------------------------ cancel, retry

struct SweepRef {
  std::string sweep, db;
  bool failed = false;
};

store::Sweep find_sweep(store::Store& st, const SweepRef& a) {
  auto sw = st.sweep(a.sweep);
  if (!sw) user_error("{}: no sweep '{}'; `scalelab status --db {}` lists them", a.db, a.sweep, a.db);
  return *sw;
}

void run_cancel(const SweepRef& a) {
  if (!fs::exists(a.db)) user_error("{}: no such database", a.db);
  auto st = store::Store::open(a.db);
  auto sw = find_sweep(*st, a);
  auto res = st->cancel_sweep(sw.id);
  int jobs = 0;
  if (!store::cluster_jobs(*st, sw.id, true).empty()) {
    if (!sweep::slurm::available()) user_error("sweep {} has SLURM jobs, but scancel is not on PATH", sw.name);
    jobs = sweep::slurm::cancel(*st, sw.id);
  }
  // Workers on this host stop at once; elsewhere their orchestrator sees the request within a second.
  const auto host = sweep::host_name();
  int signalled = 0;
  for (auto& l : res.live)
    if (l.host == host && l.worker_pid > 0 && sweep::pid_alive(l.worker_pid) && kill(l.worker_pid, SIGTERM) == 0)
      ++signalled;
  fmt::print("sweep {}: {} pending run(s) cancelled; {} running run(s) asked to stop at a checkpoint\n", sw.name,
             res.cancelled, res.requested);
  if (jobs > 0) fmt::print("scancel: {} slurm job(s) cancelled; their runs are marked cancelled\n", jobs);
  if (res.cancelled + res.requested > 0) fmt::print("`scalelab retry {}` requeues them\n", sw.name);
}

void run_retry(const SweepRef& a) {
  if (!fs::exists(a.db)) user_error("{}: no such database", a.db);
  auto st = store::Store::open(a.db);
  auto sw = find_sweep(*st, a);
  int n = st->retry_sweep(sw.id, a.failed);
  fmt::print("sweep {}: {} {} run(s) requeued{}\n", sw.name, n, a.failed ? "failed" : "failed or cancelled",
             n > 0 ? fmt::format("; `scalelab sweep {}` trains them, from their checkpoints", sw.name) : "");
}

}  // namespace

void add_sweep_commands(CLI::App& root) {
  {
    static PlanArgs a;
    auto* cmd = root.add_subcommand("plan", "Show the runs a sweep config stands for, with estimated times");
    cmd->add_option("config", a.config, "Sweep config (TOML); see docs/sweeps.md")->required();
    add_db_option(cmd, a.db)->description("Database holding the throughput calibration cache");
    cmd->add_option("--device", a.device, "Device to calibrate on (default: the config's first device)");
    cmd->add_option("--threads", a.threads, "CPU threads per run (default: as the sweep would use)")
        ->check(CLI::PositiveNumber);
    cmd->add_flag("--json", a.json, "The plan as JSON");
    cmd->add_flag("--no-calibrate", a.no_calibrate, "Skip the throughput measurement (no time estimates)");
    cmd->add_option("--show", a.show, "Print one run's resolved config (canonical TOML); RUN is an id prefix or name");
    cmd->callback([] { run_plan(a); });
  }
  {
    static SweepArgs a;
    auto* cmd = root.add_subcommand("sweep", "Register a sweep and train its pending runs in parallel workers");
    cmd->add_option("config", a.target, "Sweep config (TOML), or the name or id of a registered sweep")->required();
    add_db_option(cmd, a.db);
    cmd->add_option("--jobs,-j", a.jobs, "Concurrent workers (default: cores / threads, or one per GPU)")
        ->check(CLI::PositiveNumber);
    cmd->add_option("--threads-per-job", a.threads, "CPU threads per worker")->check(CLI::PositiveNumber);
    cmd->add_option("--devices", a.devices, "cpu, or GPUs such as cuda:0,cuda:1");
    cmd->add_option("--runs-per-device", a.runs_per_device, "Concurrent runs per device")->check(CLI::PositiveNumber);
    cmd->add_option("--retries", a.retries, "Extra attempts for crashed or killed workers (default 2)")
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--runs-dir", a.runs_dir, "Checkpoints and worker logs (default: runs/ next to the database)");
    cmd->add_flag("--quiet", a.quiet, "Print only failures and the final summary");
    cmd->add_option("--backend", a.backend, "local (a pool of workers here) or slurm (job arrays; docs/cluster.md)")
        ->check(CLI::IsMember({"local", "slurm"}));
    cmd->add_option("--partition", a.partition, "slurm: the partition to submit to");
    cmd->add_option("--gpus-per-run", a.gpus_per_run, "slurm: GPUs per run (--gres=gpu:K; the run trains on cuda)")
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--time", a.time, "slurm: time limit per job, e.g. 02:00:00; runs checkpoint before it");
    cmd->add_option("--max-parallel", a.max_parallel, "slurm: at most this many tasks of an array at once (%N)")
        ->check(CLI::PositiveNumber);
    cmd->add_option("--sbatch-arg", a.sbatch_args, "slurm: an extra sbatch option, passed as is (repeatable)")
        ->allow_extra_args(false);
    cmd->add_option("--signal-before", a.signal_before,
                    "slurm: seconds before the time limit SLURM signals a run to checkpoint (default 300, at most "
                    "half the limit); SLURM may send it up to a minute early")
        ->check(CLI::PositiveNumber);
    cmd->add_flag("--no-wait,--detach", a.no_wait, "slurm: submit and return instead of following the jobs");
    cmd->callback([] { run_sweep_cmd(a); });
  }
  {
    static StatusArgs a;
    auto* cmd = root.add_subcommand("status", "Progress of sweeps: runs by state, tokens, FLOPs, ETA, live losses");
    cmd->add_option("sweep", a.sweep, "Sweep name or id (default: every sweep)");
    add_db_option(cmd, a.db);
    cmd->add_flag("--watch", a.watch, "Refresh until the sweep settles (in place on a terminal)");
    cmd->add_flag("--json", a.json, "JSON (one document per refresh with --watch)");
    cmd->add_option("--interval", a.interval, "Seconds between refreshes with --watch")->check(CLI::PositiveNumber);
    cmd->callback([] { run_status(a); });
  }
  {
    static SweepRef a;
    auto* cmd = root.add_subcommand("cancel", "Cancel a sweep's pending runs and stop its running ones at a checkpoint");
    cmd->add_option("sweep", a.sweep, "Sweep name or id")->required();
    add_db_option(cmd, a.db);
    cmd->callback([] { run_cancel(a); });
  }
  {
    static SweepRef b;
    auto* cmd = root.add_subcommand("retry", "Requeue a sweep's failed and cancelled runs");
    cmd->add_option("sweep", b.sweep, "Sweep name or id")->required();
    add_db_option(cmd, b.db);
    cmd->add_flag("--failed", b.failed, "Only failed runs (not cancelled ones)");
    cmd->callback([] { run_retry(b); });
  }
}

}  // namespace scalelab::app
