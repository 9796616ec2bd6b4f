// The run loop: schedule, metric rows, evaluation, checkpoints, progress and
// stopping around Engine::step. Everything that decides a row's numbers is a
// pure function of (spec, step, checkpointed state), which is what makes a
// resumed CPU run reproduce an uninterrupted one bit for bit.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <optional>

#include "common/error.h"
#include "trainer/checkpoint.h"
#include "trainer/cuda.h"
#include "trainer/device.h"
#include "trainer/divergence.h"
#include "trainer/engine.h"
#include "trainer/progress.h"
#include "trainer/readback.h"
#include "trainer/trainer.h"

namespace scalelab::trainer {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

void validate(const RunSpec& s, const TrainOptions& opt) {
  if (s.log_every < 1) user_error("log_every must be >= 1 (got {})", s.log_every);
  if (s.eval_every < 1) user_error("eval_every must be >= 1 (got {})", s.eval_every);
  if (s.checkpoint_every < 1) user_error("checkpoint_every must be >= 1 (got {})", s.checkpoint_every);
  if (opt.run_dir.empty()) user_error("run_dir must be set (checkpoints are written there)");
  (void)lr_at(s.optim, s.schedule, 0, 1);  // rejects an unknown schedule kind up front
}

void validate_keep_at(const std::vector<std::int64_t>& keep_at, std::int64_t total) {
  std::string bad;
  for (auto k : keep_at)
    if (k < 1 || k > total) bad += (bad.empty() ? "" : ", ") + std::to_string(k);
  if (!bad.empty()) user_error("keep_at: step(s) {} outside this run's steps [1, {}]", bad, total);
}

// A branch is the same computation as its independent run only if the trunk's
// learning rate matched its own before the fork: the shared warmup, then the peak.
// Past the peak (the cooldown has begun) the trunk's constant LR would be wrong.
void check_fork_step(const RunSpec& s, const std::string& path, std::int64_t fork, std::int64_t total) {
  if (fork > total)
    user_error("fork checkpoint '{}' is at step {}, past this run's last step {}", path, fork, total);
  for (std::int64_t k = warmup_steps(s.schedule, total); k < fork; ++k)
    if (lr_at(s.optim, s.schedule, k, total) != s.optim.lr)
      user_error("fork checkpoint '{}' is at step {}, but this run's learning rate leaves its peak "
                 "at step {}: fork at or before the cooldown's start",
                 path, fork, k);
}

// Where the run starts: its own checkpoint when resuming, else a trunk's kept
// checkpoint for a branch, else step 0. A fresh branch writes its own checkpoint
// at once, so that from then on it owns its state (a resume never needs the trunk).
Progressed starting_point(const RunSpec& s, const TrainOptions& opt, Engine& engine, std::int64_t total) {
  if (opt.resume) {
    if (auto p = load_checkpoint(opt.run_dir, engine, total)) return *p;
  }
  if (opt.fork_from.empty()) return {};
  const Progressed p = load_fork_checkpoint(opt.fork_from, engine);
  check_fork_step(s, opt.fork_from, p.step, total);
  save_checkpoint(opt.run_dir, engine, p, total);
  return p;
}

class Run {
 public:
  Run(const RunSpec& spec, const TrainOptions& opt, MetricSink& sink, Engine& engine,
      std::int64_t total, const Progressed& from, std::optional<double> unique_tokens)
      : spec_(spec), opt_(opt), sink_(sink), engine_(engine), total_(total), from_(from),
        unique_tokens_(unique_tokens),
        tps_(double(engine.tokens_per_step())),
        fpt_(flops_per_token(spec.model, spec.flop_convention, spec.param_convention)),
        progress_(opt.progress, engine.byte_level()) {}

  TrainResult go();

