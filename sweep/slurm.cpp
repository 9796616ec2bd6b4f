#include "sweep/slurm.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "common/error.h"
#include "store/cluster.h"
#include "sweep/calibrate.h"
#include "sweep/clock_time.h"
#include "sweep/launch.h"
#include "sweep/status.h"

namespace scalelab::sweep::slurm {

namespace fs = std::filesystem;

// ------------------------------------------------------------------ pure helpers

std::string shell_quote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

std::optional<int> parse_max_array_size(const std::string& config) {
  static const std::regex re(R"(^\s*MaxArraySize\s*=\s*([0-9]+))", std::regex::multiline);
  std::smatch m;
  if (!std::regex_search(config, m, re)) return std::nullopt;
  return std::stoi(m[1]);
}

std::vector<std::pair<int, int>> array_chunks(int n, int max_array_size) {
  std::vector<std::pair<int, int>> out;
  const int size = std::max(1, max_array_size);
  for (int b = 0; b < n; b += size) out.emplace_back(b, std::min(n, b + size));
  return out;
}

bool is_active_state(std::string_view state) {
  static const std::set<std::string_view> final_states = {
      "COMPLETED", "FAILED",   "CANCELLED", "TIMEOUT",      "NODE_FAIL", "OUT_OF_MEMORY",
      "PREEMPTED", "BOOT_FAIL", "DEADLINE", "SPECIAL_EXIT", "REVOKED",   "VANISHED"};
  // sacct prints "CANCELLED by 0".
  auto word = state.substr(0, state.find(' '));
  return !final_states.count(word);
}

std::map<std::string, std::string> parse_squeue(const std::string& out) {
  std::map<std::string, std::string> m;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    auto bar = line.find('|');
    if (bar == std::string::npos) continue;
    auto id = line.substr(0, bar), state = line.substr(bar + 1);
    id.erase(0, id.find_first_not_of(" \t"));
    while (!state.empty() && (state.back() == ' ' || state.back() == '\r')) state.pop_back();
    if (!id.empty() && !state.empty()) m[id] = state;
  }
  return m;
}

namespace {

JobInfo exit_from(const std::string& state, const std::string& code) {
  JobInfo j;
  j.state = state;
  auto colon = code.find(':');
  try {
    j.exit_code = std::stoi(code.substr(0, colon));
    if (colon != std::string::npos) j.signal = std::stoi(code.substr(colon + 1));
  } catch (...) {
    j.exit_code = -1;
  }
  return j;
}

}  // namespace

std::optional<JobInfo> parse_scontrol_job(const std::string& out) {
  static const std::regex state_re(R"(\bJobState=([A-Z_]+))"), code_re(R"(\bExitCode=([0-9]+:[0-9]+))");
  std::smatch s, c;
  if (!std::regex_search(out, s, state_re)) return std::nullopt;
  return exit_from(s[1], std::regex_search(out, c, code_re) ? std::string(c[1]) : "");
}

std::optional<JobInfo> parse_sacct(const std::string& out, const std::string& job_id) {
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> f;
    std::stringstream ls(line);
    for (std::string x; std::getline(ls, x, '|');) f.push_back(x);
    if (f.size() >= 3 && f[0] == job_id) return exit_from(f[1].substr(0, f[1].find(' ')), f[2]);
  }
  return std::nullopt;
}

long parse_time_limit(const std::string& t) {
  static const std::regex re(R"(^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$)");
  std::smatch m;
  if (!std::regex_match(t, m, re)) return -1;
  long days = m[1].matched ? std::stol(m[1]) : 0;
  long a = std::stol(m[2]);
  if (!m[3].matched) return days > 0 ? days * 86400 + a * 3600 : a * 60;  // "D-HH" or minutes
  long b = std::stol(m[3]);
  if (!m[4].matched) return days > 0 ? days * 86400 + a * 3600 + b * 60 : a * 60 + b;  // "D-HH:MM" or "MM:SS"
  return days * 86400 + a * 3600 + b * 60 + std::stol(m[4]);
}

