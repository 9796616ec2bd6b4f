#pragma once
// Internal to store/: the columns that make up a run's identity and shape, bound
// the same way wherever a run row is inserted (add_runs, register_sweep), and the
// one way a whole run row is read (run, runs, branches).
#include <string>
#include <string_view>

#include "store/sqlite.h"
#include "store/store.h"

namespace scalelab::store {

// Parameters 1..21, in this order: id, sweep_id, name, config_toml, config_hash,
// shape, n_layer, d_model, n_head, seq_len, vocab, params_total,
// params_non_embedding, flops_per_token, flop_convention, planned_tokens,
// parent_id, fork_step, tokenizer, bytes_per_token, train_bytes_per_token. A
// branch's parent is part of what it is, so a ladder sweep registering its
// branches writes it like the shape; so is the tokenization of its data.
#define SCALELAB_RUN_IDENTITY_COLS                                                                   \
  "id, sweep_id, name, config_toml, config_hash, shape, n_layer, d_model, n_head, seq_len, vocab, " \
  "params_total, params_non_embedding, flops_per_token, flop_convention, planned_tokens, parent_id, " \
  "fork_step, tokenizer, bytes_per_token, train_bytes_per_token"

// A run's MFU from the tokens/s bound at RATE and the row's own FLOPs per token
// and peak: NULL without a peak or a rate (docs/schema.md).
#define SCALELAB_MFU_SQL(RATE) \
  "(CASE WHEN peak_tflops > 0 AND " RATE " > 0 THEN " RATE " * flops_per_token / (peak_tflops * 1e12) END)"

sql::Stmt& bind_run_identity(sql::Stmt& st, const Run& r, const std::string& sweep_id);

// The columns read_run expects, in its order.
inline constexpr std::string_view kRunCols =
    "id, sweep_id, name, config_toml, config_hash, shape, n_layer, d_model, n_head, seq_len, "
    "vocab, params_total, params_non_embedding, flops_per_token, flop_convention, "
    "planned_tokens, status, attempts, created_at, started_at, finished_at, heartbeat_at, error, "
    "steps_done, tokens_done, final_train_loss, final_val_loss, tokens_per_s, wall_s, unique_tokens, "
    "epochs, final_val_loss_se, parent_id, fork_step, coalesce(accelerator, ''), peak_tflops, mfu, "
    "coalesce(tokenizer, ''), bytes_per_token, train_bytes_per_token";

Run read_run(const sql::Stmt& st);

}  // namespace scalelab::store
