// Layered sweep configs (docs/sweeps.md, "Layering"): each file's keys checked
// where they are written, then the layers merged, bases first.
#include "sweep/sweep_layers.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "config/config.h"

namespace scalelab::sweep {

namespace fs = std::filesystem;
using config::TomlReader;
using config::join_key;

namespace {

// Checks the keys of one file before the layers are merged, so an unknown key is
// reported in the file that has it.
void check_file_keys(const TomlReader& r, const toml::table& root) {
  r.only_keys(root, "", {"name", "extends", "mode", "data", "model", "train", "eval", "checkpoint", "flops", "axes",
                         "isoflop", "ladder", "filters", "execution", "task", "lr_rule"});
  if (auto* t = r.table(root, "lr_rule", "")) r.only_keys(*t, "lr_rule", {"c", "k", "fit"});
  for (auto name : config::tables())
    if (auto* t = r.table(root, name, "")) r.only_keys(*t, name, config::key_names(name));
  if (auto* t = r.table(root, "isoflop", ""))
    r.only_keys(*t, "isoflop", {"sizes", "span", "tokens_per_param", "tolerance"});
  if (auto* t = r.table(root, "ladder", "")) r.only_keys(*t, "ladder", {"trunk_tokens_per_param"});
  if (auto* t = r.table(root, "filters", ""))
    r.only_keys(*t, "filters",
                {"min_steps", "max_est_runtime", "min_tokens_per_param", "max_tokens_per_param", "max_epochs"});
  if (auto* t = r.table(root, "execution", ""))
    r.only_keys(*t, "execution", {"jobs", "threads_per_job", "devices", "runs_per_device", "retries", "lease_ttl",
                                  "runs_dir", "peak_tflops", "gpu_memory_fraction", "cuda_graphs"});
  auto* axes = r.table(root, "axes", "");
  if (!axes) return;
  r.only_keys(*axes, "axes", {"params", "tokens", "compute", "lr", "seed", "d_model", "n_layer", "train_fraction"});
  // Log-ranges are small tables of their own.
  for (auto&& [k, v] : *axes) {
    auto* t = v.as_table();
    if (!t) continue;
    auto key = join_key("axes", k.str());
    if (k.str() != "tokens") {
      r.only_keys(*t, key, {"min", "max", "points"});
    } else if (t->contains("per_param")) {
      r.only_keys(*t, key, {"per_param"});
      if (auto* pp = (*t)["per_param"].as_table()) r.only_keys(*pp, key + ".per_param", {"min", "max", "points"});
    } else {
      r.only_keys(*t, key, {"min", "max", "points", "per_param"});
    }
  }
}

// Moves node `v` into table `dst` under `key`; moving keeps its source position.
void put(toml::table& dst, std::string_view key, toml::node&& v) {
  std::move(v).visit([&](auto&& x) { dst.insert_or_assign(key, std::move(x)); });
}

// Later layers win key by key; tables merge recursively except the axes, which
// a layer replaces whole (a base's {min, max} must not mix with a child's list),
// and lr_rule, likewise (a base's c, k must not mix with a child's fit = ID).
void merge_into(toml::table& dst, toml::table&& src, std::string_view prefix) {
  for (auto&& [k, v] : src) {
    auto* d = dst.get(k.str());
    const bool whole = prefix == "axes" || (prefix.empty() && k.str() == "lr_rule");
    if (d && d->is_table() && v.is_table() && !whole)
      merge_into(*d->as_table(), std::move(*v.as_table()), join_key(prefix, k.str()));
    else
      put(dst, k.str(), std::move(v));
  }
}

}  // namespace

std::string file_of(const toml::node& n, const std::string& fallback) {
  const auto& p = n.source().path;
  return p ? *p : fallback;
}

std::string where(const toml::node& n, const std::string& fallback) {
  auto line = n.source().begin.line;
  return line > 0 ? fmt::format("{}:{}", file_of(n, fallback), line) : file_of(n, fallback);
}

// Parses `path` and every file it extends into one table, bases first.
toml::table load_layers(const std::string& path, std::vector<std::string>& chain, std::vector<std::string>& files) {
  auto root = TomlReader::parse_file(path);
  TomlReader r(path);
  check_file_keys(r, root);
  chain.push_back(fs::weakly_canonical(path).string());
  std::vector<std::string> bases;
  if (auto* e = root.get("extends")) {
    auto add = [&](const toml::node& n) {
      if (!n.is_string() || n.value<std::string>()->empty())
        r.fail(&n, "extends", "expected a file name or a list of file names");
      bases.push_back(*n.value<std::string>());
    };
    if (auto* arr = e->as_array()) {
      for (auto& n : *arr) add(n);
    } else {
      add(*e);
    }
    for (auto& b : bases) {
      fs::path bp = fs::path(path).parent_path() / b;
      if (!fs::is_regular_file(bp))
        r.fail(e, "extends", fmt::format("no such file {}; paths are relative to the directory of {}", bp.string(), path));
      if (std::find(chain.begin(), chain.end(), fs::weakly_canonical(bp).string()) != chain.end())
        r.fail(e, "extends", fmt::format("{} is already being extended; a base cannot extend itself", bp.string()));
    }
  }
  toml::table merged;
  for (auto& b : bases) {
    auto base = load_layers((fs::path(path).parent_path() / b).lexically_normal().string(), chain, files);
    merge_into(merged, std::move(base), "");
  }
  chain.pop_back();
  root.erase("extends");
  merge_into(merged, std::move(root), "");
  files.push_back(path);
  return merged;
}

}  // namespace scalelab::sweep
