#pragma once
// Internal to store/: the columns that make up a run's identity and shape, bound
// the same way wherever a run row is inserted (add_runs, register_sweep).
#include <string>

#include "store/sqlite.h"
#include "store/store.h"

namespace scalelab::store {

// Parameters 1..16, in this order: id, sweep_id, name, config_toml, config_hash,
// shape, n_layer, d_model, n_head, seq_len, vocab, params_total,
// params_non_embedding, flops_per_token, flop_convention, planned_tokens.
#define SCALELAB_RUN_IDENTITY_COLS                                                                   \
  "id, sweep_id, name, config_toml, config_hash, shape, n_layer, d_model, n_head, seq_len, vocab, " \
  "params_total, params_non_embedding, flops_per_token, flop_convention, planned_tokens"

sql::Stmt& bind_run_identity(sql::Stmt& st, const Run& r, const std::string& sweep_id);

}  // namespace scalelab::store
