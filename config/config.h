#pragma once
// The run keys: ONE table (config/keys.cpp), one row per key, read by run
// configs and sweep configs alike and written back as the canonical TOML whose
// hash is a run's id. Two parsers with their own key lists drifted apart once
// (a sweep's embedding_weight_decay was accepted and never read); with one
// table a key is read, checked and hashed the same way everywhere.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/toml_reader.h"
#include "trainer/trainer.h"

namespace scalelab::config {

using Spec = trainer::RunSpec;
// Where a key's value lives in the spec; monostate for keys the caller turns into
// something else (model.params and the shape rule, train.steps, ...).
using Field = std::variant<std::monostate, int& (*)(Spec&), std::int64_t& (*)(Spec&), std::uint64_t& (*)(Spec&),
                           double& (*)(Spec&), bool& (*)(Spec&), std::string& (*)(Spec&)>;
using Value = std::variant<std::monostate, double, bool, std::string_view>;

enum class Check { Positive, PositiveInt, Range, Int, Number, OneOf, Bool, Text, Custom };
enum class Emit { Always, IfChanged, Never };  // IfChanged: keys added later, so older runs keep their ids

struct Key {
  std::string_view table, name;
  Field field;
  Check check = Check::Number;
  Value def;
  double lo = 0, hi = 0;                  // Range, Int: inclusive bounds
  std::string_view what;                  // Int: the message when out of bounds
  std::vector<std::string_view> choices;  // OneOf
  std::string (*normalise)(const std::string&) = nullptr;  // Custom: throws UserError
  std::string_view task;                  // [task] keys: the one task that uses it; "" for all
  Emit emit = Emit::Always;
  bool plain = true;  // false: the parsers read it themselves (it depends on other keys)
};

const std::vector<Key>& keys();  // in canonical order
const Key& key(std::string_view table, std::string_view name);
std::vector<std::string_view> key_names(std::string_view table);
std::vector<std::string_view> tables();  // the run tables, canonical order

// The spec every config starts from: each row's default.
Spec defaults();

// Gives the reader that names the file a key came from (sweep layers).
using ReaderFor = std::function<TomlReader(const toml::table&, std::string_view)>;

// Reads `name` from `t` into its field if present, checked by its row.
void read(const TomlReader& r, const toml::table& t, std::string_view table, std::string_view name, Spec& s);
// The checked value of a key without a field (the shape rule, train.steps, ...), or `fallback`.
double number(const TomlReader& r, const toml::table& t, std::string_view table, std::string_view name,
              double fallback);
// Reads every plain key of `table` present in `t`, in table order.
void read_plain(const ReaderFor& at, const toml::table& t, std::string_view table, Spec& s);

// Every emitted key, tables in order, doubles with 17 digits so the text round-trips.
std::string canonical_toml(const Spec& s);

// Rules across keys (config/rules.cpp), for run and sweep configs alike. A
// failure names the key it blames; the parser maps it to the file and line
// that set it, and `blame` does not return.
using Blame = std::function<void(std::string_view table, std::string_view key, const std::string& what)>;
void check_heads(const Spec&, const Blame&);   // d_model divisible by n_head
void check_batch(const Spec&, const Blame&);   // batch_tokens a positive multiple of seq_len
void check_budget(const Spec&, const Blame&);  // tokens at least one batch, at most kMaxSteps steps
void check_shape(const Spec&, const Blame&);   // at most trainer::kMaxParams parameters
void check_mup(const Spec&, const Blame&);     // trainer::parametrization_problem, on the final shape
void check_task_eval(bool task_every_given, const Spec&, const Blame&);  // eval.task_every needs [task]
// warmup_steps = -1 resolved from warmup_fraction, by the trainer's rule, so the
// canonical TOML (and the run id) names the schedule that runs, whether the run
// came from a run config or a sweep.
void resolve_warmup(Spec&, std::int64_t steps);

}  // namespace scalelab::config
