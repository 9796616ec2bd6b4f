// `scalelab train CONFIG | --run ID`: one training run, recorded in the store.
#include <fmt/format.h>

#include "app/commands.h"
#include "common/error.h"
#include "common/table.h"
#include "sweep/train_run.h"

namespace scalelab::app {

namespace {

struct TrainArgs {
  sweep::TrainRequest req;
  bool quiet = false, json = false;
  double peak_tflops = 0;  // 0: not given
};

std::string fmt_loss(const std::optional<double>& v) { return v ? fmt::format("{:.4f}", *v) : "-"; }

void run_train(TrainArgs& a) {
  const bool talk = !a.json && !a.quiet;
  if (a.peak_tflops > 0) a.req.peak_tflops = a.peak_tflops;
  a.req.progress = a.json ? trainer::Progress::Json : a.quiet ? trainer::Progress::Quiet : trainer::Progress::Line;
  auto p = sweep::prepare_run(a.req);
  const auto& rec = p.record;
  if (talk && !p.dropped_checkpoint.empty())
    fmt::print(stderr, "note: {} has no rows for run {}; its checkpoint {} belongs to another database, "
               "so the run starts from step 0\n", p.store->path(), rec.id, p.dropped_checkpoint);
  if (p.settled) {
    if (talk) fmt::print("run {} is already {} (val loss {}); --restart trains it again\n", rec.id, rec.status,
                         fmt_loss(rec.final_val_loss));
    return;
  }
  const auto& stop = sweep::stop_on_signals();
  if (talk)
    fmt::print(stderr, "run {} {}: N={} ({} non-embedding), {} tokens, {:.3g} FLOPs/token ({}), device {} x{} threads\n",
               rec.id, rec.shape, si(rec.params_total), si(rec.params_non_embedding), si(rec.planned_tokens),
               rec.flops_per_token, rec.flop_convention, a.req.device, p.threads);
  if (talk && !p.peak.why.empty()) fmt::print(stderr, "note: no MFU for this run: {}\n", p.peak.why);
  auto o = sweep::train_run(p, a.req, &stop);
  if (a.json) fmt::print("{}\n", sweep::end_event(o).dump());
  else if (!a.quiet)
    for (auto& l : sweep::render_outcome(o)) fmt::print("{}\n", l);
  if (o.exit_code != 0) throw ExitStatus{o.exit_code};
}

}  // namespace

void add_train_command(CLI::App& root) {
  static TrainArgs a;
  auto& r = a.req;
  auto* cmd = root.add_subcommand("train", "Train one model from a run config (or a registered run with --run)");
  cmd->add_option("config", r.config, "Run config (TOML); see docs/config.md");
  cmd->add_option("--run", r.run, "Train a run already in the store, by id or unique prefix");
  add_db_option(cmd, r.db);
  cmd->add_option("--runs-dir", r.runs_dir, "Where checkpoints go (default: runs/ next to the database)");
  cmd->add_option("--shard", r.shard, "With --run: read the run from, and write its results to, this result shard "
                                      "instead of the database (cluster tasks; docs/cluster.md)");
  cmd->add_flag("--resume", r.resume, "Continue from the run's last checkpoint");
  cmd->add_flag("--restart", r.restart, "Discard the run's checkpoint and train it from step 0");
  cmd->add_option("--device", r.device, "cpu, cuda or cuda:N");
  cmd->add_option("--threads", r.threads, "CPU threads (default: all cores)")->check(non_negative());
  cmd->add_option("--stop-after", r.stop_after, "Checkpoint and stop once this many steps are done")
      ->check(positive());
  cmd->add_option("--peak-tflops", a.peak_tflops,
                  "Peak TFLOP/s the MFU is measured against (default: the GPU's dense bf16 peak; CPU: no MFU)")
      ->check(positive());
  cmd->add_option("--gpu-memory-fraction", r.gpu_memory_fraction,
                  "CUDA: the share of the GPU's memory this run may allocate, in (0, 1]")
      ->check(positive());
  cmd->add_flag("--cuda-graphs", r.cuda_graphs, "CUDA: replay each optimizer step as one CUDA graph (tiny models)");
  auto* q = cmd->add_flag("--quiet", a.quiet, "No progress output");
  cmd->add_flag("--json", a.json, "JSON lines on stdout instead of progress text")->excludes(q);
  cmd->callback([] { run_train(a); });
}

}  // namespace scalelab::app