std::string render_script(const ScriptSpec& s) {
  // Every value the script did not compute itself is one single-quoted word.
  return fmt::format(
      "#!/bin/bash\n"
      "# Written by scalelab. Array task i trains the run on line i+1 of the run list;\n"
      "# its output goes to RUNS_DIR/<run id>/worker.log, its results to RUNS_DIR/<run id>/result.db.\n"
      "# Submitted with:\n"
      "#   {submit}\n"
      "set -uo pipefail\n"
      "# A warning signal that comes before the trainer's handler is ready is ignored (exec keeps\n"
      "# ignored signals ignored) instead of killing the task; the time limit's SIGTERM still stops it.\n"
      "trap '' USR1\n"
      "sweep={name}\n"
      "sweep_id={id}\n"
      "list={list}\n"
      "runs_dir={runs}\n"
      "run=$(sed -n \"$((SLURM_ARRAY_TASK_ID + 1))p\" \"$list\")\n"
      "if [ -z \"$run\" ]; then\n"
      "  echo \"scalelab: array task $SLURM_ARRAY_TASK_ID has no line in $list\" >&2\n"
      "  exit 2\n"
      "fi\n"
      "mkdir -p \"$runs_dir/$run\"\n"
      "exec >>\"$runs_dir/$run/worker.log\" 2>&1 || {{ echo \"scalelab: cannot write $runs_dir/$run/worker.log\" >&2; exit 1; }}\n"
      "echo \"=== $(date -u +%FT%TZ) sweep $sweep ($sweep_id) | slurm job ${{SLURM_ARRAY_JOB_ID}}_${{SLURM_ARRAY_TASK_ID}} "
      "on $(hostname) | run $run\"\n"
      "export OMP_NUM_THREADS={threads}\n"
      "# exec: the trainer is the batch shell, so SLURM's warning signal (--signal=B:USR1@N)\n"
      "# reaches it, and it checkpoints and exits before the time limit.\n"
      "exec {exe} train --run \"$run\" --shard \"$runs_dir/$run/result.db\" --runs-dir \"$runs_dir\" \\\n"
      "  --resume --quiet --device {device} --threads {threads}\n",
      fmt::arg("submit", [&] {
        std::string l = s.submit_line;
        std::replace(l.begin(), l.end(), '\n', ' ');
        return l;
      }()),
      fmt::arg("name", shell_quote(s.sweep_name)), fmt::arg("id", shell_quote(s.sweep_id)),
      fmt::arg("list", shell_quote(s.list_path)), fmt::arg("runs", shell_quote(s.runs_dir)),
      fmt::arg("threads", shell_quote(std::to_string(s.threads))), fmt::arg("exe", shell_quote(s.exe)),
      fmt::arg("device", shell_quote(s.device)));
}

// ------------------------------------------------------------------ commands

namespace {

struct Cmd {
  int rc = -1;
  std::string out, err;
};

// Runs argv without a shell (no quoting to get wrong), capturing stdout and stderr.
Cmd run_cmd(const std::vector<std::string>& args) {
  Cmd c;
  char out_tmpl[] = "/tmp/scalelab-slurm-XXXXXX";
  char err_tmpl[] = "/tmp/scalelab-slurm-XXXXXX";
  int out_fd = mkstemp(out_tmpl), err_fd = mkstemp(err_tmpl);
  if (out_fd < 0 || err_fd < 0) throw std::runtime_error(fmt::format("mkstemp: {}", std::strerror(errno)));
  unlink(out_tmpl);
  unlink(err_tmpl);
  std::vector<std::string> store = args;
  std::vector<char*> argv;
  for (auto& a : store) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, 0);
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  if (pid < 0) throw std::runtime_error(fmt::format("fork: {}", std::strerror(errno)));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  c.rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  auto slurp = [](int fd) {
    std::string s;
    lseek(fd, 0, SEEK_SET);
    char buf[4096];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) s.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
    return s;
  };
  c.out = slurp(out_fd);
  c.err = slurp(err_fd);
  return c;
}

std::string first_line(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  auto nl = s.rfind('\n');
  return nl == std::string::npos ? s : s.substr(nl + 1);
}

bool on_path(const std::string& exe) {
  const char* path = std::getenv("PATH");
  if (!path) return false;
  std::stringstream ss(path);
  for (std::string dir; std::getline(ss, dir, ':');)
    if (!dir.empty() && access((fs::path(dir) / exe).c_str(), X_OK) == 0) return true;
  return false;
}

