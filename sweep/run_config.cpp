#include "sweep/run_config.h"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/error.h"
#include "common/table.h"
#include "common/hash.h"
#include "sweep/task_config.h"
#include "trainer/bpb.h"

namespace scalelab::sweep {

namespace fs = std::filesystem;
using trainer::RunSpec;
using config::TomlReader;
using config::join_key;

namespace {

ReaderFor same_reader(const TomlReader& r) {
  return [&r](const toml::table&, std::string_view) { return r; };
}

// A cross-key rule's failure, at the key if the file sets it, else at its table.
config::Blame blame_in(const TomlReader& r, const toml::table& root) {
  return [&r, &root](std::string_view table, std::string_view key, const std::string& what) {
    const auto* t = root.get_as<toml::table>(table);
    const toml::node* at = t && t->get(key) ? t->get(key) : t;
    r.fail(at, join_key(table, key), what);
  };
}

void read_model(const TomlReader& r, const toml::table& root, RunSpec& s) {
  auto* t = r.table(root, "model", "");
  if (!t) r.fail(nullptr, "model", "missing table; expected [model] with n_layer/d_model/n_head or params");
  r.only_keys(*t, "model", config::key_names("model"));
  auto& m = s.model;
  if (s.data.kind != "text") m.vocab = 50304;
  config::read_plain(same_reader(r), *t, "model", s);
  check_vocab(r, *t, s);
  resolve_task_model(same_reader(r), t, s);

  bool explicit_shape = t->contains("n_layer") || t->contains("d_model") || t->contains("n_head");
  if (t->contains("params")) {
    if (explicit_shape)
      r.fail(t->get("params"), "model.params", "give either params (with the shape rule) or n_layer/d_model/n_head, not both");
    trainer::ShapeRule rule;
    rule.aspect_ratio = config::number(r, *t, "model", "aspect_ratio", rule.aspect_ratio);
    const double head_dim = config::number(r, *t, "model", "head_dim", rule.head_dim);
    if (head_dim > trainer::kMaxHeadDim)  // before the cast, which is undefined past INT_MAX
      r.fail(t->get("head_dim"), "model.head_dim", fmt::format("expected at most {:g}, got {:g}", trainer::kMaxHeadDim, head_dim));
    rule.head_dim = static_cast<int>(head_dim);
    const double target = config::number(r, *t, "model", "params", 0);
    try {
      m = trainer::shape_for_params(target, rule, m);
    } catch (const UserError& e) {
      r.fail(t->get("params"), "model.params", e.what());
    }
    return;
  }
  for (auto k : {"aspect_ratio", "head_dim"})
    if (t->contains(k)) r.fail(t->get(k), join_key("model", k), "only used with model.params (the shape rule)");
  for (auto k : {"n_layer", "d_model", "n_head"})
    if (!t->contains(k)) r.fail(t, join_key("model", k), "missing; expected a positive integer (or give model.params)");
  for (auto k : {"n_layer", "d_model", "n_head"}) config::read(r, *t, "model", k, s);
  config::check_heads(s, blame_in(r, root));
  config::check_shape(s, blame_in(r, root));
}

void read_train(const TomlReader& r, const toml::table& root, RunSpec& s) {
  auto* t = r.table(root, "train", "");
  if (!t) r.fail(nullptr, "train", "missing table; expected [train] with at least tokens");
  r.only_keys(*t, "train", config::key_names("train"));
  read_task_train(same_reader(r), t, s);
  if (!t->contains("tokens") && !t->contains("steps"))
    r.fail(t, "train.tokens", "missing; expected the training budget in tokens, e.g. 2e6");
  config::read_plain(same_reader(r), *t, "train", s);
  config::check_batch(s, blame_in(r, root));
  config::check_budget(s, blame_in(r, root));
  config::resolve_warmup(s, trainer::total_steps(s));
}

void read_eval(const TomlReader& r, const toml::table& root, RunSpec& s) {
  if (auto* t = r.table(root, "eval", "")) {
    r.only_keys(*t, "eval", config::key_names("eval"));
    config::check_task_eval(t->contains("task_every"), s, blame_in(r, root));
    config::read_plain(same_reader(r), *t, "eval", s);
  }
  for (auto name : {"checkpoint", "flops"})
    if (auto* t = r.table(root, name, "")) {
      r.only_keys(*t, name, config::key_names(name));
      config::read_plain(same_reader(r), *t, name, s);
    }
}

}  // namespace

void check_vocab(const TomlReader& r, const toml::table& model, const trainer::RunSpec& s) {
  const int vocab = s.model.vocab;
  if (s.data.kind == "text" && vocab < 256)
    r.fail(model.get("vocab"), "model.vocab", fmt::format("byte-level text needs vocab >= 256, got {}", vocab));
  if (vocab > 65536) r.fail(model.get("vocab"), "model.vocab", fmt::format("uint16 tokens need vocab <= 65536, got {}", vocab));
}

void read_data(const ReaderFor& at, const toml::table& t, RunSpec& s, bool check_data) {
  config::read(at(t, "kind"), t, "data", "kind", s);
  auto path = at(t, "path").string(t, "path", "data");
  if (s.data.kind == "task") {
    // The task generates the data; canonical_toml writes path = "".
    if (path && !path->empty()) at(t, "path").fail(t.get("path"), "data.path", "not used with kind = \"task\"; remove it");
    return;
  }
  if (!path || path->empty())
    at(t, "path").fail(&t, "data.path", s.data.kind == "text" ? "missing; expected the path of a UTF-8 text file"
                                                              : "missing; expected a directory with train.bin and val.bin");
  fs::path p = fs::absolute(*path).lexically_normal();
  s.data.path = p.string();
  config::read(at(t, "val_fraction"), t, "data", "val_fraction", s);
  if (!check_data) return;
  auto r = at(t, "path");
  if (s.data.kind == "text" && fs::is_directory(p))
    r.fail(t.get("path"), "data.path", fmt::format("{} is a directory; expected a UTF-8 text file (or kind = "
                                                   "\"tokens\" for a directory with train.bin and val.bin)", p.string()));
  if (s.data.kind == "text" && !fs::is_regular_file(p))
    r.fail(t.get("path"), "data.path", fmt::format("no such file {}; expected a UTF-8 text file "
                                                   "(try: scalelab data kjv --out {})", p.string(), *path));
  if (s.data.kind == "tokens")
    for (auto f : {"train.bin", "val.bin"})
      if (!fs::is_regular_file(p / f))
        r.fail(t.get("path"), "data.path", fmt::format("{} not found; expected nanoGPT-style train.bin and val.bin (uint16)",
                                                       (p / f).string()));
}

RunConfig parse_run_config(std::string_view text, const std::string& source, bool check_data) {
  auto root = TomlReader::parse_text(text, source);
    TomlReader r(source);
    r.only_keys(root, "", {"name", "data", "model", "train", "eval", "checkpoint", "flops", "task"});
    RunConfig rc;
    rc.spec = config::defaults();
    rc.name = r.string(root, "name", "").value_or("");
    if (int c = first_control(rc.name); c >= 0)
      r.fail(root.get("name"), "name", fmt::format("contains the control character 0x{:02x}; names are printed in "
                                                   "tables and shell commands", c));
    auto* data = r.table(root, "data", "");
    if (!data) r.fail(nullptr, "data", "missing table; expected [data] with kind and path");
    r.only_keys(*data, "data", config::key_names("data"));
    read_data(same_reader(r), *data, rc.spec, check_data);
    read_task(same_reader(r), root, rc.spec);
    read_model(r, root, rc.spec);
    config::check_mup(rc.spec, blame_in(r, root));  // on the final shape, however it was given
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

std::string canonical_toml(const RunConfig& rc) { return config::canonical_toml(rc.spec); }

std::string run_id(const RunConfig& rc) { return hex64(fnv1a64(canonical_toml(rc))); }

namespace {

// The tokenizer of a run's data and its splits' bytes per token, so its losses
// have bits per byte (docs/schema.md): text is read a byte per token; a tokens
// directory says in its meta.json (one without it, and task data, have none).
void set_tokenization(store::Run& r, const trainer::DataConfig& d) {
  if (d.kind == "text") {
    r.tokenizer = "bytes";
    r.bytes_per_token = r.train_bytes_per_token = 1.0;
  } else if (d.kind == "tokens") {
    if (auto meta = trainer::read_tokens_meta(d.path)) {
      r.tokenizer = meta->tokenizer_kind + ":" + meta->sha256.substr(0, 16);
      r.bytes_per_token = meta->val.bytes_per_token;
      r.train_bytes_per_token = meta->train.bytes_per_token;
    }
  }
}

}  // namespace

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
  set_tokenization(r, s.data);
  return r;
}

}  // namespace scalelab::sweep
