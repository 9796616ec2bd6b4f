#pragma once
// The [task] table and the keys that depend on it, read the same way by run
// configs and sweep configs (each passes a function giving the TomlReader that
// names the file a key came from). The keys are rows of config/keys.cpp;
// docs/emergence.md describes them.
#include <string>
#include <string_view>

#include "config/config.h"
#include "trainer/trainer.h"

namespace scalelab::sweep {

using config::ReaderFor;
using config::TomlReader;
using config::join_key;

// Reads [task] (if present) into s.task and builds the task once, so an unknown
// task or an impossible setting fails here with FILE:LINE. Call after [data].
void read_task(const ReaderFor& at, const toml::table& root, trainer::RunSpec& s);

// [model] seq_len / vocab: for task data they default to the task's item length
// and vocabulary, and must hold them when given.
void resolve_task_model(const ReaderFor& at, const toml::table* model, trainer::RunSpec& s);

// [train] steps / batch_items (task data): batch_tokens = batch_items * seq_len and
// tokens = steps * batch_tokens; micro_batch defaults to batch_items.
void read_task_train(const ReaderFor& at, const toml::table* train, trainer::RunSpec& s);

}  // namespace scalelab::sweep
