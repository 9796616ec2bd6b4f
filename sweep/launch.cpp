#include "sweep/launch.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/error.h"
#include "common/table.h"
#include "sweep/calibrate.h"
#include "sweep/clock_time.h"
#include "sweep/gpu.h"
#include "sweep/status.h"

extern char** environ;

namespace scalelab::sweep {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

std::atomic<int> g_stops{0};
extern "C" void on_stop(int) { g_stops.fetch_add(1); }

// Installs the stop handlers for the pool's lifetime and restores the old ones.
class SignalGuard {
 public:
  SignalGuard() {
    g_stops = 0;
    struct sigaction sa {};
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < 3; ++i) sigaction(kSignals[i], &sa, &old_[i]);
  }
  ~SignalGuard() {
    for (int i = 0; i < 3; ++i) sigaction(kSignals[i], &old_[i], nullptr);
  }

 private:
  static constexpr int kSignals[3] = {SIGINT, SIGTERM, SIGHUP};
  struct sigaction old_[3] {};
};

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string signal_name(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev ? fmt::format("SIG{}", abbrev) : fmt::format("signal {}", sig);
}

std::string args_joined(const std::vector<std::string>& args) {
  std::string out;
  for (auto& a : args) out += (out.empty() ? "" : " ") + a;
  return out;
}

std::string loss_text(const std::optional<double>& v) { return v ? fmt::format("{:.4f}", *v) : "-"; }

struct Worker {
  pid_t pid = 0;
  std::string run_id, name, device, log_path;
  Clock::time_point started = Clock::now();
  bool cancel_sent = false;
};

class Pool {
 public:
  Pool(store::Store& st, std::string sweep_id, const PoolOptions& o,
       const std::function<void(const std::string&)>& out)
      : st_(st), sweep_id_(std::move(sweep_id)), o_(o), out_(out), host_(host_name()), owner_(lease_owner()) {
    auto sw = st_.sweep(sweep_id_);
    if (!sw) throw std::runtime_error("run_pool: no sweep " + sweep_id_);
    sweep_ = *sw;
  }
  PoolResult run();

 private:
  void event(const std::string& text);
  void show(bool force);
  void recover();
  bool fill();
  std::string pick_device() const;
  void spawn(const std::string& run_id, const std::string& device);
  void reap();
  void settle(const Worker& w, int wstatus);
  void failure(const Worker& w, const std::string& why);
  void check_cancels();

  store::Store& st_;
  std::string sweep_id_;
  store::Sweep sweep_;
  const PoolOptions& o_;
  const std::function<void(const std::string&)>& out_;
  std::string host_, owner_;
  std::vector<Worker> workers_;
  PoolResult result_;
  bool stopping_ = false, killing_ = false;
  int drawn_ = 0;  // lines of the status block on screen (TTY)
  Clock::time_point last_show_ = Clock::now() - std::chrono::hours(1);
};

void Pool::event(const std::string& text) {
  if (o_.tty && drawn_ > 0) {
    fmt::print("\x1b[{}F\x1b[J", drawn_);  // erase the block; it is redrawn below the event
    drawn_ = 0;
  }
  out_(fmt::format("[{}] {}", clock_time(), text));
  if (o_.tty) show(true);
}

void Pool::show(bool force) {
  const double every = o_.tty ? 1.0 : o_.progress_every_s;
  if (!force && since(last_show_) < every) return;
  last_show_ = Clock::now();
  auto s = sweep_status(st_, sweep_);
  if (!o_.tty) {
    // One call per line: the event hook escapes control characters, a newline included.
    auto lines = progress_lines(s);
    out_(fmt::format("[{}] {}", clock_time(), lines[0]));
    for (std::size_t i = 1; i < lines.size(); ++i) out_(lines[i]);
    return;
  }
  std::string block;
  if (drawn_ > 0) block += fmt::format("\x1b[{}F\x1b[J", drawn_);
  auto lines = render_status(s, 12);
  for (auto& l : lines) block += l + "\n";
  drawn_ = static_cast<int>(lines.size());
  fmt::print("{}", block);
  std::fflush(stdout);
}

