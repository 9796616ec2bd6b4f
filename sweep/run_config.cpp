#include "sweep/run_config.h"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/error.h"
#include "common/hash.h"
#include "sweep/task_config.h"
#include "sweep/toml_reader.h"

namespace scalelab::sweep {

namespace fs = std::filesystem;
using trainer::RunSpec;

namespace {

void read_data(const TomlReader& r, const toml::table& root, RunSpec& s, bool check_data) {
  auto* t = r.table(root, "data", "");
  if (!t) r.fail(nullptr, "data", "missing table; expected [data] with kind and path");
  r.only_keys(*t, "data", {"kind", "path", "val_fraction"});
  s.data.kind = r.one_of(*t, "kind", "data", "text", {"text", "tokens", "task"});
  auto path = r.string(*t, "path", "data");
  if (s.data.kind == "task") {
    // The task generates the data; canonical_toml writes path = "".
    if (path && !path->empty()) r.fail(t->get("path"), "data.path", "not used with kind = \"task\"; remove it");
    return;
  }
  if (!path || path->empty())
    r.fail(t, "data.path", s.data.kind == "text" ? "missing; expected the path of a UTF-8 text file"
                                                  : "missing; expected a directory with train.bin and val.bin");
  fs::path p = fs::absolute(*path).lexically_normal();
  s.data.path = p.string();
  s.data.val_fraction = r.in_range(*t, "val_fraction", "data", s.data.val_fraction, 1e-4, 0.5);
  if (!check_data) return;
  auto at = t->get("path");
  if (s.data.kind == "text" && !fs::is_regular_file(p))
    r.fail(at, "data.path", fmt::format("no such file {}; expected a UTF-8 text file "
                                        "(try: scalelab data kjv --out {})", p.string(), *path));
  if (s.data.kind == "tokens")
    for (auto f : {"train.bin", "val.bin"})
      if (!fs::is_regular_file(p / f))
        r.fail(at, "data.path", fmt::format("{} not found; expected nanoGPT-style train.bin and val.bin (uint16)",
                                            (p / f).string()));
}

void read_model(const TomlReader& r, const toml::table& root, RunSpec& s) {
  auto* t = r.table(root, "model", "");
  if (!t) r.fail(nullptr, "model", "missing table; expected [model] with n_layer/d_model/n_head or params");
  r.only_keys(*t, "model", {"n_layer", "d_model", "n_head", "params", "aspect_ratio", "head_dim", "seq_len",
                            "vocab", "tie_embeddings", "bias", "dropout", "mlp", "embedding_init_std"});
  auto& m = s.model;
  m.seq_len = static_cast<int>(r.positive_int(*t, "seq_len", "model", m.seq_len));
  m.vocab = static_cast<int>(r.positive_int(*t, "vocab", "model", s.data.kind == "text" ? 256 : 50304));
  if (s.data.kind == "text" && m.vocab < 256)
    r.fail(t->get("vocab"), "model.vocab", fmt::format("byte-level text needs vocab >= 256, got {}", m.vocab));
  if (m.vocab > 65536)
    r.fail(t->get("vocab"), "model.vocab", fmt::format("uint16 tokens need vocab <= 65536, got {}", m.vocab));
  m.tie_embeddings = r.boolean(*t, "tie_embeddings", "model").value_or(m.tie_embeddings);
  m.bias = r.boolean(*t, "bias", "model").value_or(m.bias);
  m.dropout = r.in_range(*t, "dropout", "model", m.dropout, 0.0, 0.9);
  m.mlp = r.boolean(*t, "mlp", "model").value_or(m.mlp);
  if (t->contains("embedding_init_std"))
    m.embedding_init_std = r.in_range(*t, "embedding_init_std", "model", m.embedding_init_std, 1e-6, 10.0);
  resolve_task_model([&](const toml::table&, std::string_view) { return r; }, t, s);

  bool explicit_shape = t->contains("n_layer") || t->contains("d_model") || t->contains("n_head");
  if (t->contains("params")) {
    if (explicit_shape)
      r.fail(t->get("params"), "model.params", "give either params (with the shape rule) or n_layer/d_model/n_head, not both");
    trainer::ShapeRule rule;
    rule.aspect_ratio = r.positive(*t, "aspect_ratio", "model", rule.aspect_ratio);
    rule.head_dim = static_cast<int>(r.positive_int(*t, "head_dim", "model", rule.head_dim));
    double target = r.positive(*t, "params", "model", 0);
    m = trainer::shape_for_params(target, rule, m);
    return;
  }
  for (auto k : {"aspect_ratio", "head_dim"})
    if (t->contains(k)) r.fail(t->get(k), join_key("model", k), "only used with model.params (the shape rule)");
  for (auto k : {"n_layer", "d_model", "n_head"})
    if (!t->contains(k)) r.fail(t, join_key("model", k), "missing; expected a positive integer (or give model.params)");
  m.n_layer = static_cast<int>(r.positive_int(*t, "n_layer", "model", 0));
  m.d_model = static_cast<int>(r.positive_int(*t, "d_model", "model", 0));
  m.n_head = static_cast<int>(r.positive_int(*t, "n_head", "model", 0));
  if (m.d_model % m.n_head)
    r.fail(t->get("n_head"), "model.n_head",
           fmt::format("d_model ({}) must be divisible by n_head ({})", m.d_model, m.n_head));
}

void read_train(const TomlReader& r, const toml::table& root, RunSpec& s) {
  auto* t = r.table(root, "train", "");
  if (!t) r.fail(nullptr, "train", "missing table; expected [train] with at least tokens");
  r.only_keys(*t, "train", {"tokens", "batch_tokens", "micro_batch", "lr", "beta1", "beta2", "eps", "weight_decay",
                            "grad_clip", "seed", "schedule", "warmup_fraction", "warmup_steps", "min_lr_ratio",
                            "decay_fraction", "embedding_weight_decay", "steps", "batch_items"});
  read_task_train([&](const toml::table&, std::string_view) { return r; }, t, s);
  if (!t->contains("tokens") && !t->contains("steps"))
    r.fail(t, "train.tokens", "missing; expected the training budget in tokens, e.g. 2e6");
  if (t->contains("tokens")) s.tokens = r.positive(*t, "tokens", "train", 0);
  s.batch_tokens = r.positive_int(*t, "batch_tokens", "train", s.batch_tokens);
  s.micro_batch = static_cast<int>(r.positive_int(*t, "micro_batch", "train", s.micro_batch));
  if (s.batch_tokens < s.model.seq_len)
    r.fail(t->get("batch_tokens"), "train.batch_tokens",
           fmt::format("must be at least one sequence (model.seq_len = {}), got {}", s.model.seq_len, s.batch_tokens));
  if (s.batch_tokens % s.model.seq_len)
    r.fail(t->get("batch_tokens"), "train.batch_tokens",
           fmt::format("must be a multiple of model.seq_len ({}), got {}", s.model.seq_len, s.batch_tokens));
  if (s.tokens < static_cast<double>(s.batch_tokens))
    r.fail(t->get("tokens"), "train.tokens",
           fmt::format("budget {} is less than one batch (train.batch_tokens = {})", s.tokens, s.batch_tokens));
  auto& o = s.optim;
  o.lr = r.positive(*t, "lr", "train", o.lr);
  o.beta1 = r.in_range(*t, "beta1", "train", o.beta1, 0.0, 0.999999);
  o.beta2 = r.in_range(*t, "beta2", "train", o.beta2, 0.0, 0.999999);
  o.eps = r.positive(*t, "eps", "train", o.eps);
  o.weight_decay = r.in_range(*t, "weight_decay", "train", o.weight_decay, 0.0, 10.0);
  o.grad_clip = r.in_range(*t, "grad_clip", "train", o.grad_clip, 0.0, 1e6);
  o.embedding_weight_decay = r.in_range(*t, "embedding_weight_decay", "train", o.embedding_weight_decay, 0.0, 10.0);
  auto seed = r.integer(*t, "seed", "train");
  if (seed && *seed < 0) r.fail(t->get("seed"), "train.seed", "expected a non-negative integer");
  s.seed = static_cast<std::uint64_t>(seed.value_or(static_cast<std::int64_t>(s.seed)));
  auto& sc = s.schedule;
  sc.kind = r.one_of(*t, "schedule", "train", sc.kind, {"cosine", "wsd", "constant"});
  sc.warmup_fraction = r.in_range(*t, "warmup_fraction", "train", sc.warmup_fraction, 0.0, 0.5);
  auto ws = r.integer(*t, "warmup_steps", "train");
  // -1 is what canonical_toml writes for "derive from warmup_fraction".
  if (ws && *ws < -1) r.fail(t->get("warmup_steps"), "train.warmup_steps", "expected a non-negative integer (or -1 for warmup_fraction)");
  sc.warmup_steps = ws.value_or(sc.warmup_steps);
  sc.min_lr_ratio = r.in_range(*t, "min_lr_ratio", "train", sc.min_lr_ratio, 0.0, 1.0);
  sc.decay_fraction = r.in_range(*t, "decay_fraction", "train", sc.decay_fraction, 0.0, 1.0);
}

void read_eval(const TomlReader& r, const toml::table& root, RunSpec& s) {
  if (auto* t = r.table(root, "eval", "")) {
    r.only_keys(*t, "eval", {"every", "batches", "log_every", "task_every"});
    if (t->contains("task_every") && s.task.name.empty())
      r.fail(t->get("task_every"), "eval.task_every", "needs a [task] table naming the task to evaluate");
    s.task_every = static_cast<int>(r.positive_int(*t, "task_every", "eval", s.task_every));
    s.eval_every = static_cast<int>(r.positive_int(*t, "every", "eval", s.eval_every));
    s.eval_batches = static_cast<int>(r.positive_int(*t, "batches", "eval", s.eval_batches));
    s.log_every = static_cast<int>(r.positive_int(*t, "log_every", "eval", s.log_every));
  }
  if (auto* t = r.table(root, "checkpoint", "")) {
    r.only_keys(*t, "checkpoint", {"every"});
    s.checkpoint_every = static_cast<int>(r.positive_int(*t, "every", "checkpoint", s.checkpoint_every));
  }
  if (auto* t = r.table(root, "flops", "")) {
    r.only_keys(*t, "flops", {"convention", "params"});
    if (auto c = r.string(*t, "convention", "flops")) {
      try {
        s.flop_convention = trainer::canonical_flop_convention(*c);
      } catch (const UserError& e) {
        r.fail(t->get("convention"), "flops.convention", e.what());
      }
    }
    s.param_convention = r.one_of(*t, "params", "flops", s.param_convention, {"non_embedding", "total"});
  }
}

// A TOML basic string: quotes, backslashes and control characters escaped.
std::string toml_quote(const std::string& v) {
  std::string out = "\"";
  for (unsigned char c : v) {
    if (c == '"' || c == '\\') out += '\\', out += static_cast<char>(c);
    else if (c < 0x20 || c == 0x7f) out += fmt::format("\\u{:04X}", c);
    else out += static_cast<char>(c);
  }
  return out + "\"";
}

}  // namespace

RunConfig parse_run_config(std::string_view text, const std::string& source, bool check_data) {
  auto root = TomlReader::parse_text(text, source);
    TomlReader r(source);
    r.only_keys(root, "", {"name", "data", "model", "train", "eval", "checkpoint", "flops", "task"});
    RunConfig rc;
    rc.name = r.string(root, "name", "").value_or("");
    read_data(r, root, rc.spec, check_data);
    read_task([&](const toml::table&, std::string_view) { return r; }, root, rc.spec);
    read_model(r, root, rc.spec);
    read_train(r, root, rc.spec);
    read_eval(r, root, rc.spec);
    return rc;
}

RunConfig load_run_config(const std::string& path) {
  std::ifstream in(path);
  if (!fs::is_regular_file(path) || !in) user_error("{}: cannot read file; expected a TOML run config", path);
  std::stringstream text;
  text << in.rdbuf();
  return parse_run_config(text.str(), path);
}

std::string canonical_toml(const RunConfig& rc) {
  const auto& s = rc.spec;
  const auto& m = s.model;
  // Doubles are printed with {:.17g} so the text round-trips exactly.
  return fmt::format(
      "[data]\nkind = \"{}\"\npath = {}\nval_fraction = {:.17g}\n\n"
      "[model]\nn_layer = {}\nd_model = {}\nn_head = {}\nseq_len = {}\nvocab = {}\n"
      "tie_embeddings = {}\nbias = {}\ndropout = {:.17g}\n{}\n"
      "[train]\ntokens = {:.17g}\nbatch_tokens = {}\nmicro_batch = {}\nlr = {:.17g}\nbeta1 = {:.17g}\n"
      "beta2 = {:.17g}\neps = {:.17g}\nweight_decay = {:.17g}\ngrad_clip = {:.17g}\nseed = {}\n"
      "schedule = \"{}\"\nwarmup_fraction = {:.17g}\nwarmup_steps = {}\nmin_lr_ratio = {:.17g}\n"
      "decay_fraction = {:.17g}\n{}\n"
      "[eval]\nevery = {}\nbatches = {}\nlog_every = {}\n{}\n[checkpoint]\nevery = {}\n\n"
      "[flops]\nconvention = \"{}\"\nparams = \"{}\"\n{}",
      s.data.kind, toml_quote(s.data.path), s.data.val_fraction, m.n_layer, m.d_model, m.n_head,
      m.seq_len, m.vocab, m.tie_embeddings, m.bias, m.dropout, task_model_toml(s), s.tokens, s.batch_tokens, s.micro_batch,
      s.optim.lr, s.optim.beta1, s.optim.beta2, s.optim.eps, s.optim.weight_decay, s.optim.grad_clip, s.seed,
      s.schedule.kind, s.schedule.warmup_fraction, s.schedule.warmup_steps, s.schedule.min_lr_ratio,
      s.schedule.decay_fraction, task_train_toml(s), s.eval_every, s.eval_batches, s.log_every, task_eval_toml(s),
      s.checkpoint_every, s.flop_convention, s.param_convention, task_toml(s));
}

std::string run_id(const RunConfig& rc) { return hex64(fnv1a64(canonical_toml(rc))); }

store::Run run_record(const RunConfig& rc, const std::string& sweep_id) {
  const auto& s = rc.spec;
  auto counts = trainer::count_params(s.model);
  store::Run r;
  r.config_toml = canonical_toml(rc);
  r.config_hash = hex64(fnv1a64(r.config_toml));
  r.id = r.config_hash;
  r.sweep_id = sweep_id;
  r.name = rc.name.empty() ? trainer::shape_name(s.model) : rc.name;
  r.shape = trainer::shape_name(s.model);
  r.n_layer = s.model.n_layer;
  r.d_model = s.model.d_model;
  r.n_head = s.model.n_head;
  r.seq_len = s.model.seq_len;
  r.vocab = s.model.vocab;
  r.params_total = counts.total;
  r.params_non_embedding = counts.non_embedding;
  r.flops_per_token = trainer::flops_per_token(s.model, s.flop_convention, s.param_convention);
  r.flop_convention = s.flop_convention + "/" + s.param_convention;
  r.planned_tokens = static_cast<double>(trainer::total_steps(s)) * static_cast<double>(s.batch_tokens);
  return r;
}

}  // namespace scalelab::sweep
