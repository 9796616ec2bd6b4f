// Step budget and learning-rate schedules. lr_at is a pure function of the step
// so a resumed run needs no scheduler state.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numbers>

#include "common/error.h"
#include "trainer/schedule.h"

namespace scalelab::trainer {

std::string fork_checkpoint_path(const std::string& run_dir, std::int64_t step) {
  return (std::filesystem::path(run_dir) / ("fork-" + std::to_string(step) + ".pt")).string();
}

std::int64_t total_steps(const RunSpec& s) {
  if (s.batch_tokens < 1) user_error("batch_tokens must be >= 1 (got {})", s.batch_tokens);
  if (!(s.tokens > 0)) user_error("tokens must be > 0 (got {})", s.tokens);
  return std::max<std::int64_t>(1, std::llround(s.tokens / static_cast<double>(s.batch_tokens)));
}

std::int64_t warmup_steps(const ScheduleConfig& s, std::int64_t total) {
  const std::int64_t w = s.warmup_steps >= 0
                             ? s.warmup_steps
                             : std::llround(std::max(0.0, s.warmup_fraction) * double(total));
  return std::min(w, total);
}

std::int64_t cooldown_start(const ScheduleConfig& s, std::int64_t total) {
  total = std::max<std::int64_t>(1, total);
  const std::int64_t warm = warmup_steps(s, total);
  return total - std::clamp<std::int64_t>(std::llround(std::max(0.0, s.decay_fraction) * double(total)), 0,
                                          total - warm);
}

double lr_at(const OptimConfig& o, const ScheduleConfig& s, std::int64_t step, std::int64_t total) {
  const bool cosine = s.kind == "cosine", wsd = s.kind == "wsd", constant = s.kind == "constant";
  if (!cosine && !wsd && !constant)
    user_error("schedule.kind: unknown '{}' (expected \"cosine\", \"wsd\" or \"constant\")", s.kind);
  total = std::max<std::int64_t>(1, total);
  step = std::clamp<std::int64_t>(step, 0, total - 1);
  const double peak = o.lr, floor = o.lr * s.min_lr_ratio;
  const std::int64_t warm = warmup_steps(s, total);
  // Step `step` (0-based) trains with lr_at(step); warmup reaches the peak on its last step.
  if (step < warm) return peak * double(step + 1) / double(warm);
  if (constant) return peak;
  const std::int64_t last = total - 1;
  if (cosine) {
    // One half-cosine spanning the rest of the run's token budget, landing on the floor at `last`.
    const double span = double(last - warm);
    const double progress = span > 0 ? double(step - warm) / span : 1.0;
    return floor + 0.5 * (1.0 + std::cos(std::numbers::pi * progress)) * (peak - floor);
  }
  // wsd: the final `cool` steps descend linearly, the last one at the floor.
  const std::int64_t cool_start = cooldown_start(s, total);
  const std::int64_t cool = total - cool_start;
  if (step < cool_start) return peak;
  return peak - (peak - floor) * double(step - cool_start + 1) / double(cool);
}

}  // namespace scalelab::trainer
