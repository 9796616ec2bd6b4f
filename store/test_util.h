#pragma once
// Helpers shared by the store tests: scratch directories, runs, child processes.
#include "store/store.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>

#include "tests/temp_dir.h"
#include <vector>

namespace scalelab::store::testing {

using scalelab::test_support::TempDir;

inline Run make_run(const std::string& id, const std::string& sweep_id = "") {
  Run r;
  r.id = r.config_hash = id;
  r.sweep_id = sweep_id;
  r.name = "run-" + id;
  r.config_toml = "[model]\nn_layer = 4\n";
  r.shape = "L4-D128-H4-T128";
  r.n_layer = 4;
  r.d_model = 128;
  r.n_head = 4;
  r.seq_len = 128;
  r.vocab = 256;
  r.params_total = 842496;
  r.params_non_embedding = 790016;
  r.flops_per_token = 5.1e6;
  r.flop_convention = "6N+attn";
  r.planned_tokens = 2e7;
  return r;
}

inline Metric make_metric(const std::string& run_id, std::int64_t step, const std::string& split,
                          double loss) {
  Metric m;
  m.run_id = run_id;
  m.step = step;
  m.split = split;
  m.tokens = 4096.0 * static_cast<double>(step);
  m.flops = 5.1e6 * m.tokens;
  m.loss = loss;
  m.lr = 1e-3;
  m.grad_norm = 0.5;
  m.wall_s = 0.01 * static_cast<double>(step);
  return m;
}

// Forks one child per index and runs body(i) in it. A child exits 0 when body
// returns and 1 when it throws (the message goes to stderr). Children leave with
// _exit so the test framework's state and the parent's open files are never torn
// down twice. The parent must hold no open Store: an SQLite connection must not
// cross a fork.
inline std::vector<pid_t> spawn_children(int n, const std::function<void(int)>& body) {
  std::fflush(nullptr);
  std::vector<pid_t> pids;
  for (int i = 0; i < n; ++i) {
    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
      int code = 0;
      try {
        body(i);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "child %d: %s\n", i, e.what());
        code = 1;
      }
      _exit(code);
    }
    pids.push_back(pid);
  }
  return pids;
}

// The children's wait statuses, in spawn order.
inline std::vector<int> wait_children(const std::vector<pid_t>& pids) {
  std::vector<int> statuses;
  for (pid_t pid : pids) {
    int status = 0;
    waitpid(pid, &status, 0);
    statuses.push_back(status);
  }
  return statuses;
}

inline std::vector<int> run_children(int n, const std::function<void(int)>& body) {
  return wait_children(spawn_children(n, body));
}

inline bool exited_ok(int status) { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }

}  // namespace scalelab::store::testing
