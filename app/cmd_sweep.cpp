// `scalelab plan | sweep | status | cancel | retry`: sweeps from the terminal.
#include <fmt/format.h>
#include <unistd.h>

#include "app/commands.h"
#include "common/error.h"
#include "sweep/control.h"
#include "sweep/orchestrate.h"
#include "sweep/plan_view.h"
#include "sweep/status_view.h"

namespace scalelab::app {

namespace {

void to_stderr(const std::string& line) { fmt::print(stderr, "{}\n", line); }

void print_lines(const std::vector<std::string>& lines) {
  for (auto& l : lines) fmt::print("{}\n", l);
}

// ------------------------------------------------------------------ plan

struct PlanArgs {
  sweep::PlanRequest req;
  bool json = false, no_calibrate = false;
};

void run_plan(PlanArgs& a) {
  a.req.calibrate = !a.no_calibrate;
  auto v = sweep::view_plan(a.req, to_stderr);
  if (!a.req.show.empty()) return fmt::print("{}", v.shown_toml);
  if (a.json) fmt::print("{}\n", sweep::plan_json(v).dump(2));
  else print_lines(sweep::render_plan(v));
  if (auto w = sweep::epoch_warning(v.plan); !w.empty()) to_stderr(w);
}

// ------------------------------------------------------------------ sweep

struct SweepArgs {
  sweep::SweepRequest req;
  sweep::ClusterRequest cluster;
  std::string backend = "local";
  bool no_wait = false;
};

void print_registered(const sweep::PreparedSweep& p, const sweep::Registered& r) {
  if (auto& sub = r.submission)
    fmt::print("sweep {} ({}): {} runs, {} new, {} finished already{}\n", r.name, r.id.substr(0, 12), sub->runs,
               sub->new_runs, sub->finished,
               p.plan->skipped.empty() ? "" : fmt::format(", {} skipped by filters", p.plan->skipped.size()));
  if (auto& o = p.slurm)
    fmt::print("slurm: {} thread(s){} per run; scripts and logs in {}/slurm/, worker logs in {}/<run id>/worker.log\n",
               o->threads, o->gpus_per_run > 0 ? fmt::format(", {} GPU(s)", o->gpus_per_run) : "", o->runs_dir,
               o->runs_dir);
  else
    fmt::print("{} job(s) x {} thread(s) on {}; worker logs in {}/<run id>/worker.log\n", p.pool.jobs,
               p.pool.threads_per_job, fmt::join(p.pool.devices, ","), p.pool.runs_dir);
  std::fflush(stdout);
}

void print_outcome(const SweepArgs& a, const sweep::PreparedSweep& p, const sweep::Outcome& o) {
  const auto& name = o.sweep.name;
  if (!o.waited)
    return fmt::print("submitted; `scalelab status {}` follows the jobs, `scalelab cancel {}` cancels them\n", name,
                      name);
  if (!p.pool.tty) print_lines(sweep::render_status(o.status));
  if (o.held_elsewhere > 0)
    fmt::print("{} run(s) are being trained by another scalelab sweep; `scalelab status {}` follows them\n",
               o.held_elsewhere, name);
  if (o.interrupted && p.slurm)
    fmt::print("detached: the jobs keep running; `scalelab status {}` follows them, `scalelab sweep {} --backend "
               "slurm` resumes watching\n", name, name);
  else if (o.interrupted)
    fmt::print("interrupted: run `scalelab sweep {}` again to continue where it stopped\n", a.req.target);
  else if (o.status.failed > 0)
    fmt::print("{} run(s) failed; see their logs above, then `scalelab retry {} --failed`\n", o.status.failed, name);
}

void run_sweep_cmd(SweepArgs& a) {
  a.cluster.wait = !a.no_wait;
  if (a.backend == "slurm") a.req.slurm = a.cluster;
  a.req.tty = !a.req.quiet && isatty(STDOUT_FILENO) == 1;
  auto p = sweep::prepare(a.req, [](const std::string& w) { to_stderr("warning: " + w); });
  sweep::LaunchHooks hooks;
  hooks.note = to_stderr;
  hooks.registered = [&](const sweep::Registered& r) { print_registered(p, r); };
  hooks.event = [](const std::string& line) {
    fmt::print("{}\n", line);
    std::fflush(stdout);
  };
  auto o = sweep::launch(p, hooks);
  print_outcome(a, p, o);
  if (o.exit_code != 0) throw ExitStatus{o.exit_code};
}

// ------------------------------------------------------------------ status

struct StatusArgs {
  std::string sweep, db;
  bool watch = false, json = false;
  double interval = 2;
};

// One refresh; `last_plain` keeps a pipe from hearing the same lines twice.
void print_status(const StatusArgs& a, const std::vector<sweep::SweepView>& views, std::string& last_plain) {
  if (a.json) return fmt::print("{}\n", a.watch ? sweep::status_json(views).dump() : sweep::status_json(views).dump(2));
  std::string text;
  if (a.watch && isatty(STDOUT_FILENO) != 1) {
    for (auto& v : views) text += sweep::status_line(v.status) + "\n";
    if (text != last_plain) fmt::print("{}", text);
    last_plain = text;
    return;
  }
  if (a.watch) text = "\x1b[H\x1b[2J";
  // Several sweeps at a glance: one line each.
  const bool brief = a.sweep.empty() && views.size() > 1 && !a.watch;
  for (auto& v : views)
    for (auto& l : brief ? std::vector<std::string>{sweep::status_line(v.status)} : sweep::render_view(v))
      text += l + "\n";
  fmt::print("{}", text);
}

void run_status(const StatusArgs& a) {
  auto st = store::Store::open_existing(a.db, fmt::format("; run `scalelab sweep CONFIG --db {}` first", a.db));
  auto sweeps = sweep::find_sweeps(*st, a.sweep);
  if (sweeps.empty()) return fmt::print("no sweeps in {}\n", a.db);
  std::string last_plain;
  auto show = [&](const std::vector<sweep::SweepView>& views) {
    print_status(a, views, last_plain);
    std::fflush(stdout);
  };
  if (a.watch) sweep::watch(*st, sweeps, a.interval, show);
  else show(sweep::poll(*st, sweeps));
}

// ------------------------------------------------------------------ cancel, retry

struct SweepRef {
  std::string sweep, db;
  bool failed = false;
};

void run_cancel(const SweepRef& a) {
  auto c = sweep::cancel_sweep(a.db, a.sweep);
  fmt::print("sweep {}: {} pending run(s) cancelled; {} running run(s) asked to stop at a checkpoint\n", c.sweep.name,
             c.cancelled, c.requested);
  if (c.slurm_jobs > 0) fmt::print("scancel: {} slurm job(s) cancelled; their runs are marked cancelled\n", c.slurm_jobs);
  if (c.cancelled + c.requested > 0) fmt::print("`scalelab retry {}` requeues them\n", c.sweep.name);
}

void run_retry(const SweepRef& a) {
  auto r = sweep::retry_sweep(a.db, a.sweep, a.failed);
  fmt::print("sweep {}: {} {} run(s) requeued{}\n", r.sweep.name, r.runs, a.failed ? "failed" : "failed or cancelled",
             r.runs > 0 ? fmt::format("; `scalelab sweep {}` trains them, from their checkpoints", r.sweep.name) : "");
}

}  // namespace

void add_sweep_commands(CLI::App& root) {
  {
    static PlanArgs a;
    auto* cmd = root.add_subcommand("plan", "Show the runs a sweep config stands for, with estimated times");
    cmd->add_option("config", a.req.config, "Sweep config (TOML); see docs/sweeps.md")->required();
    add_db_option(cmd, a.req.db)->description("Database holding the throughput calibration cache");
    cmd->add_option("--device", a.req.device, "Device to calibrate on (default: the config's first device)");
    cmd->add_option("--threads", a.req.threads, "CPU threads per run (default: as the sweep would use)")
        ->check(positive());
    cmd->add_flag("--json", a.json, "The plan as JSON");
    cmd->add_flag("--no-calibrate", a.no_calibrate, "Skip the throughput measurement (no time estimates)");
    cmd->add_option("--show", a.req.show, "Print one run's resolved config (canonical TOML); RUN is an id prefix or name");
    cmd->callback([] { run_plan(a); });
  }
  {
    static SweepArgs a;
    auto& r = a.req;
    auto& c = a.cluster;
    auto* cmd = root.add_subcommand("sweep", "Register a sweep and train its pending runs in parallel workers");
    cmd->add_option("config", r.target, "Sweep config (TOML), or the name or id of a registered sweep")->required();
    add_db_option(cmd, r.db);
    cmd->add_option("--jobs,-j", r.jobs, "Concurrent workers (default: cores / threads, or one per GPU)")
        ->check(positive());
    cmd->add_option("--threads-per-job", r.threads, "CPU threads per worker")->check(positive());
    cmd->add_option("--devices", r.devices, "cpu, or GPUs such as cuda:0,cuda:1");
    cmd->add_option("--runs-per-device", r.runs_per_device, "Concurrent runs per device")->check(positive());
    cmd->add_option("--retries", r.retries, "Extra attempts for crashed or killed workers (default 2)")
        ->check(non_negative());
    cmd->add_option("--runs-dir", r.runs_dir, "Checkpoints and worker logs (default: runs/ next to the database)");
    cmd->add_option("--peak-tflops", r.peak_tflops,
                    "Peak TFLOP/s each run's MFU is measured against (default: the GPU's; CPU: no MFU)")
        ->check(positive());
    cmd->add_option("--gpu-memory-fraction", r.gpu_memory_fraction,
                    "CUDA: each worker's share of its GPU's memory, in (0, 1] (default 1 / runs per device)")
        ->check(positive());
    cmd->add_flag("--cuda-graphs", r.cuda_graphs, "CUDA: replay each optimizer step as one CUDA graph (tiny models)");
    cmd->add_flag("--quiet", r.quiet, "Print only failures and the final summary");
    cmd->add_option("--backend", a.backend, "local (a pool of workers here) or slurm (job arrays; docs/cluster.md)")
        ->check(CLI::IsMember({"local", "slurm"}));
    cmd->add_option("--partition", c.partition, "slurm: the partition to submit to");
    cmd->add_option("--gpus-per-run", c.gpus_per_run, "slurm: GPUs per run (--gres=gpu:K; the run trains on cuda)")
        ->check(non_negative());
    cmd->add_option("--time", c.time, "slurm: time limit per job, e.g. 02:00:00; runs checkpoint before it");
    cmd->add_option("--max-parallel", c.max_parallel, "slurm: at most this many tasks of an array at once (%N)")
        ->check(positive());
    cmd->add_option("--sbatch-arg", c.sbatch_args, "slurm: an extra sbatch option, passed as is (repeatable)")
        ->allow_extra_args(false);
    cmd->add_option("--signal-before", c.signal_before_s,
                    "slurm: seconds before the time limit SLURM signals a run to checkpoint (default 300, at most "
                    "half the limit); SLURM may send it up to a minute early")
        ->check(positive());
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
    cmd->add_option("--interval", a.interval, "Seconds between refreshes with --watch")->check(positive());
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
