// `scalelab train CONFIG | --run ID`: one training run, recorded in the store.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <thread>
#include <vector>

#include "app/commands.h"
#include "app/store_sink.h"
#include "common/error.h"
#include "common/table.h"
#include "sweep/run_config.h"

namespace scalelab::app {

namespace fs = std::filesystem;

namespace {

std::atomic<bool> g_stop{false};
extern "C" void on_stop_signal(int) { g_stop.store(true); }

// The stop handlers run on a stack of their own. A signal frame pushed onto the
// interrupted stack in the middle of a oneDNN sgemm (trainer/gemm.cpp) corrupted
// the heap in about one stop in four (abort or SIGSEGV in the next free); on an
// alternate stack, or with SCALELAB_ONEDNN=0, it never did.
void install_stop_handlers() {
  static std::vector<char> alt(std::max<std::size_t>(SIGSTKSZ, 64 * 1024));
  stack_t ss{};
  ss.ss_sp = alt.data();
  ss.ss_size = alt.size();
  sigaltstack(&ss, nullptr);
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sa.sa_flags = SA_ONSTACK | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGUSR1}) sigaction(sig, &sa, nullptr);
}

struct TrainArgs {
  std::string config, run, db, runs_dir, shard, device = "cpu";
  int threads = 0;
  bool resume = false, restart = false, quiet = false, json = false;
  std::int64_t stop_after = -1;
};

std::string fmt_loss(const std::optional<double>& v) { return v ? fmt::format("{:.4f}", *v) : "-"; }

void print_summary(const TrainArgs& a, const store::Run& r, const trainer::TrainResult& res, bool bytes) {
  if (a.json) {
    nlohmann::json j = {{"event", "end"}, {"run_id", r.id}, {"status", res.status}, {"steps", res.steps},
                        {"tokens", res.tokens}, {"tokens_per_s", res.tokens_per_s}, {"wall_s", res.wall_s},
                        {"final_train_loss", res.final_train_loss ? nlohmann::json(*res.final_train_loss) : nullptr},
                        {"final_val_loss", res.final_val_loss ? nlohmann::json(*res.final_val_loss) : nullptr},
                        {"final_val_loss_se", r.final_val_loss_se ? nlohmann::json(*r.final_val_loss_se) : nullptr},
                        {"unique_tokens", r.unique_tokens ? nlohmann::json(*r.unique_tokens) : nullptr},
                        {"epochs", r.epochs ? nlohmann::json(*r.epochs) : nullptr},
                        {"error", res.error}};
    if (!res.final_evals.empty()) {
      nlohmann::json ev = nlohmann::json::object();
      for (auto& e : res.final_evals) ev[e.task][e.metric] = {{"value", e.value}, {"n", e.n}};
      j["evals"] = ev;
    }
    fmt::print("{}\n", j.dump());
    return;
  }
  if (a.quiet) return;
  std::string bpb = bytes && res.final_val_loss ? fmt::format(" ({:.3f} bits/byte)", *res.final_val_loss / std::log(2.0)) : "";
  fmt::print("run {} {}: {} after {} steps, {} tokens in {}, {} tok/s; val loss {}{}, train loss {}\n", r.id, r.shape,
             res.status, res.steps, si(res.tokens), duration(res.wall_s), si(res.tokens_per_s),
             fmt_loss(res.final_val_loss), bpb, fmt_loss(res.final_train_loss));
  if (!res.error.empty()) fmt::print("  {}\n", res.error);
  // The final task metrics, test set first; every metric is in the evals table.
  std::map<std::string, std::vector<const trainer::EvalRow*>> by_task;
  for (auto& e : res.final_evals) by_task[e.task].push_back(&e);
  for (auto& [task, rows] : by_task) {
    std::string line;
    std::int64_t n = 0;
    for (auto* e : rows) {
      static const std::set<std::string> shown{"exact_match", "token_acc", "token_logprob", "seq_logprob",
                                               "edit_distance", "segment_loss", "chance_loss"};
      if (!shown.count(e->metric)) continue;
      line += fmt::format("{}{} {:.4g}", line.empty() ? "" : ", ", e->metric, e->value);
      n = e->n;
    }
    fmt::print("  {} ({} items) at step {}: {}\n", task, n, rows.front()->step, line);
  }
}

// Decides whether an existing run may start, continue, or is already settled.
// Returns false when there is nothing to do.
bool admit_existing(const TrainArgs& a, const store::Run& r, const fs::path& ckpt) {
  if (a.restart) {
    fs::remove(ckpt);
    return true;
  }
  if (r.status == "done" || r.status == "diverged") {
    if (!a.json && !a.quiet)
      fmt::print("run {} is already {} (val loss {}); --restart trains it again\n", r.id, r.status,
                 fmt_loss(r.final_val_loss));
    return false;
  }
  if (fs::exists(ckpt) && !a.resume)
    user_error("run {} has a checkpoint at {}; pass --resume to continue it or --restart to start over", r.id,
               ckpt.string());
  return true;
}

// Run ids are content hashes and checkpoints live in RUNS_DIR/<run id>, so two
// databases beside each other share them. Metric rows are flushed before every
// checkpoint, so a checkpoint this store holds no rows for was written for
// another store: resuming from it would finish the run here with no curve.
void drop_foreign_checkpoint(const store::Store& st, const std::string& run_id, const fs::path& ckpt,
                             const TrainArgs& a) {
  if (!fs::exists(ckpt) || st.last_metric(run_id, "train") || st.last_metric(run_id, "val")) return;
  if (!a.json && !a.quiet)
    fmt::print(stderr, "note: {} has no rows for run {}; its checkpoint {} belongs to another database, "
               "so the run starts from step 0\n", st.path(), run_id, ckpt.string());
  fs::remove(ckpt);
}

