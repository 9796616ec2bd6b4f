#include "sweep/orchestrate.h"

#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <sstream>
#include <thread>

#include "common/error.h"
#include "common/table.h"
#include "sweep/gpu.h"

namespace scalelab::sweep {

namespace fs = std::filesystem;

namespace {

std::string self_exe() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  if (ec) throw std::runtime_error("cannot find the scalelab binary (/proc/self/exe): " + ec.message());
  return p.string();
}

std::string absolute(const std::string& p) { return fs::absolute(p).lexically_normal().string(); }

void apply_overrides(const SweepRequest& r, PoolOptions& pool) {
  if (!r.devices.empty()) {
    std::vector<std::string> names;
    std::stringstream ss(r.devices);
    for (std::string d; std::getline(ss, d, ',');) names.push_back(d);
    try {
      pool.devices = parse_devices(names);
    } catch (const UserError& e) {
      user_error("--devices: {}", e.what());
    }
  }
  if (r.jobs > 0) pool.jobs = r.jobs;
  if (r.threads > 0) pool.threads_per_job = r.threads;
  if (r.runs_per_device > 0) pool.runs_per_device = r.runs_per_device;
  if (r.retries >= 0) pool.retries = r.retries;
  if (r.peak_tflops > 0) pool.peak_tflops = r.peak_tflops;
  if (r.gpu_memory_fraction > 1)
    user_error("--gpu-memory-fraction: expected a number in (0, 1], got {}", r.gpu_memory_fraction);
  if (r.gpu_memory_fraction > 0) pool.gpu_memory_fraction = r.gpu_memory_fraction;
  const bool cpu = pool.devices.size() == 1 && pool.devices[0] == "cpu";
  if (r.cuda_graphs && cpu) user_error("--cuda-graphs needs a CUDA device; the devices are cpu");
  if (pool.cuda_graphs && cpu) user_error("execution.cuda_graphs needs a CUDA device; the devices are cpu");
  pool.cuda_graphs = pool.cuda_graphs || r.cuda_graphs;
}

void check_slurm(const ClusterRequest& c) {
  if (!c.time.empty() && slurm::parse_time_limit(c.time) <= 0)
    user_error("--time: expected a SLURM time limit such as 02:00:00, 90 (minutes) or 1-00:00:00, got '{}'", c.time);
  if (!slurm::available()) user_error("--backend slurm: sbatch is not on PATH; run this on a SLURM login node");
}

slurm::Options slurm_options(const PreparedSweep& p) {
  const auto& c = *p.request.slurm;
  const int config_threads = p.config ? p.config->execution.threads_per_job : 0;
  slurm::Options o;
  o.db = p.pool.db;
  o.runs_dir = p.pool.runs_dir;
  o.exe = p.pool.exe;
  o.partition = c.partition;
  o.time = c.time;
  o.sbatch_args = c.sbatch_args;
  o.gpus_per_run = c.gpus_per_run;
  o.threads = p.request.threads > 0 ? p.request.threads : config_threads > 0 ? config_threads : 2;
  o.max_parallel = c.max_parallel;
  o.retries = p.pool.retries;
  o.signal_before_s = c.signal_before_s;
  o.wait = c.wait;
  // A task has its GPUs to itself (--gres), so no memory share unless one was asked for.
  if (p.pool.peak_tflops > 0) o.worker_flags = {"--peak-tflops", fmt::format("{}", p.pool.peak_tflops)};
  if (c.gpus_per_run > 0 && p.pool.cuda_graphs) o.worker_flags.push_back("--cuda-graphs");
  if (c.gpus_per_run > 0 && p.request.gpu_memory_fraction > 0)
    o.worker_flags.insert(o.worker_flags.end(),
                          {"--gpu-memory-fraction", fmt::format("{}", p.request.gpu_memory_fraction)});
  return o;
}

// The sweep in the store: a config's plan submitted, or a registered sweep found.
Registered register_target(store::Store& st, const PreparedSweep& p, const Say& note) {
  if (!p.config) {
    auto sw = st.sweep(p.request.target);
    if (!sw) user_error("{}: no such file, and no sweep '{}' in {}", p.request.target, p.request.target, p.request.db);
    return {sw->name, sw->id, std::nullopt};
  }
  auto plan = *p.plan;
  if (std::isfinite(p.config->filters.max_est_runtime_s))
    add_estimates(plan, *p.config, st, p.pool.devices.front(), p.pool.threads_per_job, note);
  for (auto& n : plan.notes) note("note: " + n);
  auto sub = submit(st, *p.config, plan);
  return {p.config->name, sub.sweep_id, sub};
}

int exit_code(const Outcome& o) {
  return o.interrupted ? 130 : o.resource ? kExitResource : o.status.failed > 0 ? 1 : 0;
}

Outcome run_local(store::Store& st, const std::string& id, const PoolOptions& pool, const Say& event) {
  Outcome o;
  auto res = run_pool(st, id, pool, event);
  o.sweep = *st.sweep(id);
  o.status = sweep_status(st, o.sweep);
  o.interrupted = res.interrupted;
  o.resource = res.resource;
  o.held_elsewhere = res.held_elsewhere;
  o.exit_code = exit_code(o);
  return o;
}

Outcome run_slurm(store::Store& st, const std::string& id, const slurm::Options& opt, const Say& event) {
  Outcome o;
  o.sweep = *st.sweep(id);
  auto res = slurm::run(st, o.sweep, opt, event);
  o.status = sweep_status(st, o.sweep);
  o.waited = opt.wait;
  if (!o.waited) return o;
  o.interrupted = res.interrupted;
  o.exit_code = exit_code(o);
  return o;
}

// What a worker would refuse at its start, refused here before anything is
// registered: a data split shorter than a sequence, a model this machine cannot
// hold in memory, a GPU it does not have. (On SLURM the nodes decide.)
void check_runnable(const Plan& plan, const PoolOptions& pool) {
  for (auto& d : pool.devices) check_device_present(d);
  // Packed onto a GPU, each run must fit in its worker's share of the memory.
  const auto& dev = pool.devices.front();
  std::optional<double> gpu_bytes;
  if (dev != "cpu" && pool.gpu_memory_fraction > 0) gpu_bytes = device_memory_bytes(dev, detect_gpus());
  for (auto& r : plan.runs)
    if (gpu_bytes)
      check_memory_share(r.config.name, trainer::training_memory_bytes(r.config.spec), *gpu_bytes,
                         pool.gpu_memory_fraction, dev);
  for (auto& r : plan.runs) {
    trainer::check_data_fits(r.config.spec);
    try {
      trainer::check_memory(r.config.spec, pool.devices.front());
    } catch (const UserError& e) {
      user_error("run {}: {}", r.config.name, e.what());
    }
  }
}

}  // namespace

