// The SLURM backend's submissions: claimed runs out as job arrays, then the watch loop and scancel.
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <chrono>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "common/error.h"
#include "store/cluster.h"
#include "sweep/calibrate.h"
#include "sweep/clock_time.h"
#include "sweep/launch.h"
#include "sweep/slurm.h"
#include "sweep/slurm_cmd.h"
#include "sweep/status.h"
#include "sweep/train_run.h"

namespace scalelab::sweep::slurm {

namespace fs = std::filesystem;
using detail::first_line;
using detail::run_cmd;

namespace {

std::string stamp() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%S", &tm);
  return buf;
}

// A directory name for the sweep: readable, and safe whatever its name holds.
std::string dir_name(const store::Sweep& sw) {
  std::string n;
  for (char c : sw.name) n += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.') ? c : '_';
  if (n.size() > 40) n.resize(40);
  return n + "-" + sw.id.substr(0, 8);
}

std::atomic<int> g_stops{0};
extern "C" void on_slurm_stop(int) { g_stops.fetch_add(1); }

// Claims every run to submit, under the store's write lock: two orchestrators never submit one run twice.
std::vector<store::Run> claim_runs(store::Store& st, const store::Sweep& sw, const std::string& owner) {
  std::vector<store::Run> runs;
  for (;;) {
    store::Lease l;
    l.owner = owner;
    l.host = host_name();
    l.pid = getpid();
    l.expires_at = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count() + 600;
    auto id = st.claim_run(sw.id, l);
    if (!id) break;
    runs.push_back(*st.run(*id));
  }
  return runs;
}

int max_array_size() {
  auto cfg = run_cmd({"scontrol", "show", "config"});
  if (cfg.rc == 0)
    if (auto m = parse_max_array_size(cfg.out)) return *m;
  return 1001;
}

std::vector<std::string> sbatch_command(const Options& o, const fs::path& dir, const fs::path& script, int tasks,
                                        const std::string& name) {
  std::vector<std::string> args = {"sbatch", "--parsable", "--requeue"};
  args.push_back(fmt::format("--array=0-{}{}", tasks - 1, o.max_parallel > 0 ? fmt::format("%{}", o.max_parallel) : ""));
  // A name unique to this sbatch call, so squeue/sacct find the array again by it (not its id).
  args.push_back("--job-name=" + name);
  args.push_back("--output=" + (dir / "logs" / "%A_%a.out").string());
  args.push_back("--chdir=" + o.runs_dir);
  args.push_back(fmt::format("--cpus-per-task={}", o.threads));
  if (!o.partition.empty()) args.push_back("--partition=" + o.partition);
  if (!o.time.empty()) args.push_back("--time=" + o.time);
  if (o.gpus_per_run > 0) args.push_back(fmt::format("--gres=gpu:{}", o.gpus_per_run));
  if (const long limit = o.time.empty() ? -1 : parse_time_limit(o.time); limit > 0) {
    // Default: 5 minutes' warning, at most half the limit; an explicit lead only has to fit in it.
    long lead = o.signal_before_s > 0 ? std::min(o.signal_before_s, limit - 1) : std::min(300L, limit / 2);
    args.push_back(fmt::format("--signal=B:USR1@{}", std::max(1L, lead)));
  }
  for (auto& a : o.sbatch_args) args.push_back(a);
  args.push_back(script.string());
  return args;
}

void write_script(const store::Sweep& sw, const Options& o, const fs::path& list, const fs::path& script,
                  const std::vector<std::string>& args) {
  std::string line;
  for (auto& a : args) {
    if (!line.empty()) line += ' ';
    line += shell_quote(a);
  }
  const std::string device = o.gpus_per_run > 0 ? "cuda" : "cpu";
  std::ofstream(script) << render_script({sw.name, sw.id, list.string(), o.runs_dir, o.exe, device, o.threads, line, o.worker_flags});
  fs::permissions(script, fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec,
                  fs::perm_options::add);
}

// A task sees only its shard, so a ladder run's shard also carries what it reads
// (docs/ladders.md): a trunk its branches' fork steps, a branch its trunk's row.
// A branch's inherited history goes into the main store here, as the local
// worker would write it: the trunk has passed the fork, or claim_run would not
// have handed the branch out.
void seed_ladder_shard(store::Store& st, const Options& o, const store::Run& run) {
  std::vector<store::Run> ladder;
  if (run.parent_id.empty()) {
    ladder = st.branches(run.id);
  } else if (auto trunk = st.run(run.parent_id)) {
    ladder.push_back(*trunk);
    if (!fs::exists(fs::path(o.runs_dir) / run.id / "checkpoint.pt"))
      inherit_trunk_rows(st, run, parse_run_config(run.config_toml, run.name, false).spec);
  }
  store::seed_shard(run, store::shard_path(o.runs_dir, run.id), ladder);
}

// Test-only crash injection (tests/e2e/slurm_double_submit.sh): with
// SCALELAB_TEST_KILL_AFTER_SBATCH=1 the orchestrator dies the instant sbatch
// returns, before it records the job id: the window a restart must reconcile.
void test_kill_after_sbatch() {
  if (const char* v = std::getenv("SCALELAB_TEST_KILL_AFTER_SBATCH"); v && std::string_view(v) == "1") raise(SIGKILL);
}

// The array's SUBMITTING rows: written before sbatch, so a crash after sbatch
// leaves the name to find the job by instead of a run that looks unsubmitted.
std::vector<store::ClusterJob> intent_rows(const Options& o, const std::vector<store::Run>& runs, int b, int e,
                                           const std::string& name, const fs::path& script) {
  std::vector<store::ClusterJob> rows;
  for (int i = b; i < e; ++i) {
    store::ClusterJob j;
    j.run_id = runs[i].id;
    j.job_id = name;
    j.shard = store::shard_path(o.runs_dir, runs[i].id);
    j.script = script.string();
    j.retries = o.retries;
    j.steps_at_submit = runs[i].steps_done;
    rows.push_back(std::move(j));
  }
  return rows;
}

// One job array for runs [b, e): its run list, script and shards, the intent, then sbatch and the job ids.
std::string submit_array(store::Store& st, const store::Sweep& sw, const Options& o, const std::vector<store::Run>& runs,
                         int b, int e, const fs::path& dir, const std::string& tag, const std::string& claim_owner) {
  const fs::path list = dir / (tag + ".runs"), script = dir / (tag + ".sh");
  {
    std::ofstream f(list);
    for (int i = b; i < e; ++i) f << runs[i].id << "\n";
  }
  const std::string name = job_name(sw.id, new_token());
  auto args = sbatch_command(o, dir, script, e - b, name);
  write_script(sw, o, list, script, args);
  for (int i = b; i < e; ++i) seed_ladder_shard(st, o, runs[i]);
  store::record_submitting(st, intent_rows(o, runs, b, e, name, script), claim_owner);
  auto c = run_cmd(args);
  test_kill_after_sbatch();
  std::string job = first_line(c.out);
  job = job.substr(0, job.find(';'));  // "ID;cluster" on federated setups
  if (c.rc != 0 || job.empty() || job.find_first_not_of("0123456789") != std::string::npos) {
    // sbatch can fail after slurmctld took the job (a timed-out reply): look for it by name first.
    reconcile(st, sw.id, [](const std::string&) {});
    user_error("sbatch failed (exit {}): {}", c.rc, first_line(c.err.empty() ? c.out : c.err));
  }
  for (int i = b; i < e; ++i) store::confirm_submission(st, runs[i].id, name, fmt::format("{}_{}", job, i - b));
  return job;
}

}  // namespace

