#include "sweep/control.h"

#include <csignal>
#include <filesystem>

#include "common/error.h"
#include "store/cluster.h"
#include "sweep/calibrate.h"
#include "sweep/launch.h"
#include "sweep/slurm.h"

namespace scalelab::sweep {

store::Sweep find_sweep(const store::Store& st, const std::string& name_or_id) {
  auto sw = st.sweep(name_or_id);
  if (!sw) user_error("{}: no sweep '{}'; `scalelab status --db {}` lists them", st.path(), name_or_id, st.path());
  return *sw;
}

std::vector<store::Sweep> find_sweeps(const store::Store& st, const std::string& name_or_id) {
  if (name_or_id.empty()) return st.sweeps();
  return {find_sweep(st, name_or_id)};
}

Cancelled cancel_sweep(const std::string& db, const std::string& name_or_id) {
  auto st = store::Store::open_existing(db);
  Cancelled c;
  c.sweep = find_sweep(*st, name_or_id);
  auto res = st->cancel_sweep(c.sweep.id);
  c.cancelled = res.cancelled;
  c.requested = res.requested;
  if (!store::cluster_jobs(*st, c.sweep.id, true).empty()) {
    if (!slurm::available()) user_error("sweep {} has SLURM jobs, but scancel is not on PATH", c.sweep.name);
    c.slurm_jobs = slurm::cancel(*st, c.sweep.id);
  }
  // Workers on this host stop at once; elsewhere their orchestrator sees the request within a second.
  const auto host = host_name();
  for (auto& l : res.live)
    if (l.host == host && l.worker_pid > 0 && pid_alive(l.worker_pid) && kill(l.worker_pid, SIGTERM) == 0)
      ++c.signalled;
  return c;
}

Requeued retry_sweep(const std::string& db, const std::string& name_or_id, bool failed_only) {
  auto st = store::Store::open_existing(db);
  Requeued r;
  r.sweep = find_sweep(*st, name_or_id);
  r.runs = st->retry_sweep(r.sweep.id, failed_only);
  return r;
}

}  // namespace scalelab::sweep
