#include "store/run_json.h"

namespace scalelab::store {

namespace {

nlohmann::ordered_json opt_json(const std::optional<double>& v) {
  return v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json();
}

}  // namespace

nlohmann::ordered_json run_fields(const Run& r) {
  return {{"id", r.id},
          {"sweep_id", r.sweep_id},
          {"name", r.name},
          {"status", r.status},
          {"shape", r.shape},
          {"n_layer", r.n_layer},
          {"d_model", r.d_model},
          {"n_head", r.n_head},
          {"seq_len", r.seq_len},
          {"vocab", r.vocab},
          {"params_total", r.params_total},
          {"params_non_embedding", r.params_non_embedding},
          {"flops_per_token", r.flops_per_token},
          {"flop_convention", r.flop_convention},
          {"planned_tokens", r.planned_tokens},
          {"tokens_done", r.tokens_done},
          {"steps_done", r.steps_done},
          {"final_train_loss", opt_json(r.final_train_loss)},
          {"final_val_loss", opt_json(r.final_val_loss)},
          {"final_val_loss_se", opt_json(r.final_val_loss_se)},
          {"final_train_bpb", opt_json(loss_bpb(r.final_train_loss, r.train_bytes_per_token))},
          {"final_val_bpb", opt_json(loss_bpb(r.final_val_loss, r.bytes_per_token))},
          {"final_val_bpb_se", opt_json(loss_bpb(r.final_val_loss_se, r.bytes_per_token))},
          {"unique_tokens", opt_json(r.unique_tokens)},
          {"epochs", opt_json(r.epochs)},
          {"tokens_per_s", r.tokens_per_s},
          {"wall_s", r.wall_s},
          {"mfu", opt_json(r.mfu)},
          {"peak_tflops", opt_json(r.peak_tflops)},
          {"accelerator", r.accelerator},
          {"attempts", r.attempts},
          {"error", r.error},
          {"created_at", r.created_at},
          {"started_at", r.started_at},
          {"finished_at", r.finished_at},
          {"config_hash", r.config_hash},
          {"tokenizer", r.tokenizer.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(r.tokenizer)},
          {"bytes_per_token", opt_json(r.bytes_per_token)},
          {"train_bytes_per_token", opt_json(r.train_bytes_per_token)},
          {"parent_id", r.parent_id.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(r.parent_id)},
          {"fork_step", r.fork_step ? nlohmann::ordered_json(*r.fork_step) : nlohmann::ordered_json()}};
}

void to_json(nlohmann::json& j, const Run& r) { j = nlohmann::json(run_fields(r)); }

void to_json(nlohmann::json& j, const Metric& m) {
  j = {{"step", m.step}, {"tokens", m.tokens}, {"flops", m.flops}, {"split", m.split},
       {"loss", m.loss}, {"lr", m.lr},         {"grad_norm", m.grad_norm}, {"wall_s", m.wall_s}};
}

}  // namespace scalelab::store
