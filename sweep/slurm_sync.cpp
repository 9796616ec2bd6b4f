// The SLURM backend's bookkeeping: job states in, shards copied, finished jobs settled.
#include <fmt/format.h>

#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "common/error.h"
#include "store/cluster.h"
#include "sweep/calibrate.h"
#include "sweep/launch.h"
#include "sweep/slurm.h"
#include "sweep/slurm_cmd.h"

namespace scalelab::sweep::slurm {

namespace fs = std::filesystem;
using detail::first_line;
using detail::on_path;
using detail::run_cmd;

namespace {

std::string base_job(const std::string& job_id) { return job_id.substr(0, job_id.find('_')); }

// The final state and exit code of one job, from whatever still knows it.
std::optional<JobInfo> final_info(const std::string& job_id) {
  auto sc = run_cmd({"scontrol", "-o", "show", "job", job_id});
  if (sc.rc == 0)
    if (auto j = parse_scontrol_job(sc.out)) return j;
  if (on_path("sacct")) {
    auto sa = run_cmd({"sacct", "-n", "-P", "-X", "-j", job_id, "-o", "JobID,State,ExitCode"});
    if (sa.rc == 0)
      if (auto j = parse_sacct(sa.out, job_id)) return j;
  }
  return std::nullopt;
}

std::string worker_log(const store::ClusterJob& j) { return (fs::path(j.shard).parent_path() / "worker.log").string(); }

// The task's last error line: from the worker log, else from SLURM's own log of
// the task (a task that died before the trainer started wrote only there).

std::string task_error(const store::ClusterJob& j) {
  const auto log = worker_log(j);
  std::string line = fs::is_regular_file(log) ? last_error_line(log) : "";
  if (line.empty() || line.rfind("=== ", 0) == 0) {
    auto slurm_log = fs::path(j.script).parent_path() / "logs" / (j.job_id + ".out");
    if (fs::is_regular_file(slurm_log)) line = last_error_line(slurm_log.string()) + " (" + slurm_log.string() + ")";
  }
  return line.empty() ? "no output" : line;
}

// Every listed job's state as squeue knows it.
std::map<std::string, std::string> queue_states(const std::vector<store::ClusterJob>& jobs) {
  std::set<std::string> bases;
  for (auto& j : jobs) bases.insert(base_job(j.job_id));
  std::string ids;
  for (auto& b : bases) ids += (ids.empty() ? "" : ",") + b;
  auto q = run_cmd({"squeue", "-h", "-r", "-t", "all", "-o", "%i|%T", "-j", ids});
  // squeue fails outright when every id has left slurmctld's memory; each is then looked up on its own.
  return q.rc == 0 ? parse_squeue(q.out) : std::map<std::string, std::string>{};
}

void follow_active(store::Store& st, const store::ClusterJob& j, const std::string& state) {
  if (state == j.state) return;
  store::set_job_state(st, j.run_id, state);
  auto run = st.run(j.run_id);
  if (state == "RUNNING" && run && (run->status == "pending" || run->status == "stopped"))
    st.set_status(j.run_id, "running");
}

// A job in its final state: acted on once, under the local backend's failure classes.
void settle(store::Store& st, const store::ClusterJob& j, const std::string& state, const std::optional<JobInfo>& info,
            const std::optional<store::Run>& shard, const Out& out, SyncResult& res) {
  auto run = st.run(j.run_id);
  if (!run) return;
  const bool cancel = st.cancel_requested(j.run_id);
  const int code = info ? info->exit_code : -1;
  const std::string shard_status = shard ? shard->status : "";
  const std::int64_t steps = shard ? shard->steps_done : run->steps_done;
  const std::string what = fmt::format("job {} {}{}", j.job_id, state,
                                       code > 0 ? fmt::format(" (exit {})", code) : "");
  auto summary = [&](const std::string& status, const std::string& error) {
    store::Run s = shard ? *shard : *run;
    s.id = j.run_id;
    s.status = status;
    s.error = error;
    st.finish_run(s);
  };
  if (shard_status == "done") {
    summary("done", "");
    ++res.done;
    out(fmt::format("done   {}: val loss {} ({})", run->name,
                    shard->final_val_loss ? fmt::format("{:.4f}", *shard->final_val_loss) : "-", what));
  } else if (shard_status == "diverged" || code == kExitDiverged) {
    summary("diverged", shard ? shard->error : "diverged");
    ++res.diverged;
    out(fmt::format("DIVERGED {}: {} (not retried)", run->name, shard ? shard->error : what));
  } else if (cancel) {
    st.set_status(j.run_id, "cancelled", "cancelled by scalelab cancel");
    ++res.cancelled;
    out(fmt::format("cancel {} ({})", run->name, what));
  } else if (code == kExitUserError) {
    auto why = shard && !shard->error.empty() ? shard->error : task_error(j);
    st.set_status(j.run_id, "failed", "bad config: " + why);
    ++res.failed;
    out(fmt::format("FAILED {}: bad config: {} (not retried); log {}", run->name, why, worker_log(j)));
  } else if (shard_status == "stopped" && steps > j.steps_at_submit) {
    // The warning signal before a time limit or preemption: checkpointed, not a failure.
    summary("stopped", fmt::format("{}: checkpointed at step {}", what, steps));
    ++res.requeued;
    out(fmt::format("stop   {} at step {} ({}); resubmitted from its checkpoint", run->name, steps, what));
  } else {
    auto why = fmt::format("{} near step {}: {}", what, steps,
                           shard_status == "stopped" ? "stopped without progress" : task_error(j));
    if (st.record_failure(j.run_id, why, j.retries) == "pending") {
      ++res.retried;
      out(fmt::format("retry  {}: {}; resumes from its checkpoint", run->name, why));
    } else {
      ++res.failed;
      out(fmt::format("FAILED {}: {} (retries used up); log {}", run->name, why, worker_log(j)));
    }
  }
  store::settle_job(st, j.run_id, state);
}

// ------------------------------------------------------------------ unconfirmed submissions

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Seconds since an ISO 8601 UTC time ("2026-11-22T08:12:39Z"); huge when unparsable.
double age_s(const std::string& iso) {
  std::tm tm{};
  if (!strptime(iso.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm)) return 1e18;
  return std::difftime(std::time(nullptr), timegm(&tm));
}

// Whether the process that wrote a submission can no longer be inside sbatch for
// it: on this host its pid is dead (or is this process, which submits
// synchronously); from another host only the clock tells, as with leases.
bool submitter_gone(const store::ClusterJob& j, const std::vector<store::Lease>& leases) {
  auto it = std::find_if(leases.begin(), leases.end(),
                         [&](auto& l) { return l.run_id == j.run_id && l.owner == store::job_owner(j.job_id); });
  if (it == leases.end()) return true;
  if (it->host == host_name()) return it->pid == getpid() || !pid_alive(it->pid);
  return age_s(j.submitted_at) > 600;
}

struct Found {
  bool answered = false;  // squeue answered, so "nothing found" means something
  std::set<std::string> arrays;
  std::string why;
};

// Every place that may still know a job named `name`: squeue (finished jobs for
// MinJobAge), sacct when accounting exists, and the header each task writes into
// its run's worker log (which outlives both).
Found find_job(const std::string& name, const std::vector<store::ClusterJob>& rows) {
  Found f;
  auto q = run_cmd({"squeue", "-h", "-r", "-t", "all", "--name=" + name, "-o", "%i|%T"});
  f.answered = q.rc == 0;
  if (f.answered) f.arrays = array_ids(q.out);
  else f.why = first_line(q.err.empty() ? q.out : q.err);
  if (f.answered && f.arrays.empty() && on_path("sacct")) {
    // Without accounting sacct fails ("accounting storage is disabled"): no evidence either way.
    auto a = run_cmd({"sacct", "-n", "-P", "-X", "--name=" + name, "-S", "now-30days", "-o", "JobID,State"});
    if (a.rc == 0) f.arrays = array_ids(a.out);
  }
  for (auto& j : rows)
    if (auto id = job_in_log(slurp(worker_log(j)), name)) f.arrays.insert(base_job(*id));
  return f;
}

// The array exists: each run's job is ARRAY_TASK, its task its line in the run list.
int record_found(store::Store& st, const std::string& name, const std::string& array,
                 const std::vector<store::ClusterJob>& rows, const Out& out) {
  const std::string list = slurp(fs::path(rows.front().script).replace_extension(".runs"));
  int held = 0;
  for (auto& j : rows) {
    const int task = task_index(list, j.run_id);
    if (task < 0) {
      ++held;  // not in its own run list: nothing to match it to, so never guess
      continue;
    }
    store::confirm_submission(st, j.run_id, name, fmt::format("{}_{}", array, task));
  }
  out(fmt::format("found job array {} ({}, {} run(s)) submitted before the last orchestrator stopped: "
                  "recorded, not resubmitted", array, name, rows.size() - held));
  return held;
}

// Says why a submission stays held, once per process: the watch loop asks every poll.
void tell_held(const std::string& name, const std::string& why, const Out& out) {
  static std::set<std::string> told;
  if (told.insert(name + why).second) out(why);
}

int reconcile_one(store::Store& st, const std::string& name, const std::vector<store::ClusterJob>& rows,
                  const std::vector<store::Lease>& leases, const Out& out) {
  const auto f = find_job(name, rows);
  const bool gone = std::all_of(rows.begin(), rows.end(), [&](auto& j) { return submitter_gone(j, leases); });
  switch (reconcile_verdict(f.answered, f.arrays.size(), gone)) {
    case Verdict::record:
      return record_found(st, name, *f.arrays.begin(), rows, out);
    case Verdict::clear:
      for (auto& j : rows) {
        store::abandon_submission(st, j.run_id, name);
        // A cancel asked while the run was held found it leased; now nothing holds it.
        if (st.cancel_requested(j.run_id)) st.set_status(j.run_id, "cancelled", "cancelled by scalelab cancel");
      }
      out(fmt::format("no job named {} exists: its sbatch never submitted; its {} run(s) go out again", name,
                      rows.size()));
      return 0;
    case Verdict::hold:
      break;
  }
  if (!f.answered)
    tell_held(name, fmt::format("slurm: squeue does not answer ({}); {} run(s) whose submission {} is unconfirmed "
                                "stay held, never resubmitted blindly, until it does", f.why, rows.size(), name), out);
  else if (f.arrays.size() > 1)
    tell_held(name, fmt::format("slurm: several job arrays are named {}; its {} run(s) stay held: scancel the "
                                "extra one", name, rows.size()), out);
  return static_cast<int>(rows.size());
}

}  // namespace

int reconcile(store::Store& st, const std::string& sweep_id, const Out& out) {
  std::map<std::string, std::vector<store::ClusterJob>> by_name;
  for (auto& j : store::cluster_jobs(st, sweep_id, true))
    if (j.state == store::kSubmitting) by_name[j.job_id].push_back(j);
  if (by_name.empty()) return 0;
  const auto leases = st.leases(sweep_id);
  int held = 0;
  for (auto& [name, rows] : by_name) held += reconcile_one(st, name, rows, leases, out);
  return held;
}

SyncResult sync(store::Store& st, const std::string& sweep_id, const Out& out) {
  SyncResult res;
  res.active = reconcile(st, sweep_id, out);  // a held submission keeps the sweep unsettled
  auto jobs = store::cluster_jobs(st, sweep_id, true);
  std::erase_if(jobs, [](auto& j) { return j.state == store::kSubmitting; });
  if (jobs.empty()) return res;
  auto states = queue_states(jobs);
  for (auto& j : jobs) {
    std::string state;
    if (auto it = states.find(j.job_id); it != states.end()) state = it->second;
    std::optional<JobInfo> info;
    if (state.empty() || !is_active_state(state)) {
      info = final_info(j.job_id);
      state = info ? info->state : "VANISHED";
    }
    auto shard = store::ingest_shard(st, j.run_id, j.shard);
    if (is_active_state(state)) {
      ++res.active;
      follow_active(st, j, state);
    } else {
      ++res.settled;
      settle(st, j, state, info, shard, out, res);
    }
  }
  return res;
}

}  // namespace scalelab::sweep::slurm
