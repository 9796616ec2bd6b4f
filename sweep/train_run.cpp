#include "sweep/train_run.h"
#include "sweep/sweep_config.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <csignal>
#include <filesystem>
#include <regex>
#include <thread>
#include <vector>

#include "common/error.h"
#include "common/table.h"
#include "sweep/store_sink.h"

namespace scalelab::sweep {

namespace fs = std::filesystem;

namespace {

std::atomic<bool> g_stop{false};
extern "C" void on_stop_signal(int) { g_stop.store(true); }

void check_request(const TrainRequest& r) {
  if (r.config.empty() == r.run.empty()) user_error("train: give exactly one of CONFIG or --run ID");
  if (!r.shard.empty() && r.run.empty()) user_error("train: --shard needs --run ID");
  static const std::regex device_re("cpu|cuda(:[0-9]+)?");
  if (!std::regex_match(r.device, device_re))
    user_error("--device: expected cpu, cuda or cuda:N, got '{}'", r.device);
  if (r.peak_tflops && !(*r.peak_tflops > 0 && std::isfinite(*r.peak_tflops)))
    user_error("--peak-tflops: expected a positive number of TFLOP/s, got {}", *r.peak_tflops);
  if (!(r.gpu_memory_fraction >= 0 && r.gpu_memory_fraction <= 1))
    user_error("--gpu-memory-fraction: expected a number in (0, 1], got {}", r.gpu_memory_fraction);
  if (r.cuda_graphs && r.device == "cpu") user_error("--cuda-graphs needs a CUDA device; --device is cpu");
}

// With a memory cap, the run must fit in its share of the GPU (runs packed onto
// one device): refused here, before registration, rather than as an OOM later.
void check_gpu_share(const TrainRequest& r, const RunConfig& c, const std::vector<GpuInfo>& gpus) {
  if (r.device == "cpu" || r.gpu_memory_fraction <= 0) return;
  if (auto bytes = device_memory_bytes(r.device, gpus))
    check_memory_share(c.name, trainer::training_memory_bytes(c.spec), *bytes, r.gpu_memory_fraction, r.device);
}

// The store and config of a registered run; the run itself as `existing`.
void open_registered(const TrainRequest& r, PreparedRun& p, std::optional<store::Run>& existing) {
  // A cluster task writes only its run's result shard, never the main
  // database (store/cluster.h: SQLite WAL is unsafe across hosts on NFS).
  if (!r.shard.empty()) {
    if (!fs::exists(r.shard)) user_error("--shard {}: no such file; the orchestrator creates it", r.shard);
    p.store = store::Store::open(r.shard, store::Store::Journal::Delete);
  } else {
    p.store = store::Store::open(r.db);
  }
  auto& st = *p.store;
  existing = st.run(r.run);
  if (!existing) user_error("{}: no run '{}'; see `scalelab runs --db {}`", st.path(), r.run, st.path());
  p.config = parse_run_config(existing->config_toml, fmt::format("{}: run {}", st.path(), existing->id));
}

// Run ids are content hashes and checkpoints live in RUNS_DIR/<run id>, so two
// databases beside each other share them. Metric rows are flushed before every
// checkpoint, so a checkpoint this store holds no rows for was written for
// another store: resuming from it would finish the run here with no curve.
bool drop_foreign_checkpoint(const store::Store& st, const std::string& run_id, const fs::path& ckpt) {
  if (!fs::exists(ckpt) || st.last_metric(run_id, "train") || st.last_metric(run_id, "val")) return false;
  fs::remove(ckpt);
  return true;
}

// Whether an existing run may start or continue; false when it is settled already.
bool admit_existing(const TrainRequest& r, const store::Run& run, const fs::path& ckpt) {
  if (r.restart) {
    fs::remove(ckpt);
    return true;
  }
  if (run.status == "done" || run.status == "diverged") return false;
  if (fs::exists(ckpt) && !r.resume)
    user_error("run {} has a checkpoint at {}; pass --resume to continue it or --restart to start over", run.id,
               ckpt.string());
  return true;
}

store::Run summary_of(const store::Run& record, const trainer::TrainResult& res, const Peak& peak) {
  store::Run s = record;
  s.accelerator = peak.accelerator;
  s.peak_tflops = peak.tflops;
  s.mfu = mfu(res.tokens_per_s, record.flops_per_token, peak.tflops);
  s.status = res.status;
  s.error = res.error;
  s.steps_done = res.steps;
  s.tokens_done = res.tokens;
  s.final_train_loss = res.final_train_loss;
  s.final_val_loss = res.final_val_loss;
  s.final_val_loss_se = res.final_val_loss_se;
  s.unique_tokens = res.unique_tokens;
  // res.tokens counts from step 0, so a resumed run's epochs cover all its attempts.
  if (res.unique_tokens && *res.unique_tokens > 0) s.epochs = res.tokens / *res.unique_tokens;
  s.tokens_per_s = res.tokens_per_s;
  s.wall_s = res.wall_s;
  return s;
}

// A run registered before schema v7, or whose data was tokenized again since,
// records the tokenization it trains on now, so its losses convert to bits per byte.
void refresh_tokenization(store::Store& st, store::Run& record, const store::Run& fresh) {
  if (record.tokenizer == fresh.tokenizer && record.bytes_per_token == fresh.bytes_per_token &&
      record.train_bytes_per_token == fresh.train_bytes_per_token)
    return;
  record.tokenizer = fresh.tokenizer;
  record.bytes_per_token = fresh.bytes_per_token;
  record.train_bytes_per_token = fresh.train_bytes_per_token;
  st.set_tokenization(record);
}

nlohmann::json opt_json(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nullptr; }

}  // namespace

PreparedRun prepare_run(const TrainRequest& r) {
  return prepare_run(r, r.device == "cpu" ? std::vector<GpuInfo>{} : detect_gpus());
}

PreparedRun prepare_run(const TrainRequest& r, const std::vector<GpuInfo>& gpus) {
  check_request(r);
  PreparedRun p;
  std::optional<store::Run> existing;
  const fs::path runs_dir = r.runs_dir.empty() ? fs::path(r.db).parent_path() / "runs" : fs::path(r.runs_dir);
  if (!r.config.empty()) {
    p.config = load_run_config(r.config);
    // Everything that can be known bad is refused before the store is touched.
    trainer::check_data_fits(p.config.spec);
    (void)run_record(p.config);  // reads a tokens directory's meta.json: a malformed one is refused here
    try {
      trainer::check_memory(p.config.spec, r.device);
    } catch (const UserError& e) {
      user_error("{}: {}", r.config, e.what());
    }
    check_device_present(r.device);
    check_runs_dir(runs_dir.string());
    check_gpu_share(r, p.config, gpus);
    p.store = store::Store::open(r.db);
  } else {
    open_registered(r, p, existing);
    check_gpu_share(r, p.config, gpus);
  }
  p.peak = resolve_peak(r.device, r.peak_tflops, gpus);
  p.record = run_record(p.config);
  const store::Run fresh = p.record;
  if (!existing) existing = p.store->run(p.record.id);
  // A registered run keeps its stored id (and so its checkpoint directory) even
  // where a newer parser would hash its config differently (docs/config.md).
  if (existing) p.record = *existing;
  p.threads = r.threads > 0 ? r.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const fs::path ckpt = runs_dir / p.record.id / "checkpoint.pt";
  p.run_dir = (runs_dir / p.record.id).string();
  if (drop_foreign_checkpoint(*p.store, p.record.id, ckpt)) p.dropped_checkpoint = ckpt.string();
  if (existing) {
    p.settled = !admit_existing(r, *existing, ckpt);
    if (!p.settled) refresh_tokenization(*p.store, p.record, fresh);
  } else {
    p.store->add_run(p.record);
  }
  return p;
}

// The stop handlers run on a stack of their own. A signal frame pushed onto the
// interrupted stack in the middle of a oneDNN sgemm (trainer/gemm.cpp) corrupted
// the heap in about one stop in four (abort or SIGSEGV in the next free); on an
// alternate stack, or with SCALELAB_ONEDNN=0, it never did.
const std::atomic<bool>& stop_on_signals() {
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
  return g_stop;
}

int inherit_trunk_rows(store::Store& st, const store::Run& branch, const trainer::RunSpec& s) {
  const std::int64_t fork = *branch.fork_step;
  const int task_every = s.task_every > 0 ? s.task_every : s.eval_every;
  return st.copy_trunk_rows(branch.parent_id, branch.id, fork,
                            {fork % s.log_every == 0, fork % s.eval_every == 0,
                             !s.task.name.empty() && fork % task_every == 0});
}

namespace {

// Ladders (docs/ladders.md): a trunk keeps the checkpoints its branches fork from;
// a branch without a checkpoint of its own starts from its trunk's, and first takes
// the trunk's rows up to the fork that an independent run would have logged. A
// cluster task's shard holds no trunk rows: the orchestrator copied them into the
// main store when it submitted the branch (sweep/slurm_submit.cpp).
void ladder_options(const PreparedRun& p, bool in_shard, trainer::TrainOptions& opt) {
  auto& st = *p.store;
  for (auto& b : st.branches(p.record.id))
    if (b.fork_step) opt.keep_at.push_back(*b.fork_step);
  std::sort(opt.keep_at.begin(), opt.keep_at.end());
  opt.keep_at.erase(std::unique(opt.keep_at.begin(), opt.keep_at.end()), opt.keep_at.end());
  if (p.record.parent_id.empty() || !p.record.fork_step) return;
  const auto trunk_dir = fs::path(p.run_dir).parent_path() / p.record.parent_id;
  opt.fork_from = trainer::fork_checkpoint_path(trunk_dir.string(), *p.record.fork_step);
  if (in_shard || fs::exists(fs::path(p.run_dir) / "checkpoint.pt")) return;  // it resumes from its own
  inherit_trunk_rows(st, p.record, p.config.spec);
}

// The trainer plugin hands every exception back as a plain error; a store failure
// met inside it (in the sink) is raised again as what it was.
trainer::TrainResult train_through(const trainer::RunSpec& spec, const trainer::TrainOptions& opt, StoreSink& sink) {
  try {
    auto result = trainer::train(spec, opt, sink);
    sink.flush();
    return result;
  } catch (const std::exception&) {
    if (!sink.resource_failure().empty()) throw ResourceError(sink.resource_failure());
    throw;
  }
}

}  // namespace

TrainOutcome train_run(PreparedRun& p, const TrainRequest& r, const std::atomic<bool>* stop) {
  trainer::TrainOptions opt;
  opt.run_dir = p.run_dir;
  opt.resume = r.resume;
  opt.device = r.device;
  opt.threads = p.threads;
  opt.progress = r.progress;
  opt.stop_after_steps = r.stop_after;
  opt.stop = stop;
  opt.gpu_memory_fraction = r.gpu_memory_fraction;
  opt.cuda_graphs = r.cuda_graphs;
  ladder_options(p, !r.shard.empty(), opt);
  auto& st = *p.store;
  st.mark_running(p.record.id);
  st.set_accelerator(p.record.id, p.peak.accelerator, p.peak.tflops);
  StoreSink sink(st, p.record.id);
  TrainOutcome o;
  try {
    o.result = train_through(p.config.spec, opt, sink);
  } catch (const ResourceError& e) {
    // A full disk is the machine's, not the run's: left resumable from its last
    // checkpoint. The store may be on that disk too, so recording it may fail.
    try {
      sink.flush();
      st.set_status(p.record.id, "stopped", e.what());
    } catch (const std::exception&) {
    }
    throw;
  } catch (const std::exception& e) {
    // A failure after registration is recorded, so `runs` and `status` can say why.
    sink.flush();
    st.set_status(p.record.id, "failed", e.what());
    throw;
  }
  o.summary = summary_of(p.record, o.result, p.peak);
  st.finish_run(o.summary);
  o.exit_code = o.result.status == "diverged" ? kExitDiverged : 0;
  return o;
}

nlohmann::json end_event(const TrainOutcome& o) {
  const auto& r = o.summary;
  const auto& res = o.result;
  nlohmann::json j = {{"event", "end"},
                      {"run_id", r.id},
                      {"status", res.status},
                      {"steps", res.steps},
                      {"tokens", res.tokens},
                      {"tokens_per_s", res.tokens_per_s},
                      {"wall_s", res.wall_s},
                      {"final_train_loss", opt_json(res.final_train_loss)},
                      {"final_val_loss", opt_json(res.final_val_loss)},
                      {"final_val_loss_se", opt_json(r.final_val_loss_se)},
                      {"final_val_bpb", opt_json(store::loss_bpb(res.final_val_loss, r.bytes_per_token))},
                      {"tokenizer", r.tokenizer.empty() ? nlohmann::json() : nlohmann::json(r.tokenizer)},
                      {"bytes_per_token", opt_json(r.bytes_per_token)},
                      {"unique_tokens", opt_json(r.unique_tokens)},
                      {"epochs", opt_json(r.epochs)},
                      {"mfu", opt_json(r.mfu)},
                      {"peak_tflops", opt_json(r.peak_tflops)},
                      {"accelerator", r.accelerator},
                      {"error", res.error}};
  if (!res.final_evals.empty()) {
    nlohmann::json ev = nlohmann::json::object();
    for (auto& e : res.final_evals) ev[e.task][e.metric] = {{"value", e.value}, {"n", e.n}};
    j["evals"] = ev;
  }
  return j;
}

}  // namespace scalelab::sweep

