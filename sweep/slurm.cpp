#include "sweep/slurm.h"

#include <fmt/format.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>
#include <regex>
#include <set>
#include <sstream>

namespace scalelab::sweep::slurm {

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

std::string job_name(const std::string& sweep_id, const std::string& token) {
  return "scalelab:" + sweep_id.substr(0, 8) + ":" + token;
}

std::string new_token() {
  static std::mt19937_64 rng(std::random_device{}() ^ (std::uint64_t(getpid()) << 32) ^
                             std::uint64_t(std::chrono::steady_clock::now().time_since_epoch().count()));
  return fmt::format("{:012x}", rng() & 0xffffffffffffULL);
}

std::set<std::string> array_ids(const std::string& out) {
  static const std::regex re(R"(^\s*([0-9]+)(?:_[0-9\[\]\-,%]+)?\|)");
  std::set<std::string> ids;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);)
    if (std::smatch m; std::regex_search(line, m, re)) ids.insert(m[1]);
  return ids;
}

std::optional<std::string> job_in_log(const std::string& log, const std::string& name) {
  const std::string tail = " (" + name + ") on ";
  std::optional<std::string> found;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("=== ", 0) != 0) continue;  // only the headers the batch script writes
    const auto at = line.find(" | slurm job ");
    const auto end = line.find(tail);
    if (at == std::string::npos || end == std::string::npos || end < at) continue;
    found = line.substr(at + 13, end - at - 13);
  }
  return found;
}

int task_index(const std::string& list, const std::string& run_id) {
  std::istringstream in(list);
  int i = 0;
  for (std::string line; std::getline(in, line); ++i)
    if (line == run_id) return i;
  return -1;
}

Verdict reconcile_verdict(bool queue_answered, std::size_t arrays_found, bool submitter_gone) {
  if (arrays_found == 1) return Verdict::record;
  if (arrays_found == 0 && queue_answered && submitter_gone) return Verdict::clear;
  return Verdict::hold;
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
      "(${{SLURM_JOB_NAME}}) on $(hostname) | run $run\"\n"
      "export OMP_NUM_THREADS={threads}\n"
      "# exec: the trainer is the batch shell, so SLURM's warning signal (--signal=B:USR1@N)\n"
      "# reaches it, and it checkpoints and exits before the time limit.\n"
      "exec {exe} train --run \"$run\" --shard \"$runs_dir/$run/result.db\" --runs-dir \"$runs_dir\" \\\n"
      "  --resume --quiet --device {device} --threads {threads}{flags}\n",
      fmt::arg("submit", [&] {
        std::string l = s.submit_line;
        std::replace(l.begin(), l.end(), '\n', ' ');
        return l;
      }()),
      fmt::arg("name", shell_quote(s.sweep_name)), fmt::arg("id", shell_quote(s.sweep_id)),
      fmt::arg("list", shell_quote(s.list_path)), fmt::arg("runs", shell_quote(s.runs_dir)),
      fmt::arg("threads", shell_quote(std::to_string(s.threads))), fmt::arg("exe", shell_quote(s.exe)),
      fmt::arg("device", shell_quote(s.device)), fmt::arg("flags", [&] {
        std::string f;
        for (auto& w : s.worker_flags) f += " " + shell_quote(w);
        return f;
      }()));
}

}  // namespace scalelab::sweep::slurm
