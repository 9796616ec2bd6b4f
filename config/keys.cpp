#include <fmt/format.h>

#include <stdexcept>

#include "config/config.h"

namespace scalelab::config {

namespace {

// A field accessor; the unary + turns the lambda into the function pointer a Field holds.
#define AT(member) +[](Spec& s) -> auto& { return s.member; }

constexpr double kIntMax = 9.2e18;

Key make(std::string_view table, std::string_view name, Field f, Check c, Value def) {
  Key k;
  k.table = table, k.name = name, k.field = f, k.check = c, k.def = def;
  return k;
}
Key positive(std::string_view t, std::string_view n, Field f, double def) { return make(t, n, f, Check::Positive, def); }
Key pos_int(std::string_view t, std::string_view n, Field f, double def) { return make(t, n, f, Check::PositiveInt, def); }
Key real(std::string_view t, std::string_view n, Field f, double def) { return make(t, n, f, Check::Number, def); }
Key flag(std::string_view t, std::string_view n, Field f, bool def) { return make(t, n, f, Check::Bool, def); }
Key text(std::string_view t, std::string_view n, Field f, std::string_view def) { return make(t, n, f, Check::Text, def); }
Key range(std::string_view t, std::string_view n, Field f, double def, double lo, double hi) {
  auto k = make(t, n, f, Check::Range, def);
  k.lo = lo, k.hi = hi;
  return k;
}
Key integer(std::string_view t, std::string_view n, Field f, double def, double lo, double hi, std::string_view what) {
  auto k = make(t, n, f, Check::Int, def);
  k.lo = lo, k.hi = hi, k.what = what;
  return k;
}
Key one_of(std::string_view t, std::string_view n, Field f, std::string_view def, std::vector<std::string_view> c) {
  auto k = make(t, n, f, Check::OneOf, def);
  k.choices = std::move(c);
  return k;
}
Key custom(std::string_view t, std::string_view n, Field f, std::string_view def, std::string (*fn)(const std::string&)) {
  auto k = make(t, n, f, Check::Custom, def);
  k.normalise = fn;
  return k;
}
// Modifiers of a row.
Key changed(Key k) { return k.emit = Emit::IfChanged, k; }
Key own(Key k) { return k.plain = false, k; }
Key input(Key k) { return k.emit = Emit::Never, k.plain = false, k; }  // turned into other fields
Key used_by(std::string_view task, Key k) { return k.task = task, k; }
Key task_int(std::string_view task, std::string_view n, Field f, double def) {
  return used_by(task, integer("task", n, f, def, -1e9, 1e9, "out of range"));
}

const std::vector<Key>& table() {
  static const std::vector<Key> rows{
      own(one_of("data", "kind", AT(data.kind), "text", {"text", "tokens", "task"})),
      own(text("data", "path", AT(data.path), "")),
      own(range("data", "val_fraction", AT(data.val_fraction), 0.01, 1e-4, 0.5)),

      own(pos_int("model", "n_layer", AT(model.n_layer), 4)),
      own(pos_int("model", "d_model", AT(model.d_model), 128)),
      own(pos_int("model", "n_head", AT(model.n_head), 4)),
      input(positive("model", "params", {}, 0)),
      input(positive("model", "aspect_ratio", {}, 32)),
      input(pos_int("model", "head_dim", {}, 32)),
      pos_int("model", "seq_len", AT(model.seq_len), 128),
      pos_int("model", "vocab", AT(model.vocab), 256),  // 50304 for tokens data, the task's for tasks
      flag("model", "tie_embeddings", AT(model.tie_embeddings), true),
      flag("model", "bias", AT(model.bias), true),
      range("model", "dropout", AT(model.dropout), 0.0, 0.0, 0.9),
      changed(flag("model", "mlp", AT(model.mlp), true)),
      changed(range("model", "embedding_init_std", AT(model.embedding_init_std), 0.02, 1e-6, 10.0)),
      // sp (0 = no base width) leaves a run's text, and so its id, as before these keys.
      changed(one_of("model", "parametrization", AT(model.parametrization), "sp", {"sp", "mup"})),
      changed(integer("model", "mup_base_width", AT(model.mup_base_width), 0, 1, 65536,
                      "expected a positive integer (the base model's d_model)")),

      positive("train", "tokens", AT(tokens), 1e6),
      pos_int("train", "batch_tokens", AT(batch_tokens), 4096),
      pos_int("train", "micro_batch", AT(micro_batch), 16),
      positive("train", "lr", AT(optim.lr), 1e-3),
      range("train", "beta1", AT(optim.beta1), 0.9, 0.0, 0.999999),
      range("train", "beta2", AT(optim.beta2), 0.95, 0.0, 0.999999),
      positive("train", "eps", AT(optim.eps), 1e-8),
      range("train", "weight_decay", AT(optim.weight_decay), 0.1, 0.0, 10.0),
      range("train", "grad_clip", AT(optim.grad_clip), 1.0, 0.0, 1e6),
      integer("train", "seed", AT(seed), 1, 0, kIntMax, "expected a non-negative integer"),
      one_of("train", "schedule", AT(schedule.kind), "cosine", {"cosine", "wsd", "constant"}),
      range("train", "warmup_fraction", AT(schedule.warmup_fraction), 0.02, 0.0, 0.5),
      // -1: derive the steps from warmup_fraction (what canonical_toml writes then).
      integer("train", "warmup_steps", AT(schedule.warmup_steps), -1, -1, kIntMax,
              "expected a non-negative integer (or -1 for warmup_fraction)"),
      range("train", "min_lr_ratio", AT(schedule.min_lr_ratio), 0.1, 0.0, 1.0),
      range("train", "decay_fraction", AT(schedule.decay_fraction), 0.2, 0.0, 1.0),
      changed(range("train", "embedding_weight_decay", AT(optim.embedding_weight_decay), 0.0, 0.0, 10.0)),
      input(pos_int("train", "steps", {}, 1)),
      input(pos_int("train", "batch_items", {}, 1)),

      pos_int("eval", "every", AT(eval_every), 100),
      pos_int("eval", "batches", AT(eval_batches), 8),
      pos_int("eval", "log_every", AT(log_every), 10),
      changed(pos_int("eval", "task_every", AT(task_every), 0)),  // 0: at eval.every
      changed(pos_int("eval", "final_tokens", AT(eval_final_tokens), 262144)),  // the last step's val pass

      pos_int("checkpoint", "every", AT(checkpoint_every), 500),

      custom("flops", "convention", AT(flop_convention), "6N+attn", trainer::canonical_flop_convention),
      one_of("flops", "params", AT(param_convention), "non_embedding", {"non_embedding", "total"}),

      own(text("task", "name", AT(task.name), "")),
      task_int("addition", "digits", AT(task.digits), 3),
      used_by("addition", flag("task", "reverse", AT(task.reverse), true)),
      task_int("induction", "alphabet", AT(task.alphabet), 16),
      task_int("induction", "segment", AT(task.segment), 12),
      task_int("induction", "length", AT(task.length), 40),
      task_int("modular", "p", AT(task.p), 97),
      used_by("modular", text("task", "op", AT(task.op), "+")),
      used_by("modular", real("task", "train_fraction", AT(task.train_fraction), 0.5)),
      task_int("sparse_parity", "subtasks", AT(task.subtasks), 8),
      task_int("sparse_parity", "bits", AT(task.bits), 24),
      task_int("sparse_parity", "k", AT(task.k), 3),
      used_by("sparse_parity", real("task", "alpha", AT(task.alpha), 1.4)),
      task_int("", "test_items", AT(task.test_items), 1000),
      integer("task", "seed", AT(task.seed), 1, 0, kIntMax, "expected a non-negative integer"),
  };
  return rows;
}

#undef AT

}  // namespace

const std::vector<Key>& keys() { return table(); }

const Key& key(std::string_view table_name, std::string_view name) {
  for (auto& k : table())
    if (k.table == table_name && k.name == name) return k;
  throw std::logic_error(fmt::format("no config key {}.{}", table_name, name));
}

std::vector<std::string_view> key_names(std::string_view table_name) {
  std::vector<std::string_view> out;
  for (auto& k : table())
    if (k.table == table_name) out.push_back(k.name);
  return out;
}

std::vector<std::string_view> tables() { return {"data", "model", "train", "eval", "checkpoint", "flops", "task"}; }

}  // namespace scalelab::config
