#pragma once
// run_dir/checkpoint.pt: everything a run needs to continue bit-identically on
// the same device — flat parameters, AdamW moments and step count, the CPU RNG
// state, and the run's progress (step, tokens, wall time). Writes are atomic: a
// crash leaves either the previous checkpoint or the new one, never a torn file.
#include <cstdint>
#include <optional>
#include <string>

#include "trainer/engine.h"

namespace scalelab::trainer {

struct Progressed {
  std::int64_t step = 0;  // completed optimizer steps
  double tokens = 0;
  double wall_s = 0;      // training wall time across all sessions
};

std::string checkpoint_path(const std::string& run_dir);

void save_checkpoint(const std::string& run_dir, Engine& engine, const Progressed& p,
                     std::int64_t total_steps);
// The same, atomically to `path` (a trunk's kept fork-<step>.pt).
void save_checkpoint_as(const std::string& path, Engine& engine, const Progressed& p,
                        std::int64_t total_steps);

// Restores engine state and returns the progress, or nullopt when run_dir has no
// checkpoint. UserError when the file is unreadable or belongs to another run shape.
std::optional<Progressed> load_checkpoint(const std::string& run_dir, Engine& engine,
                                          std::int64_t total_steps);

// Restores engine state from a trunk's kept checkpoint (fork_checkpoint_path) and
// returns the branch's progress there: the trunk's step, step x tokens_per_step
// tokens, no wall time. UserError when the file is missing, unreadable, or written
// for another model or batch size; the trunk's total_steps is not compared.
Progressed load_fork_checkpoint(const std::string& path, Engine& engine);

}  // namespace scalelab::trainer