std::string base_job(const std::string& job_id) { return job_id.substr(0, job_id.find('_')); }

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

// The task's last error line: from the worker log, else from SLURM's own log of
// the task (a task that died before the trainer started wrote only there).
std::string worker_log(const store::ClusterJob& j) { return (fs::path(j.shard).parent_path() / "worker.log").string(); }

std::string task_error(const store::ClusterJob& j) {
  const auto log = worker_log(j);
  std::string line = fs::is_regular_file(log) ? last_error_line(log) : "";
  if (line.empty() || line.rfind("=== ", 0) == 0) {
    auto slurm_log = fs::path(j.script).parent_path() / "logs" / (j.job_id + ".out");
    if (fs::is_regular_file(slurm_log)) line = last_error_line(slurm_log.string()) + " (" + slurm_log.string() + ")";
  }
  return line.empty() ? "no output" : line;
}

std::atomic<int> g_stops{0};
extern "C" void on_slurm_stop(int) { g_stops.fetch_add(1); }

}  // namespace

bool available() { return on_path("sbatch"); }

// ------------------------------------------------------------------ sync

SyncResult sync(store::Store& st, const std::string& sweep_id, const Out& out) {
  SyncResult res;
  auto jobs = store::cluster_jobs(st, sweep_id, true);
  if (jobs.empty()) return res;
  std::set<std::string> bases;
  for (auto& j : jobs) bases.insert(base_job(j.job_id));
  std::string ids;
  for (auto& b : bases) ids += (ids.empty() ? "" : ",") + b;
  auto q = run_cmd({"squeue", "-h", "-r", "-t", "all", "-o", "%i|%T", "-j", ids});
  // squeue fails outright when every id has left slurmctld's memory; each is then looked up below.
  auto states = q.rc == 0 ? parse_squeue(q.out) : std::map<std::string, std::string>{};
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
      if (state != j.state) {
        store::set_job_state(st, j.run_id, state);
        auto run = st.run(j.run_id);
        if (state == "RUNNING" && run && (run->status == "pending" || run->status == "stopped"))
          st.set_status(j.run_id, "running");
      }
      continue;
    }
    // Final: act on it once, under the local backend's failure classes.
    ++res.settled;
    auto run = st.run(j.run_id);
    if (!run) continue;
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
      auto status = st.record_failure(j.run_id, why, j.retries);
      if (status == "pending") {
        ++res.retried;
        out(fmt::format("retry  {}: {}; resumes from its checkpoint", run->name, why));
      } else {
        ++res.failed;
        out(fmt::format("FAILED {}: {} (retries used up); log {}", run->name, why, worker_log(j)));
      }
    }
    store::settle_job(st, j.run_id, state);
  }
  return res;
}

// ------------------------------------------------------------------ submit

