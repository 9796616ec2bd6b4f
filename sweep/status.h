#pragma once
// What a sweep is doing, from the store alone: counts by state, tokens and FLOPs
// done, an ETA, the live runs and the failed ones with their logs. Reads only
// the runs' summary columns and one metric row per running run (a primary-key
// lookup), so it stays fast however many metric rows the database holds.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "store/store.h"

namespace scalelab::sweep {

struct SweepStatus {
  store::Sweep sweep;
  std::vector<store::SweepRun> runs;  // launch order
  std::map<std::string, double> live_loss;  // latest train loss of each running run
  int total = 0, pending = 0, running = 0, done = 0, failed = 0, diverged = 0, cancelled = 0;
  double tokens_done = 0, tokens_total = 0, flops_done = 0, flops_total = 0;
  double flops_per_s = 0;  // of the running runs, from their heartbeats
  double eta_s = -1;       // < 0: unknown (nothing running)
  bool settled() const { return pending == 0 && running == 0; }
};

// Collapses run statuses into those a sweep reports: a stopped run counts as
// pending, a leased one (its worker starting) as running.
std::string sweep_state(const store::SweepRun& r);

SweepStatus sweep_status(const store::Store& st, const store::Sweep& sweep);

// The status block: a progress bar, totals and ETA, then the running runs and the
// failed or diverged ones (with their log files). `max_rows` caps each list.
std::vector<std::string> render_status(const SweepStatus& s, int max_rows = 20);
// One line for logs and non-TTY watching.
std::string status_line(const SweepStatus& s);
// What a non-TTY watcher prints every so often: the status line, then one line per
// running run (its step, loss and tokens/s), each a line of its own.
std::vector<std::string> progress_lines(const SweepStatus& s);

}  // namespace scalelab::sweep