PreparedSweep prepare(const SweepRequest& r, const Say& warn) {
  PreparedSweep p;
  p.request = r;
  if (fs::is_regular_file(r.target)) {
    p.config = load_sweep_config(r.target);
    resolve_lr_rule(*p.config, r.db);  // lr_rule = { fit = ID } reads the fit from the database
    p.plan = make_plan(*p.config);
    p.pool = pool_options(*p.config);
  }
  apply_overrides(r, p.pool);
  for (auto& w : resolve_pool(p.pool, std::thread::hardware_concurrency())) warn(w);
  if (!p.config && r.target.find(".toml") != std::string::npos)
    user_error("{}: no such file; expected a sweep config (or the name or id of a registered sweep)", r.target);
  if (r.slurm) check_slurm(*r.slurm);
  p.pool.db = absolute(r.db);
  const std::string runs_dir = !r.runs_dir.empty()                                ? r.runs_dir
                               : p.config && !p.config->execution.runs_dir.empty() ? p.config->execution.runs_dir
                                                                                  : (fs::path(r.db).parent_path() / "runs").string();
  p.pool.runs_dir = absolute(runs_dir);
  p.pool.exe = self_exe();
  if (r.slurm) p.slurm = slurm_options(p);
  else p.pool.tty = r.tty;
  check_runs_dir(p.pool.runs_dir);
  if (p.plan && p.plan->runs.empty())
    user_error("{}: no runs to train: the filters skip all {} planned (`scalelab plan {}` says why)", r.target,
               p.plan->skipped.size(), r.target);
  if (p.plan && !r.slurm) check_runnable(*p.plan, p.pool);
  return p;
}

Outcome launch(const PreparedSweep& p, const LaunchHooks& hooks) {
  auto st = store::Store::open(p.request.db);
  auto reg = register_target(*st, p, hooks.note);
  hooks.registered(reg);
  auto event = [&](const std::string& line) {
    if (!p.request.quiet || line.find("FAILED") != std::string::npos || line.find("DIVERGED") != std::string::npos)
      hooks.event(printable(line));  // names may hold control characters from older configs
  };
  return p.slurm ? run_slurm(*st, reg.id, *p.slurm, event) : run_local(*st, reg.id, p.pool, event);
}

}  // namespace scalelab::sweep