SubmitResult submit(store::Store& st, const store::Sweep& sw, const Options& o, const Out& out) {
  SubmitResult res;
  // Claim first, under the store's write lock: two orchestrators never submit one run twice.
  const std::string claim_owner = lease_owner();
  std::vector<store::Run> runs;
  for (;;) {
    store::Lease l;
    l.owner = claim_owner;
    l.host = host_name();
    l.pid = getpid();
    l.expires_at = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count() + 600;
    auto id = st.claim_run(sw.id, l);
    if (!id) break;
    runs.push_back(*st.run(*id));
  }
  if (runs.empty()) return res;
  auto release_all = [&] {
    for (auto& r : runs) st.release_lease(r.id, claim_owner);
  };
  try {
    int max_array = 1001;
    auto cfg = run_cmd({"scontrol", "show", "config"});
    if (cfg.rc == 0)
      if (auto m = parse_max_array_size(cfg.out)) max_array = *m;
    const fs::path dir = fs::path(o.runs_dir) / "slurm" / dir_name(sw) / stamp();
    fs::create_directories(dir / "logs");
    res.dir = dir.string();
    const long limit = o.time.empty() ? -1 : parse_time_limit(o.time);
    const std::string device = o.gpus_per_run > 0 ? "cuda" : "cpu";
    int chunk_no = 0;
    for (auto [b, e] : array_chunks(static_cast<int>(runs.size()), max_array)) {
      const std::string tag = fmt::format("part{}", chunk_no++);
      const fs::path list = dir / (tag + ".runs"), script = dir / (tag + ".sh");
      {
        std::ofstream f(list);
        for (int i = b; i < e; ++i) f << runs[i].id << "\n";
      }
      std::vector<std::string> args = {"sbatch", "--parsable", "--requeue"};
      args.push_back(fmt::format("--array=0-{}{}", e - b - 1, o.max_parallel > 0 ? fmt::format("%{}", o.max_parallel) : ""));
      args.push_back("--job-name=scalelab:" + sw.name);
      args.push_back("--output=" + (dir / "logs" / "%A_%a.out").string());
      args.push_back("--chdir=" + o.runs_dir);
      args.push_back(fmt::format("--cpus-per-task={}", o.threads));
      if (!o.partition.empty()) args.push_back("--partition=" + o.partition);
      if (!o.time.empty()) args.push_back("--time=" + o.time);
      if (o.gpus_per_run > 0) args.push_back(fmt::format("--gres=gpu:{}", o.gpus_per_run));
      if (limit > 0) {
        // Default: 5 minutes' warning, at most half the limit; an explicit lead only has to fit in it.
        long lead = o.signal_before_s > 0 ? std::min(o.signal_before_s, limit - 1) : std::min(300L, limit / 2);
        args.push_back(fmt::format("--signal=B:USR1@{}", std::max(1L, lead)));
      }
      for (auto& a : o.sbatch_args) args.push_back(a);
      args.push_back(script.string());
      std::string line;
      for (auto& a : args) line += (line.empty() ? "" : " ") + shell_quote(a);
      ScriptSpec spec{sw.name, sw.id, list.string(), o.runs_dir, o.exe, device, o.threads, line};
      {
        std::ofstream f(script);
        f << render_script(spec);
      }
      fs::permissions(script, fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec,
                      fs::perm_options::add);
      for (int i = b; i < e; ++i)
        store::seed_shard(runs[i], store::shard_path(o.runs_dir, runs[i].id));
      auto c = run_cmd(args);
      std::string job = first_line(c.out);
      job = job.substr(0, job.find(';'));  // "ID;cluster" on federated setups
      if (c.rc != 0 || job.empty() || job.find_first_not_of("0123456789") != std::string::npos)
        user_error("sbatch failed (exit {}): {}", c.rc, first_line(c.err.empty() ? c.out : c.err));
      for (int i = b; i < e; ++i) {
        store::ClusterJob j;
        j.run_id = runs[i].id;
        j.job_id = fmt::format("{}_{}", job, i - b);
        j.state = "PENDING";
        j.shard = store::shard_path(o.runs_dir, runs[i].id);
        j.script = script.string();
        j.retries = o.retries;
        j.steps_at_submit = runs[i].steps_done;
        store::record_job(st, j, claim_owner, (fs::path(o.runs_dir) / runs[i].id / "worker.log").string());
      }
      res.array_jobs.push_back(job);
      res.runs += e - b;
      out(fmt::format("[{}] submitted job array {} ({} run(s)), script {}", clock_time(), job, e - b, script.string()));
    }
  } catch (...) {
    release_all();  // handed-over leases no longer match the claim and stay
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
  auto jobs = store::cluster_jobs(st, sweep_id, true);
  if (jobs.empty()) return 0;
  std::vector<std::string> args = {"scancel"};
  for (auto& j : jobs) args.push_back(j.job_id);
  auto c = run_cmd(args);
  if (c.rc != 0) user_error("scancel failed (exit {}): {}", c.rc, first_line(c.err));
  for (auto& j : jobs) {
    auto run = st.run(j.run_id);
    if (run && run->status != "done" && run->status != "diverged" && run->status != "failed")
      st.set_status(j.run_id, "cancelled", "cancelled by scalelab cancel");
    store::settle_job(st, j.run_id, "CANCELLED");
  }
  return static_cast<int>(jobs.size());
}

}  // namespace scalelab::sweep::slurm
