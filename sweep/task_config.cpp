#include "sweep/task_config.h"

#include <fmt/format.h>

#include <map>
#include <set>

#include "common/error.h"

namespace scalelab::sweep {

namespace {

// The keys each task uses besides name, test_items and seed.
const std::map<std::string, std::set<std::string>>& task_keys() {
  static const std::map<std::string, std::set<std::string>> keys{
      {"addition", {"digits", "reverse"}},
      {"induction", {"alphabet", "segment", "length"}},
      {"modular", {"p", "op", "train_fraction"}},
      {"sparse_parity", {"subtasks", "bits", "k", "alpha"}}};
  return keys;
}

int int_key(const ReaderFor& at, const toml::table& t, std::string_view k, int fb) {
  auto v = at(t, k).integer(t, k, "task");
  if (v && (*v < -1000000000 || *v > 1000000000)) at(t, k).fail(t.get(k), join_key("task", k), "out of range");
  return v ? static_cast<int>(*v) : fb;
}

}  // namespace

void read_task(const ReaderFor& at, const toml::table& root, trainer::RunSpec& s) {
  auto* t = at(root, "task").table(root, "task", "");
  if (!t) {
    if (s.data.kind == "task")
      at(root, "data").fail(root.get("data"), "data.kind", "\"task\" needs a [task] table naming the task");
    return;
  }
  std::initializer_list<std::string_view> all{"name", "digits", "reverse", "alphabet", "segment", "length", "p", "op",
                                              "train_fraction", "subtasks", "bits", "k", "alpha", "test_items", "seed"};
  at(*t, "").only_keys(*t, "task", all);
  auto& c = s.task;
  auto name = at(*t, "name").string(*t, "name", "task");
  if (!name) at(*t, "name").fail(t, "task.name", "missing; expected addition, induction, modular or sparse_parity");
  c.name = *name;
  auto keys = task_keys().find(c.name);
  if (keys == task_keys().end())
    at(*t, "name").fail(t->get("name"), "task.name",
                        fmt::format("unknown task '{}'; expected addition, induction, modular or sparse_parity", c.name));
  for (auto&& [k, v] : *t) {
    const std::string key(k.str());
    if (key != "name" && key != "test_items" && key != "seed" && !keys->second.count(key))
      at(*t, key).fail(&v, join_key("task", key), fmt::format("not used by the {} task", c.name));
  }
  c.digits = int_key(at, *t, "digits", c.digits);
  c.reverse = at(*t, "reverse").boolean(*t, "reverse", "task").value_or(c.reverse);
  c.alphabet = int_key(at, *t, "alphabet", c.alphabet);
  c.segment = int_key(at, *t, "segment", c.segment);
  c.length = int_key(at, *t, "length", c.length);
  c.p = int_key(at, *t, "p", c.p);
  c.op = at(*t, "op").string(*t, "op", "task").value_or(c.op);
  c.train_fraction = at(*t, "train_fraction").number(*t, "train_fraction", "task").value_or(c.train_fraction);
  c.subtasks = int_key(at, *t, "subtasks", c.subtasks);
  c.bits = int_key(at, *t, "bits", c.bits);
  c.k = int_key(at, *t, "k", c.k);
  c.alpha = at(*t, "alpha").number(*t, "alpha", "task").value_or(c.alpha);
  c.test_items = int_key(at, *t, "test_items", c.test_items);
  auto seed = at(*t, "seed").integer(*t, "seed", "task");
  if (seed && *seed < 0) at(*t, "seed").fail(t->get("seed"), "task.seed", "expected a non-negative integer");
  c.seed = static_cast<std::uint64_t>(seed.value_or(static_cast<std::int64_t>(c.seed)));
  std::unique_ptr<const tasks::Task> task;
  try {
    task = tasks::Task::make(c);
  } catch (const UserError& e) {
    // Messages read "task.KEY: what"; point at KEY's line.
    std::string msg = e.what(), key = "task.name";
    if (msg.rfind("task.", 0) == 0 && msg.find(':') != std::string::npos) {
      key = msg.substr(0, msg.find(':'));
      msg = msg.substr(msg.find(':') + 2);
    }
    const std::string leaf = key.substr(5);
    const toml::node* n = t->get(leaf);
    at(*t, leaf).fail(n ? n : t, key, msg);
  }
  if (s.data.kind != "task" && (s.data.kind != "text" || !task->single_char_symbols()))
    at(*t, "name").fail(t->get("name"), "task.name",
                        fmt::format("the {} task cannot be evaluated on {} data: only tasks written in single "
                                    "characters (addition, induction, sparse_parity) can be posed to a byte-level "
                                    "text model; set data.kind = \"task\" to train on it",
                                    c.name, s.data.kind));
}

void resolve_task_model(const ReaderFor& at, const toml::table* model, trainer::RunSpec& s) {
  if (s.data.kind != "task") return;
  auto task = tasks::Task::make(s.task);
  const int need_len = task->length() - 1;
  auto given = [&](std::string_view k) { return model && model->contains(k); };
  if (!given("seq_len")) s.model.seq_len = need_len;
  if (!given("vocab")) s.model.vocab = task->vocab();
  if (s.model.seq_len < need_len)
    at(*model, "seq_len").fail(model->get("seq_len"), "model.seq_len",
                               fmt::format("the {} items need at least {} positions, got {} (leave it out to use "
                                           "the task's length)",
                                           task->name(), need_len, s.model.seq_len));
  if (s.model.vocab < task->vocab())
    at(*model, "vocab").fail(model->get("vocab"), "model.vocab",
                             fmt::format("the {} task has {} tokens, got {} (leave it out to use the task's)",
                                         task->name(), task->vocab(), s.model.vocab));
}

void read_task_train(const ReaderFor& at, const toml::table* t, trainer::RunSpec& s) {
  if (!t) return;
  for (auto k : {"steps", "batch_items"})
    if (t->contains(k) && s.data.kind != "task")
      at(*t, k).fail(t->get(k), join_key("train", k), "only used with data.kind = \"task\" (else give tokens and "
                                                       "batch_tokens)");
  if (s.data.kind != "task") return;
  if (t->contains("batch_items")) {
    if (t->contains("batch_tokens"))
      at(*t, "batch_items").fail(t->get("batch_items"), "train.batch_items", "give batch_items or batch_tokens, not both");
    auto items = at(*t, "batch_items").positive_int(*t, "batch_items", "train", 1);
    s.batch_tokens = items * s.model.seq_len;
    if (!t->contains("micro_batch")) s.micro_batch = static_cast<int>(items);
  }
  if (t->contains("steps")) {
    if (t->contains("tokens"))
      at(*t, "steps").fail(t->get("steps"), "train.steps", "give steps or tokens, not both");
    s.tokens = double(at(*t, "steps").positive_int(*t, "steps", "train", 1)) * double(s.batch_tokens);
  }
}

std::string task_model_toml(const trainer::RunSpec& s) {
  std::string out;
  if (!s.model.mlp) out += "mlp = false\n";
  if (s.model.embedding_init_std != trainer::ModelConfig{}.embedding_init_std)
    out += fmt::format("embedding_init_std = {:.17g}\n", s.model.embedding_init_std);
  return out;
}

std::string task_train_toml(const trainer::RunSpec& s) {
  if (s.optim.embedding_weight_decay == 0) return "";
  return fmt::format("embedding_weight_decay = {:.17g}\n", s.optim.embedding_weight_decay);
}

std::string task_eval_toml(const trainer::RunSpec& s) {
  return s.task_every > 0 ? fmt::format("task_every = {}\n", s.task_every) : "";
}

std::string task_toml(const trainer::RunSpec& s) {
  const auto& c = s.task;
  if (c.name.empty()) return "";
  std::string out = fmt::format("\n[task]\nname = \"{}\"\n", c.name);
  if (c.name == "addition") out += fmt::format("digits = {}\nreverse = {}\n", c.digits, c.reverse);
  if (c.name == "induction")
    out += fmt::format("alphabet = {}\nsegment = {}\nlength = {}\n", c.alphabet, c.segment, c.length);
  if (c.name == "modular")
    out += fmt::format("p = {}\nop = \"{}\"\ntrain_fraction = {:.17g}\n", c.p, c.op, c.train_fraction);
  if (c.name == "sparse_parity")
    out += fmt::format("subtasks = {}\nbits = {}\nk = {}\nalpha = {:.17g}\n", c.subtasks, c.bits, c.k, c.alpha);
  out += fmt::format("test_items = {}\nseed = {}\n", c.test_items, c.seed);
  return out;
}

}  // namespace scalelab::sweep
