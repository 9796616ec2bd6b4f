#pragma once
// The [task] table and the keys that depend on it, read the same way by run
// configs and sweep configs (each passes a function giving the TomlReader that
// names the file a key came from). docs/emergence.md lists the keys.
#include <functional>
#include <string>
#include <string_view>

#include "sweep/toml_reader.h"
#include "trainer/trainer.h"

namespace scalelab::sweep {

using ReaderFor = std::function<TomlReader(const toml::table&, std::string_view)>;

// Reads [task] (if present) into s.task and builds the task once, so an unknown
// task or an impossible setting fails here with FILE:LINE. Call after [data].
void read_task(const ReaderFor& at, const toml::table& root, trainer::RunSpec& s);

// [model] seq_len / vocab: for task data they default to the task's item length
// and vocabulary, and must hold them when given.
void resolve_task_model(const ReaderFor& at, const toml::table* model, trainer::RunSpec& s);

// [train] steps / batch_items (task data): batch_tokens = batch_items * seq_len and
// tokens = steps * batch_tokens; micro_batch defaults to batch_items.
void read_task_train(const ReaderFor& at, const toml::table* train, trainer::RunSpec& s);

// The lines canonical_toml adds for the task and the new model/train keys, only
// when they differ from the defaults, so runs configured before them keep their ids.
std::string task_model_toml(const trainer::RunSpec& s);
std::string task_train_toml(const trainer::RunSpec& s);
std::string task_eval_toml(const trainer::RunSpec& s);
std::string task_toml(const trainer::RunSpec& s);


}  // namespace scalelab::sweep
