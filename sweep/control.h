#pragma once
// `scalelab status | cancel | retry`: registered sweeps, looked up and acted on.
#include <memory>
#include <string>
#include <vector>

#include "store/store.h"

namespace scalelab::sweep {

// The sweep named `name_or_id` (a name, or an id prefix); UserError when there is none.
store::Sweep find_sweep(const store::Store& st, const std::string& name_or_id);
// That sweep, or every sweep (maybe none) when `name_or_id` is "".
std::vector<store::Sweep> find_sweeps(const store::Store& st, const std::string& name_or_id);

struct Cancelled {
  store::Sweep sweep;
  int cancelled = 0;   // pending or stopped runs, now cancelled
  int requested = 0;   // running runs asked to stop at a checkpoint
  int slurm_jobs = 0;  // scancel'ed
  int signalled = 0;   // workers on this host sent SIGTERM
};
Cancelled cancel_sweep(const std::string& db, const std::string& name_or_id);

struct Requeued {
  store::Sweep sweep;
  int runs = 0;
};
// Failed (and, unless failed_only, cancelled) runs back to pending with a fresh retry budget.
Requeued retry_sweep(const std::string& db, const std::string& name_or_id, bool failed_only);

}  // namespace scalelab::sweep