// Takes back runs whose orchestrator is gone: a lapsed lease, or on this host an
// orchestrator and worker that are no longer alive. A run that was training
// counts one failure and resumes from its checkpoint.
void Pool::recover() {
  const double now = unix_now();
  for (auto& l : st_.leases(sweep_id_)) {
    if (l.owner == owner_) continue;
    const bool here = l.host == host_;
    const bool expired = l.expires_at < now;
    if (here) {
      // A live owner settles its own workers. A dead owner's worker may still be
      // writing its checkpoint: never train a run twice. An owner killed between
      // fork and recording the worker's pid leaves no pid to check; the lease
      // expiry covers that instant.
      if (pid_alive(l.pid)) continue;
      if (l.worker_pid > 0 ? pid_alive(l.worker_pid) : !expired) continue;
    } else if (!expired) {
      continue;  // another host: only the clock tells
    }
    auto status = st_.break_lease(l.run_id, l.owner, fmt::format("lost its worker (orchestrator {} is gone)", l.owner),
                                  o_.retries);
    if (!status.empty()) event(fmt::format("recovered {} from {}: now {}", l.run_id.substr(0, 12), l.owner, status));
  }
  // A stand-alone `scalelab train --run` holds no lease; its heartbeat is its lease.
  for (auto& id : st_.fail_orphans(sweep_id_, o_.lease_ttl_s,
                                   fmt::format("lost: no heartbeat for {:.0f}s", o_.lease_ttl_s), o_.retries))
    event(fmt::format("recovered {} (its worker stopped sending heartbeats)", id.substr(0, 12)));
}

std::string Pool::pick_device() const {
  std::string best;
  int best_load = o_.runs_per_device;
  for (auto& d : o_.devices) {
    int load = static_cast<int>(std::count_if(workers_.begin(), workers_.end(), [&](auto& w) { return w.device == d; }));
    if (load < best_load) best = d, best_load = load;
  }
  return best;
}

bool Pool::fill() {
  while (static_cast<int>(workers_.size()) < o_.jobs) {
    auto device = pick_device();
    if (device.empty()) return true;
    store::Lease l;
    l.owner = owner_;
    l.host = host_;
    l.pid = getpid();
    l.expires_at = unix_now() + o_.lease_ttl_s;
    auto id = st_.claim_run(sweep_id_, l);
    if (!id) return false;
    spawn(*id, device);
  }
  return true;
}

void Pool::spawn(const std::string& run_id, const std::string& device) {
  Worker w;
  w.run_id = run_id;
  w.device = device;
  auto run = st_.run(run_id);
  w.name = run ? run->name : run_id;
  fs::path dir = fs::path(o_.runs_dir) / run_id;
  fs::create_directories(dir);
  w.log_path = (dir / "worker.log").string();

  // Everything the child needs is built before fork: between fork and exec only
  // async-signal-safe calls are allowed (the parent may have LibTorch threads).
  std::vector<std::string> args = {o_.exe, "train", "--run", run_id, "--db", o_.db, "--runs-dir", o_.runs_dir,
                                   "--resume", "--device", device, "--threads", std::to_string(o_.threads_per_job)};
  for (auto& f : worker_flags(o_)) args.push_back(f);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_store;
  for (char** e = environ; *e; ++e)
    if (std::strncmp(*e, "OMP_NUM_THREADS=", 16) != 0) env_store.emplace_back(*e);
  env_store.push_back("OMP_NUM_THREADS=" + std::to_string(o_.threads_per_job));
  std::vector<char*> envp;
  for (auto& e : env_store) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string header = fmt::format("=== {} attempt {} | {} | device {} x{} threads | orchestrator {}\n",
                                   store::now_iso8601(), run ? run->attempts + 1 : 1, args_joined(args), device,
                                   o_.threads_per_job, owner_);
  int fd = ::open(w.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    st_.release_lease(run_id, owner_);
    user_error("cannot open worker log {}: {}", w.log_path, std::strerror(errno));
  }
  if (::write(fd, header.data(), header.size()) < 0) {
    // A full disk shows up again when the worker writes; the run itself decides.
  }
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    // A worker must not outlive its orchestrator: SIGTERM makes it checkpoint and stop.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(1);
    int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGPIPE}) signal(sig, SIG_DFL);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  ::close(fd);
  if (pid < 0) {
    st_.release_lease(run_id, owner_);
    throw std::runtime_error(fmt::format("fork failed: {}", std::strerror(errno)));
  }
  w.pid = pid;
  st_.set_worker(run_id, owner_, pid, w.log_path);
  ++result_.started;
  event(fmt::format("start  {} ({}) on {}, log {}", w.name, run_id.substr(0, 12), device, w.log_path));
  workers_.push_back(std::move(w));
}

void Pool::reap() {
  int wstatus = 0;
  pid_t pid;
  while ((pid = waitpid(-1, &wstatus, WNOHANG)) > 0) {
    auto it = std::find_if(workers_.begin(), workers_.end(), [&](auto& w) { return w.pid == pid; });
    if (it == workers_.end()) continue;
    Worker w = *it;
    workers_.erase(it);
    settle(w, wstatus);
  }
}