namespace scalelab::sweep {

namespace {

std::string loss_text(const std::optional<double>& v) { return v ? fmt::format("{:.4f}", *v) : "-"; }

// One line per task, test set first, with the metrics people read first.
std::vector<std::string> task_lines(const std::vector<trainer::EvalRow>& evals) {
  static const std::set<std::string> shown{"exact_match", "token_acc", "token_logprob", "seq_logprob",
                                           "edit_distance", "segment_loss", "chance_loss"};
  std::map<std::string, std::vector<const trainer::EvalRow*>> by_task;
  for (auto& e : evals) by_task[e.task].push_back(&e);
  std::vector<std::string> out;
  for (auto& [task, rows] : by_task) {
    std::string line;
    std::int64_t n = 0;
    for (auto* e : rows) {
      if (!shown.count(e->metric)) continue;
      line += fmt::format("{}{} {:.4g}", line.empty() ? "" : ", ", e->metric, e->value);
      n = e->n;
    }
    out.push_back(fmt::format("  {} ({} items) at step {}: {}", task, n, rows.front()->step, line));
  }
  return out;
}

}  // namespace

std::vector<std::string> render_outcome(const TrainOutcome& o) {
  const auto& r = o.summary;
  const auto& res = o.result;
  // Bits per byte where the data's bytes per token are known (docs/schema.md).
  const auto val_bpb = store::loss_bpb(res.final_val_loss, r.bytes_per_token);
  const std::string bpb = val_bpb ? fmt::format(" ({:.3f} bits/byte)", *val_bpb) : "";
  std::vector<std::string> out{fmt::format(
      "run {} {}: {} after {} steps, {} tokens in {}, {} tok/s, MFU {}; val loss {}{}, train loss {}", r.id,
      r.shape, res.status, res.steps, si(res.tokens), duration(res.wall_s), si(res.tokens_per_s), mfu_text(r.mfu),
      loss_text(res.final_val_loss), bpb, loss_text(res.final_train_loss))};
  if (!res.error.empty()) out.push_back("  " + res.error);
  for (auto& l : task_lines(res.final_evals)) out.push_back(l);
  return out;
}

}  // namespace scalelab::sweep
