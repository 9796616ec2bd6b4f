#include "sweep/status_view.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <thread>

#include "common/table.h"
#include "sweep/gpu.h"
#include "sweep/slurm.h"

namespace scalelab::sweep {

using nlohmann::json;

namespace {

std::atomic<bool> g_watch_stop{false};
extern "C" void on_watch_stop(int) { g_watch_stop = true; }

json opt_json(const std::optional<double>& v) { return v ? json(*v) : json(); }

json job_json(const std::map<std::string, store::ClusterJob>& jobs, const std::string& run_id) {
  auto it = jobs.find(run_id);
  if (it == jobs.end()) return json();
  auto& j = it->second;
  return {{"job_id", j.job_id}, {"state", j.state}, {"settled", j.settled}, {"script", j.script}};
}

json run_json(const SweepView& v, const store::SweepRun& r) {
  auto& s = v.status;
  auto live = s.live_loss.find(r.id);
  return {{"id", r.id},
          {"name", r.name},
          {"shape", r.shape},
          {"status", sweep_state(r)},
          {"store_status", r.status},
          {"params_total", r.params_total},
          {"params_non_embedding", r.params_non_embedding},
          {"planned_tokens", r.planned_tokens},
          {"tokens_done", r.tokens_done},
          {"steps_done", r.steps_done},
          {"flops_per_token", r.flops_per_token},
          {"tokens_per_s", r.tokens_per_s},
          {"mfu", opt_json(r.mfu)},
          {"peak_tflops", opt_json(r.peak_tflops)},
          {"accelerator", r.accelerator.empty() ? json() : json(r.accelerator)},
          {"loss", live != s.live_loss.end() ? json(live->second) : json()},
          {"final_train_loss", opt_json(r.final_train_loss)},
          {"final_val_loss", opt_json(r.final_val_loss)},
          {"loss_bpb", live != s.live_loss.end() ? opt_json(store::loss_bpb(live->second, r.train_bytes_per_token)) : json()},
          {"final_train_bpb", opt_json(store::loss_bpb(r.final_train_loss, r.train_bytes_per_token))},
          {"final_val_bpb", opt_json(store::loss_bpb(r.final_val_loss, r.bytes_per_token))},
          {"tokenizer", r.tokenizer.empty() ? json() : json(r.tokenizer)},
          {"bytes_per_token", opt_json(r.bytes_per_token)},
          {"attempts", r.attempts},
          {"failures", r.failures},
          {"error", r.error.empty() ? json() : json(r.error)},
          {"log", r.log_path.empty() ? json() : json(r.log_path)},
          {"worker", r.lease ? json({{"owner", r.lease->owner}, {"pid", r.lease->worker_pid}}) : json()},
          {"slurm", job_json(v.jobs, r.id)}};
}

json sweep_json(const SweepView& v) {
  auto& s = v.status;
  json runs = json::array();
  for (auto& r : s.runs) runs.push_back(run_json(v, r));
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
          {"mfu_note", missing_peak_note(s.runs).empty() ? json() : json(missing_peak_note(s.runs))},
          {"runs", runs}};
}

}  // namespace

std::vector<SweepView> poll(store::Store& st, const std::vector<store::Sweep>& sweeps) {
  std::vector<SweepView> out;
  for (auto& sw : sweeps) {
    // Cluster tasks write result shards; status copies them in and settles finished jobs.
    if (!store::cluster_jobs(st, sw.id, true).empty() && slurm::available())
      slurm::sync(st, sw.id, [](const std::string&) {});
    SweepView v{sweep_status(st, sw), {}};
    for (auto& j : store::cluster_jobs(st, sw.id, false)) v.jobs[j.run_id] = j;
    out.push_back(std::move(v));
  }
  return out;
}

bool settled(const std::vector<SweepView>& views) {
  for (auto& v : views)
    if (!v.status.settled()) return false;
  return true;
}

void watch(store::Store& st, const std::vector<store::Sweep>& sweeps, double interval_s,
           const std::function<void(const std::vector<SweepView>&)>& show) {
  std::signal(SIGINT, on_watch_stop);
  std::signal(SIGTERM, on_watch_stop);
  for (;;) {
    auto views = poll(st, sweeps);
    show(views);
    if (settled(views)) return;
    for (double waited = 0; waited < interval_s && !g_watch_stop; waited += 0.1)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (g_watch_stop) return;
  }
}

std::vector<std::string> render_view(const SweepView& v, int max_rows) {
  std::vector<std::string> out;
  int live = 0;
  for (auto& r : v.status.runs) {
    auto it = v.jobs.find(r.id);
    if (it == v.jobs.end() || it->second.settled) continue;
    if (++live <= max_rows)
      out.push_back(fmt::format("  slurm job {:<12} {:<10} {} ({})", it->second.job_id, it->second.state, r.name,
                                r.id.substr(0, 12)));
  }
  if (live > max_rows) out.push_back(fmt::format("  ... {} more slurm job(s)", live - max_rows));
  if (live > 0) out.insert(out.begin(), fmt::format("slurm: {} job(s) pending or running", live));
  auto lines = render_status(v.status, max_rows);
  lines.insert(lines.end(), out.begin(), out.end());
  return lines;
}

json status_json(const std::vector<SweepView>& views) {
  json arr = json::array();
  for (auto& v : views) arr.push_back(sweep_json(v));
  return arr;
}

namespace {

std::string loss_cell(const std::optional<double>& v) { return v ? fmt::format("{:.4f}", *v) : std::string("-"); }

// Bits per byte, "-" where the run's bytes per token are unknown (task data, tokens without meta.json).
std::string bpb_cell(const std::optional<double>& nats, const std::optional<double>& bytes_per_token) {
  return loss_cell(store::loss_bpb(nats, bytes_per_token));
}

// The final pass's standard error over its held-out sequences (docs/config.md, eval.final_tokens).
std::string val_cell(const store::Run& r) {
  if (r.final_val_loss && r.final_val_loss_se) return fmt::format("{:.4f} ±{:.4f}", *r.final_val_loss, *r.final_val_loss_se);
  return loss_cell(r.final_val_loss);
}

}  // namespace

std::string render_runs(const std::vector<store::Run>& runs) {
  const bool ladder = std::any_of(runs.begin(), runs.end(), [](auto& r) { return !r.parent_id.empty(); });
  std::vector<std::string> head{"id", "name", "shape", ">N", ">N non-emb", ">tokens", ">epochs", "status", ">val loss",
                                ">val bpb", ">train loss", ">tok/s", ">MFU"};
  if (ladder) head.insert(head.end(), {"parent", ">fork step"});
  Table t(head);
  for (auto& r : runs) {
    std::vector<std::string> row{r.id.substr(0, 12), r.name, r.shape, si(r.params_total), si(r.params_non_embedding),
                                 fmt::format("{}/{}", si(r.tokens_done), si(r.planned_tokens)),
                                 r.epochs ? fmt::format("{:.3g}", *r.epochs) : "-", r.status, val_cell(r),
                                 bpb_cell(r.final_val_loss, r.bytes_per_token), loss_cell(r.final_train_loss), r.tokens_per_s > 0 ? si(r.tokens_per_s) : "-",
                                 mfu_text(r.mfu)};
    if (ladder) {
      row.push_back(r.parent_id.empty() ? "-" : r.parent_id.substr(0, 12));
      row.push_back(r.fork_step ? std::to_string(*r.fork_step) : "-");
    }
    t.add(row);
  }
  const auto note = missing_peak_note(runs);
  return t.render() + (note.empty() ? "" : note + "\n");
}

}  // namespace scalelab::sweep