 private:
  bool async() const { return !engine_.device().is_cpu() || opt_.async_readback; }
  // Hands the training-loss rows that have arrived (all of them when `wait`) to the
  // sink. A row that is not finite, or a wait, asks the divergence watch (a sync):
  // its answer means the run diverged, and no row from that step on is logged.
  std::optional<std::string> settle(bool wait) {
    bool bad = false;
    for (auto& r : wait ? readback_.drain() : readback_.ready()) {
      if (bad) continue;
      if (!std::isfinite(r.loss) || !std::isfinite(r.grad_norm)) {
        bad = true;
        continue;
      }
      last_loss_ = last_train_loss_ = r.loss;
      sink_.log(r);
    }
    return wait || bad ? watch_.check() : std::nullopt;
  }
  std::optional<std::string> log_sync(std::int64_t step, double lr, const StepOutput& out, bool log_now,
                                      bool loss_now);
  bool stop_requested(std::int64_t step) const {
    return (opt_.stop && opt_.stop->load()) ||
           (opt_.stop_after_steps >= 0 && step >= opt_.stop_after_steps);
  }
  double wall() const { return from_.wall_s + seconds_since(start_); }
  double session_rate(std::int64_t step) const {
    const double dt = seconds_since(start_);
    return dt > 0 ? double(step - from_.step) * tps_ / dt : 0;
  }
  MetricRow row(std::int64_t step, const char* split, double loss, double lr, double gn) const {
    MetricRow r;
    r.step = step;
    r.tokens = double(step) * tps_;
    r.flops = r.tokens * fpt_;
    r.split = split;
    r.loss = loss;
    r.lr = lr;
    r.grad_norm = gn;
    r.wall_s = wall();
    return r;
  }
  bool kept(std::int64_t step) const {
    return std::find(opt_.keep_at.begin(), opt_.keep_at.end(), step) != opt_.keep_at.end();
  }
  void checkpoint(std::int64_t step) {
    if (step == last_checkpoint_) return;
    if (readback_.pending() > 0) throw std::logic_error("Run::checkpoint: training-loss rows still in flight");
    sink_.flush();  // rows the checkpoint covers must never be lost
    const Progressed p{step, double(step) * tps_, wall()};
    if (kept(step)) keep(p);
    save_checkpoint(opt_.run_dir, engine_, p, total_);
    last_checkpoint_ = step;
  }
  // Written before checkpoint.pt: a crash between the two resumes from an earlier
  // checkpoint and passes this step again. A resumed trunk keeps a fork file that
  // exists, since branches may already have started from it; a fresh run rewrites it.
  void keep(const Progressed& p) {
    const std::string path = fork_checkpoint_path(opt_.run_dir, p.step);
    std::error_code ec;
    if (opt_.resume && std::filesystem::exists(path, ec)) return;
    save_checkpoint_as(path, engine_, p, total_);
  }
  void report(std::int64_t step, bool final) {
    ProgressState s;
    s.step = step;
    s.total_steps = total_;
    s.tokens = double(step) * tps_;
    s.total_tokens = double(total_) * tps_;
    s.loss = last_loss_;
    s.tok_per_s = session_rate(step);
    s.eta_s = s.tok_per_s > 0 ? (s.total_tokens - s.tokens) / s.tok_per_s : std::numeric_limits<double>::quiet_NaN();
    progress_.report(s, final);
  }
  TrainResult finish(const char* status, std::int64_t step, std::string error = {}) {
    report(step, true);
    TrainResult r;
    r.status = status;
    r.error = std::move(error);
    r.steps = step;
    r.tokens = double(step) * tps_;
    r.final_train_loss = last_train_loss_;
    r.final_val_loss = last_val_loss_;
    r.final_val_loss_se = last_val_loss_se_;
    r.unique_tokens = unique_tokens_;
    r.tokens_per_s = session_rate(step);
    r.wall_s = wall();
    r.final_evals = final_evals_;
    return r;
  }