// Counts a crash or kill against the retry budget; the next attempt resumes
// from the run's last checkpoint.
void Pool::failure(const Worker& w, const std::string& why) {
  auto status = st_.record_failure(w.run_id, why, o_.retries);
  if (status == "pending") {
    ++result_.retried;
    event(fmt::format("retry  {}: {}; resumes from its checkpoint", w.name, why));
  } else {
    ++result_.failed;
    event(fmt::format("FAILED {}: {} (retries used up); log {}", w.name, why, w.log_path));
  }
}

void Pool::settle(const Worker& w, int wstatus) {
  auto run = st_.run(w.run_id);
  if (!run) return;  // deleted under us; nothing to record
  const bool cancel = st_.cancel_requested(w.run_id);
  const double took = since(w.started);
  if (WIFEXITED(wstatus)) {
    const int code = WEXITSTATUS(wstatus);
    if (code == 0 && run->status == "done") {
      ++result_.done;
      event(fmt::format("done   {}: val loss {}, train loss {} ({})", w.name, loss_text(run->final_val_loss),
                        loss_text(run->final_train_loss), duration(took)));
    } else if (code == 0 && run->status == "stopped") {
      if (cancel) {
        st_.set_status(w.run_id, "cancelled", "cancelled by scalelab cancel");
        ++result_.cancelled;
        event(fmt::format("cancel {} at step {}", w.name, run->steps_done));
      } else if (stopping_ || g_stops > 0) {  // a Ctrl-C reaches the workers too, maybe first
        event(fmt::format("stop   {} at step {} (checkpointed; resumable)", w.name, run->steps_done));
      } else {
        failure(w, fmt::format("stopped by a signal from outside the sweep at step {}", run->steps_done));
      }
    } else if (code == kExitDiverged || run->status == "diverged") {
      ++result_.diverged;
      event(fmt::format("DIVERGED {}: {} (not retried)", w.name, run->error));
    } else if (code == kExitResource) {
      // Out of disk (or a store locked for minutes): every other run would hit it
      // too, so the pool starts nothing more; the run stays resumable.
      stopping_ = true;
      result_.resource = true;
      auto why = run->error.empty() ? last_error_line(w.log_path) : run->error;
      event(fmt::format("STOPPED {}: {}; the sweep stops (resumable: free the resource and rerun)", w.name, why));
    } else if (code == kExitUserError) {
      // Bad input (a config or data file the worker rejects) fails the same way every time.
      auto why = run->error.empty() ? last_error_line(w.log_path) : run->error;
      st_.set_status(w.run_id, "failed", "bad config: " + why);
      ++result_.failed;
      event(fmt::format("FAILED {}: bad config: {} (not retried); log {}", w.name, why, w.log_path));
    } else {
      auto why = run->error.empty() ? last_error_line(w.log_path) : run->error;
      failure(w, fmt::format("crashed (exit {}) near step {}: {}", code, run->steps_done, why));
    }
  } else if (WIFSIGNALED(wstatus)) {
    const int sig = WTERMSIG(wstatus);
    if (killing_) {
      // Killed on the user's second Ctrl-C: resumable from its last checkpoint, not a failure.
      st_.set_status(w.run_id, "stopped", fmt::format("killed on request near step {}", run->steps_done));
      event(fmt::format("killed {} near step {}; resumes from its last checkpoint", w.name, run->steps_done));
    } else if (cancel) {
      st_.set_status(w.run_id, "cancelled", "cancelled by scalelab cancel");
      ++result_.cancelled;
    } else {
      failure(w, fmt::format("killed by {} near step {}", signal_name(sig), run->steps_done));
    }
  }
  if (cancel) {
    // A run that was cancelled while its worker started ends cancelled unless it finished.
    auto now = st_.run(w.run_id);
    if (now && (now->status == "pending" || now->status == "stopped" || now->status == "running"))
      st_.set_status(w.run_id, "cancelled", "cancelled by scalelab cancel");
  }
  st_.release_lease(w.run_id, owner_);
}

void Pool::check_cancels() {
  for (auto& w : workers_) {
    if (w.cancel_sent || !st_.cancel_requested(w.run_id)) continue;
    kill(w.pid, SIGTERM);
    w.cancel_sent = true;
  }
}