SubmitResult submit(store::Store& st, const store::Sweep& sw, const Options& o, const Out& out) {
  SubmitResult res;
  const std::string claim_owner = lease_owner();
  auto runs = claim_runs(st, sw, claim_owner);
  if (runs.empty()) return res;
  try {
    const int max_array = max_array_size();
    // The random suffix keeps two submissions in one second from sharing (and
    // overwriting) run lists, which a restart reads to match tasks to runs.
    const fs::path dir = fs::path(o.runs_dir) / "slurm" / dir_name(sw) / (stamp() + "-" + new_token().substr(0, 6));
    fs::create_directories(dir / "logs");
    res.dir = dir.string();
    int chunk_no = 0;
    for (auto [b, e] : array_chunks(static_cast<int>(runs.size()), max_array)) {
      const std::string tag = fmt::format("part{}", chunk_no++);
      auto job = submit_array(st, sw, o, runs, b, e, dir, tag, claim_owner);
      res.array_jobs.push_back(job);
      res.runs += e - b;
      out(fmt::format("[{}] submitted job array {} ({} run(s)), script {}", clock_time(), job, e - b,
                      (dir / (tag + ".sh")).string()));
    }
  } catch (...) {
    // Handed-over leases no longer match the claim and stay.
    for (auto& r : runs) st.release_lease(r.id, claim_owner);
    throw;
  }
  return res;
}

