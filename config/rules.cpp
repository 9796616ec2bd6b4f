// The rules that tie keys together, one definition each. The run and sweep
// parsers once checked batch_tokens against seq_len each in their own words
// (one forgot "at least one sequence"); both now call these.
#include <fmt/format.h>

#include "common/error.h"
#include "config/config.h"

namespace scalelab::config {

void check_heads(const Spec& s, const Blame& blame) {
  const auto& m = s.model;
  if (m.n_head > 0 && m.d_model % m.n_head)
    blame("model", "n_head", fmt::format("d_model ({}) must be divisible by n_head ({})", m.d_model, m.n_head));
}

void check_batch(const Spec& s, const Blame& blame) {
  const int seq = s.model.seq_len;
  if (s.batch_tokens < seq)
    blame("train", "batch_tokens",
          fmt::format("must be at least one sequence (model.seq_len = {}), got {}", seq, s.batch_tokens));
  if (s.batch_tokens % seq)
    blame("train", "batch_tokens", fmt::format("must be a multiple of model.seq_len ({}), got {}", seq, s.batch_tokens));
}

void check_budget(const Spec& s, const Blame& blame) {
  if (s.tokens < static_cast<double>(s.batch_tokens))
    blame("train", "tokens",
          fmt::format("budget {} is less than one batch (train.batch_tokens = {})", s.tokens, s.batch_tokens));
  // Steps are counted in 64-bit integers; far below their limit, a run would never end anyway.
  if (const double steps = s.tokens / s.batch_tokens; steps > trainer::kMaxSteps)
    blame("train", "tokens",
          fmt::format("{:.3g} tokens at {} per step is {:.3g} optimizer steps; at most {:.0e} are supported",
                      s.tokens, s.batch_tokens, steps, trainer::kMaxSteps));
}

void check_shape(const Spec& s, const Blame& blame) {
  try {
    trainer::check_size(s.model);
  } catch (const UserError& e) {
    blame("model", s.model.n_layer > s.model.d_model ? "n_layer" : "d_model", e.what());
  }
}

void check_mup(const Spec& s, const Blame& blame) {
  if (auto p = trainer::parametrization_problem(s.model)) {
    const std::string_view key(p->key);
    blame("model", key.substr(key.find('.') + 1), p->what);
  }
}

void check_task_eval(bool task_every_given, const Spec& s, const Blame& blame) {
  if (task_every_given && s.task.name.empty())
    blame("eval", "task_every", "needs a [task] table naming the task to evaluate");
}

void resolve_warmup(Spec& s, std::int64_t steps) {
  if (s.schedule.warmup_steps < 0) s.schedule.warmup_steps = trainer::warmup_steps(s.schedule, steps);
}

}  // namespace scalelab::config