void run_train(TrainArgs& a) {
  if (a.config.empty() == a.run.empty()) user_error("train: give exactly one of CONFIG or --run ID");
  if (!a.shard.empty() && a.run.empty()) user_error("train: --shard needs --run ID");
  static const std::regex device_re("cpu|cuda(:[0-9]+)?");
  if (!std::regex_match(a.device, device_re))
    user_error("--device: expected cpu, cuda or cuda:N, got '{}'", a.device);
  // Validate everything before the store is touched: bad input writes no row.
  sweep::RunConfig rc;
  std::optional<store::Run> existing;
  std::unique_ptr<store::Store> st;
  if (!a.config.empty()) {
    rc = sweep::load_run_config(a.config);
    st = store::Store::open(a.db);
  } else {
    // A cluster task writes only its run's result shard, never the main
    // database (store/cluster.h: SQLite WAL is unsafe across hosts on NFS).
    if (!a.shard.empty()) {
      if (!std::filesystem::exists(a.shard)) user_error("--shard {}: no such file; the orchestrator creates it", a.shard);
      st = store::Store::open(a.shard, store::Store::Journal::Delete);
    } else {
      st = store::Store::open(a.db);
    }
    existing = st->run(a.run);
    if (!existing) user_error("{}: no run '{}'; see `scalelab runs --db {}`", st->path(), a.run, st->path());
    rc = sweep::parse_run_config(existing->config_toml, fmt::format("{}: run {}", st->path(), existing->id));
  }
  auto record = sweep::run_record(rc);
  if (!existing) existing = st->run(record.id);
  if (a.threads <= 0) a.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  fs::path runs_dir = a.runs_dir.empty() ? fs::path(a.db).parent_path() / "runs" : fs::path(a.runs_dir);
  fs::path run_dir = runs_dir / record.id;
  drop_foreign_checkpoint(*st, record.id, run_dir / "checkpoint.pt", a);
  if (existing) {
    if (!admit_existing(a, *existing, run_dir / "checkpoint.pt")) return;
    record = *existing;
  } else {
    st->add_run(record);
  }
  trainer::TrainOptions opt;
  opt.run_dir = run_dir.string();
  opt.resume = a.resume;
  opt.device = a.device;
  opt.threads = a.threads;
  opt.progress = a.json ? trainer::Progress::Json : a.quiet ? trainer::Progress::Quiet : trainer::Progress::Line;
  opt.stop_after_steps = a.stop_after;
  opt.stop = &g_stop;
  install_stop_handlers();

  if (!a.json && !a.quiet)
    fmt::print(stderr, "run {} {}: N={} ({} non-embedding), {} tokens, {:.3g} FLOPs/token ({}), device {} x{} threads\n",
               record.id, record.shape, si(record.params_total), si(record.params_non_embedding),
               si(record.planned_tokens), record.flops_per_token, record.flop_convention, a.device, a.threads);
  st->mark_running(record.id);
  StoreSink sink(*st, record.id);
  trainer::TrainResult res;
  try {
    res = trainer::train(rc.spec, opt, sink);
    sink.flush();
  } catch (const std::exception& e) {
    // A failure after registration is recorded, so `runs` and `status` can say why.
    sink.flush();
    st->set_status(record.id, "failed", e.what());
    throw;
  }
  store::Run summary = record;
  summary.status = res.status;
  summary.error = res.error;
  summary.steps_done = res.steps;
  summary.tokens_done = res.tokens;
  summary.final_train_loss = res.final_train_loss;
  summary.final_val_loss = res.final_val_loss;
  summary.final_val_loss_se = res.final_val_loss_se;
  summary.unique_tokens = res.unique_tokens;
  // res.tokens counts from step 0, so a resumed run's epochs cover all its attempts.
  if (res.unique_tokens && *res.unique_tokens > 0) summary.epochs = res.tokens / *res.unique_tokens;
  summary.tokens_per_s = res.tokens_per_s;
  summary.wall_s = res.wall_s;
  st->finish_run(summary);
  print_summary(a, summary, res, rc.spec.data.kind == "text");
  if (res.status == "diverged") throw ExitStatus{kExitDiverged};
}

}  // namespace

void add_train_command(CLI::App& root) {
  static TrainArgs a;
  auto* cmd = root.add_subcommand("train", "Train one model from a run config (or a registered run with --run)");
  cmd->add_option("config", a.config, "Run config (TOML); see docs/config.md");
  cmd->add_option("--run", a.run, "Train a run already in the store, by id or unique prefix");
  add_db_option(cmd, a.db);
  cmd->add_option("--runs-dir", a.runs_dir, "Where checkpoints go (default: runs/ next to the database)");
  cmd->add_option("--shard", a.shard, "With --run: read the run from, and write its results to, this result shard "
                                      "instead of the database (cluster tasks; docs/cluster.md)");
  cmd->add_flag("--resume", a.resume, "Continue from the run's last checkpoint");
  cmd->add_flag("--restart", a.restart, "Discard the run's checkpoint and train it from step 0");
  cmd->add_option("--device", a.device, "cpu, cuda or cuda:N");
  cmd->add_option("--threads", a.threads, "CPU threads (default: all cores)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--stop-after", a.stop_after, "Checkpoint and stop once this many steps are done")
      ->check(CLI::PositiveNumber);
  auto* q = cmd->add_flag("--quiet", a.quiet, "No progress output");
  cmd->add_flag("--json", a.json, "JSON lines on stdout instead of progress text")->excludes(q);
  cmd->callback([] { run_train(a); });
}

}  // namespace scalelab::app