  const RunSpec& spec_;
  const TrainOptions& opt_;
  MetricSink& sink_;
  Engine& engine_;
  const std::int64_t total_;
  const Progressed from_;
  const std::optional<double> unique_tokens_;
  const double tps_, fpt_;
  ProgressReporter progress_;
  DivergenceWatch watch_{engine_.device().is_cpu()};
  Readback readback_{engine_.device()};
  Clock::time_point start_ = Clock::now(), last_heartbeat_ = Clock::now();
  std::int64_t last_checkpoint_ = -1;
  std::optional<double> last_loss_, last_train_loss_, last_val_loss_, last_val_loss_se_;
  std::vector<EvalRow> final_evals_;
};

// The host-synchronous bookkeeping of one step (CPU): a sync is free there, so the
// divergence watch is asked every step.
std::optional<std::string> Run::log_sync(std::int64_t step, double lr, const StepOutput& out, bool log_now,
                                         bool loss_now) {
  if (auto err = watch_.check()) return err;
  if (loss_now) last_loss_ = out.loss.item<double>();
  if (log_now) {
    last_train_loss_ = last_loss_;
    sink_.log(row(step, "train", *last_loss_, lr, out.grad_norm.item<double>()));
  }
  return std::nullopt;
}

TrainResult Run::go() {
  last_checkpoint_ = from_.step > 0 ? from_.step : -1;
  std::int64_t step = from_.step;
  while (step < total_) {
    if (stop_requested(step)) {
      if (auto err = settle(true)) {
        sink_.flush();
        return finish("diverged", step, *err);
      }
      checkpoint(step);
      return finish("stopped", step);
    }
    const double lr = lr_at(spec_.optim, spec_.schedule, step, total_);
    StepOutput out = engine_.step(step, lr);
    ++step;
    watch_.observe(out.loss, out.grad_norm, step);
    const bool last = step == total_;
    const bool log_now = step % spec_.log_every == 0 || last;
    const bool eval_now = step % spec_.eval_every == 0 || last;
    const int task_every = spec_.task_every > 0 ? spec_.task_every : spec_.eval_every;
    const bool task_now = engine_.has_task() && (step % task_every == 0 || last);
    const bool ckpt_now = step % spec_.checkpoint_every == 0 || last || kept(step);
    const bool progress_now = progress_.due() || last;
    const bool heartbeat_now = seconds_since(last_heartbeat_) >= 5;
    std::optional<std::string> err;
    if (async()) {
      // Rows travel back while the device runs ahead; evaluations and checkpoints,
      // which sync anyway, wait for every row first.
      if (log_now) readback_.push(row(step, "train", 0, lr, 0), out.loss, out.grad_norm);
      err = settle(eval_now || task_now || ckpt_now);
    } else {  // the CPU (async() is true on every other device)
      err = log_sync(step, lr, out, log_now, log_now || progress_now);
    }
    if (err) {
      sink_.flush();
      return finish("diverged", step, *err);
    }
    if (eval_now) {
      // The last step's pass is the final point every fit uses: many more tokens (docs/config.md).
      const ValLoss v = last ? engine_.eval_final_loss() : engine_.eval_loss();
      last_val_loss_ = v.mean;
      last_val_loss_se_ = v.se;
      sink_.log(row(step, "val", *last_val_loss_, lr, 0));
    }
    if (task_now) {
      auto rows = engine_.eval_task(step);
      for (auto& r : rows) sink_.log_eval(r);
      if (last) final_evals_ = std::move(rows);
    }
    if (heartbeat_now) {
      sink_.heartbeat(step, double(step) * tps_, session_rate(step));
      last_heartbeat_ = Clock::now();
    }
    if (ckpt_now) checkpoint(step);
    if (progress_now && !last) report(step, false);
  }
  return finish("done", step);
}

}  // namespace

TrainResult train(const RunSpec& spec, const TrainOptions& opt, MetricSink& sink) {
  validate(spec, opt);
  const torch::Device device = parse_device(opt.device);
  if (opt.gpu_memory_fraction != 0 && !(opt.gpu_memory_fraction > 0 && opt.gpu_memory_fraction <= 1))
    user_error("gpu_memory_fraction must be in (0, 1], got {}", opt.gpu_memory_fraction);
  if (device.is_cpu()) {
    configure_cpu_threads(opt.threads);
    keep_freed_memory();
  } else if (opt.gpu_memory_fraction > 0) {
    cuda::set_memory_fraction(device, opt.gpu_memory_fraction);
  }
  RunSpec s = spec;
  s.flop_convention = canonical_flop_convention(spec.flop_convention);
  (void)flops_per_token(s.model, s.flop_convention, s.param_convention);  // validates conventions
  std::shared_ptr<const Corpus> corpus;
  if (s.data.kind != "task") corpus = std::make_shared<const Corpus>(Corpus::open(s.data, s.model.seq_len, s.model.vocab));
  std::shared_ptr<const tasks::Task> task;
  if (!s.task.name.empty()) task = tasks::Task::make(s.task);
  else if (s.data.kind == "task") user_error("data.kind = \"task\" needs a [task] table naming the task");
  std::error_code ec;
  std::filesystem::create_directories(opt.run_dir, ec);
  if (ec) user_error("cannot create run directory '{}': {}", opt.run_dir, ec.message());
  const std::int64_t total = total_steps(s);
  validate_keep_at(opt.keep_at, total);
  Engine engine(s, corpus, device, true, task);
  if (opt.cuda_graphs) engine.set_cuda_graphs(true);
  const Progressed from = starting_point(s, opt, engine, total);
  // In the units tokens_done counts, so that epochs = tokens_done / unique_tokens: a
  // task item is seq_len input positions (docs/emergence.md).
  std::optional<double> unique;
  if (corpus) unique = double(corpus->train().count);
  else if (auto items = task->train_items()) unique = double(*items) * s.model.seq_len;
  return Run(s, opt, sink, engine, total, from, unique).go();
}

}  // namespace scalelab::trainer