// ------------------------------------------------------------------ run, cancel

WatchResult run(store::Store& st, const store::Sweep& sw, const Options& o, const Out& out) {
  WatchResult res;
  auto stamped = [&](const std::string& s) { out(fmt::format("[{}] {}", clock_time(), s)); };
  sync(st, sw.id, stamped);
  submit(st, sw, o, out);
  if (!o.wait) return res;
  g_stops = 0;
  struct sigaction sa {}, old_int {}, old_term {};
  sa.sa_handler = on_slurm_stop;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  auto last_line = std::chrono::steady_clock::now() - std::chrono::hours(1);
  std::string last_text;
  for (;;) {
    auto r = sync(st, sw.id, stamped);
    submit(st, sw, o, out);
    auto s = sweep_status(st, sw);
    auto text = status_line(s);
    if (text != last_text || std::chrono::steady_clock::now() - last_line > std::chrono::seconds(30)) {
      stamped(text);
      last_text = text;
      last_line = std::chrono::steady_clock::now();
    }
    if (r.active == 0 && store::cluster_jobs(st, sw.id, true).empty() && s.settled()) {
      res.failed = s.failed;
      break;
    }
    if (g_stops > 0) {
      res.interrupted = true;
      break;
    }
    for (double w = 0; w < o.poll_s && g_stops == 0; w += 0.1)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  return res;
}

int cancel(store::Store& st, const std::string& sweep_id) {
  reconcile(st, sweep_id, [](const std::string&) {});
  auto jobs = store::cluster_jobs(st, sweep_id, true);
  if (jobs.empty()) return 0;
  std::vector<std::string> args = {"scancel"};
  std::set<std::string> names;
  for (auto& j : jobs) {
    if (j.state == store::kSubmitting) names.insert(j.job_id);
    else args.push_back(j.job_id);
  }
  if (args.size() > 1)
    if (auto c = run_cmd(args); c.rc != 0) user_error("scancel failed (exit {}): {}", c.rc, first_line(c.err));
  // A submission still unconfirmed (the queue did not answer): cancel whatever carries its name.
  for (auto& n : names)
    if (auto c = run_cmd({"scancel", "--name=" + n}); c.rc != 0)
      user_error("scancel --name={} failed (exit {}): {}", n, c.rc, first_line(c.err));
  for (auto& j : jobs) {
    auto run = st.run(j.run_id);
    if (run && run->status != "done" && run->status != "diverged" && run->status != "failed")
      st.set_status(j.run_id, "cancelled", "cancelled by scalelab cancel");
    store::settle_job(st, j.run_id, "CANCELLED");
  }
  return static_cast<int>(jobs.size());
}

}  // namespace scalelab::sweep::slurm