PoolResult Pool::run() {
  SignalGuard guard;
  recover();
  auto last_recover = Clock::now(), last_renew = Clock::now(), last_cancel = Clock::now();
  for (;;) {
    reap();
    const int stops = g_stops.load();
    if (stops > 0 && !stopping_) {
      stopping_ = true;
      result_.interrupted = true;
      for (auto& w : workers_) kill(w.pid, SIGTERM);
      event(fmt::format("stopping: {} worker(s) are writing checkpoints (interrupt again to kill them)",
                        workers_.size()));
    }
    if (stops > 1 && !killing_) {
      killing_ = true;
      for (auto& w : workers_) kill(w.pid, SIGKILL);
    }
    if (stopping_) {
      if (workers_.empty()) break;
    } else if (!fill() && workers_.empty()) {
      // Nothing to claim. Wait for runs whose dead orchestrator's workers are still
      // checkpointing; leave runs a live orchestrator holds to it.
      recover();
      if (fill() || !workers_.empty()) continue;
      int draining = 0, held = 0;
      for (auto& l : st_.leases(sweep_id_)) {
        if (l.owner == owner_) continue;
        if (l.host == host_ && !pid_alive(l.pid)) ++draining;  // recover() frees it soon
        else ++held;
      }
      if (draining == 0) {
        result_.held_elsewhere = held;
        break;
      }
    }
    if (since(last_renew) >= o_.lease_ttl_s / 4) {
      st_.renew_leases(owner_, unix_now() + o_.lease_ttl_s);
      last_renew = Clock::now();
    }
    if (since(last_cancel) >= 1) {
      check_cancels();
      last_cancel = Clock::now();
    }
    if (since(last_recover) >= 2) {
      recover();
      last_recover = Clock::now();
    }
    show(false);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (o_.tty) show(true);
  return result_;
}

}  // namespace

std::string lease_owner() { return fmt::format("{}:{}", host_name(), getpid()); }

bool pid_alive(long pid) { return pid > 0 && (kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM); }

std::string last_error_line(const std::string& log_path) {
  std::ifstream in(log_path);
  std::string line, last, error;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    last = line;
    if (line.rfind("scalelab: ", 0) == 0) error = line;
  }
  return error.empty() ? last : error;
}

Submission submit(store::Store& st, const SweepConfig& sc, const Plan& plan) {
  Submission s;
  s.sweep_id = sweep_id(sc);
  store::Sweep sw;
  sw.id = s.sweep_id;
  sw.name = sc.name;
  sw.config_toml = sc.resolved_toml;
  std::vector<store::Run> runs;
  for (auto& r : plan.runs) runs.push_back(r.record);
  s.runs = static_cast<int>(runs.size());
  s.new_runs = st.register_sweep(sw, runs);
  for (auto& r : st.sweep_runs(s.sweep_id))
    if (r.status == "done" || r.status == "diverged" || r.status == "failed") ++s.finished;
  return s;
}

std::vector<std::string> resolve_pool(PoolOptions& o, unsigned cores) {
  std::vector<std::string> warnings;
  cores = std::max(1u, cores);
  const bool cpu = o.devices.size() == 1 && o.devices[0] == "cpu";
  if (cpu) {
    if (o.jobs <= 0) o.jobs = std::max(1, static_cast<int>(cores) / std::max(1, o.threads_per_job));
    if (o.threads_per_job <= 0) o.threads_per_job = std::max(1, static_cast<int>(cores) / o.jobs);
    if (o.runs_per_device <= 0) o.runs_per_device = o.jobs;
    o.jobs = std::min(o.jobs, o.runs_per_device);
    if (o.jobs * o.threads_per_job > static_cast<int>(cores))
      warnings.push_back(fmt::format("{} jobs x {} threads oversubscribe {} cores; runs will slow each other down",
                                     o.jobs, o.threads_per_job, cores));
  } else {
    if (o.runs_per_device <= 0) o.runs_per_device = 1;
    const int slots = static_cast<int>(o.devices.size()) * o.runs_per_device;
    o.jobs = o.jobs <= 0 ? slots : std::min(o.jobs, slots);
    if (o.threads_per_job <= 0) o.threads_per_job = std::max(1, static_cast<int>(cores) / o.jobs);
    if (o.runs_per_device > 1 || o.gpu_memory_fraction > 0)
      o.gpu_memory_fraction = memory_fraction(o.runs_per_device, o.gpu_memory_fraction);
  }
  return warnings;
}

PoolResult run_pool(store::Store& st, const std::string& sweep_id, const PoolOptions& o,
                    const std::function<void(const std::string&)>& out) {
  return Pool(st, sweep_id, o, out).run();
}

}  // namespace scalelab::sweep
