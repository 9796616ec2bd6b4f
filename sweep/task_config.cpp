#include "sweep/task_config.h"

#include <fmt/format.h>

#include "common/error.h"

namespace scalelab::sweep {

void read_task(const ReaderFor& at, const toml::table& root, trainer::RunSpec& s) {
  auto* t = at(root, "task").table(root, "task", "");
  if (!t) {
    if (s.data.kind == "task")
      at(root, "data").fail(root.get("data"), "data.kind", "\"task\" needs a [task] table naming the task");
    return;
  }
  at(*t, "").only_keys(*t, "task", config::key_names("task"));
  auto& c = s.task;
  auto name = at(*t, "name").string(*t, "name", "task");
  if (!name) at(*t, "name").fail(t, "task.name", "missing; expected addition, induction, modular or sparse_parity");
  c.name = *name;
  if (c.name != "addition" && c.name != "induction" && c.name != "modular" && c.name != "sparse_parity")
    at(*t, "name").fail(t->get("name"), "task.name",
                        fmt::format("unknown task '{}'; expected addition, induction, modular or sparse_parity", c.name));
  for (auto&& [k, v] : *t) {
    const std::string key(k.str());
    auto used = config::key("task", key).task;
    if (!used.empty() && used != c.name)
      at(*t, key).fail(&v, join_key("task", key), fmt::format("not used by the {} task", c.name));
  }
  config::read_plain(at, *t, "task", s);
  std::shared_ptr<const tasks::Task> task;
  try {
    task = tasks::Task::shared(c);
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
  auto task = tasks::Task::shared(s.task);
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
    auto items = static_cast<std::int64_t>(config::number(at(*t, "batch_items"), *t, "train", "batch_items", 1));
    s.batch_tokens = items * s.model.seq_len;
    if (!t->contains("micro_batch")) s.micro_batch = static_cast<int>(items);
  }
  if (t->contains("steps")) {
    if (t->contains("tokens"))
      at(*t, "steps").fail(t->get("steps"), "train.steps", "give steps or tokens, not both");
    s.tokens = config::number(at(*t, "steps"), *t, "train", "steps", 1) * double(s.batch_tokens);
  }
}

}  // namespace scalelab::sweep
