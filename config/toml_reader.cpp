#include "config/toml_reader.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <vector>

#include "common/error.h"

namespace scalelab::config {

namespace {

std::string describe(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string: return fmt::format("the string \"{}\"", *n.value<std::string>());
    case toml::node_type::integer: return fmt::format("{}", *n.value<std::int64_t>());
    case toml::node_type::floating_point: return fmt::format("{}", *n.value<double>());
    case toml::node_type::boolean: return *n.value<bool>() ? "true" : "false";
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    default: return "a date/time";
  }
}

// Levenshtein distance, for "did you mean" on misspelt keys.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

std::string join_key(std::string_view prefix, std::string_view key) {
  return prefix.empty() ? std::string(key) : fmt::format("{}.{}", prefix, key);
}

toml::table TomlReader::parse_file(const std::string& path) {
  if (!std::filesystem::exists(path)) user_error("{}: no such file; expected a TOML config", path);
  try {
    return toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    user_error("{}:{}: invalid TOML: {}", path, e.source().begin.line, e.description());
  }
}

toml::table TomlReader::parse_text(std::string_view text, const std::string& source_name) {
  try {
    return toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    user_error("{}:{}: invalid TOML: {}", source_name, e.source().begin.line, e.description());
  }
}

void TomlReader::fail(const toml::node* at, std::string_view key, std::string_view what) const {
  if (at && at->source().begin.line > 0)
    user_error("{}:{}: {}: {}", source_, at->source().begin.line, key, what);
  user_error("{}: {}: {}", source_, key, what);
}

void TomlReader::only_keys(const toml::table& t, std::string_view prefix,
                           const std::vector<std::string_view>& allowed) const {
  for (auto&& [k, v] : t) {
    bool ok = false;
    std::string_view best;
    std::size_t best_d = 3;  // suggest only near misses
    for (auto a : allowed) {
      if (a == k.str()) ok = true;
      auto d = edit_distance(a, k.str());
      if (d < best_d) best_d = d, best = a;
    }
    if (ok) continue;
    std::string hint = best.empty() ? "" : fmt::format(" (did you mean '{}'?)", best);
    std::string list;
    for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
    fail(&v, join_key(prefix, k.str()), fmt::format("unknown key{}; expected one of: {}", hint, list));
  }
}

const toml::table* TomlReader::table(const toml::table& t, std::string_view key,
                                     std::string_view prefix) const {
  auto* n = t.get(key);
  if (!n) return nullptr;
  if (!n->is_table()) fail(n, join_key(prefix, key), fmt::format("expected a table, got {}", describe(*n)));
  return n->as_table();
}

std::optional<double> TomlReader::number(const toml::table& t, std::string_view key,
                                         std::string_view prefix) const {
  auto* n = t.get(key);
  if (!n) return std::nullopt;
  if (!n->is_number()) fail(n, join_key(prefix, key), fmt::format("expected a number, got {}", describe(*n)));
  double v = *n->value<double>();
  if (!std::isfinite(v)) fail(n, join_key(prefix, key), "expected a finite number");
  return v;
}

std::optional<std::int64_t> TomlReader::integer(const toml::table& t, std::string_view key,
                                                std::string_view prefix) const {
  auto* n = t.get(key);
  if (!n) return std::nullopt;
  if (n->is_integer()) return *n->value<std::int64_t>();
  // Budgets are often written 2e6; accept floats that are whole numbers.
  if (n->is_floating_point()) {
    double v = *n->value<double>();
    if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 9e18) return static_cast<std::int64_t>(v);
  }
  fail(n, join_key(prefix, key), fmt::format("expected an integer, got {}", describe(*n)));
}

std::optional<std::string> TomlReader::string(const toml::table& t, std::string_view key,
                                              std::string_view prefix) const {
  auto* n = t.get(key);
  if (!n) return std::nullopt;
  if (!n->is_string()) fail(n, join_key(prefix, key), fmt::format("expected a string, got {}", describe(*n)));
  return *n->value<std::string>();
}

std::optional<bool> TomlReader::boolean(const toml::table& t, std::string_view key,
                                        std::string_view prefix) const {
  auto* n = t.get(key);
  if (!n) return std::nullopt;
  if (!n->is_boolean()) fail(n, join_key(prefix, key), fmt::format("expected true or false, got {}", describe(*n)));
  return *n->value<bool>();
}

double TomlReader::positive(const toml::table& t, std::string_view key, std::string_view prefix,
                            double fallback) const {
  auto v = number(t, key, prefix);
  if (v && *v <= 0) fail(t.get(key), join_key(prefix, key), fmt::format("expected a positive number, got {}", *v));
  return v.value_or(fallback);
}

std::int64_t TomlReader::positive_int(const toml::table& t, std::string_view key, std::string_view prefix,
                                      std::int64_t fallback) const {
  auto v = integer(t, key, prefix);
  if (v && *v <= 0) fail(t.get(key), join_key(prefix, key), fmt::format("expected a positive integer, got {}", *v));
  return v.value_or(fallback);
}

double TomlReader::in_range(const toml::table& t, std::string_view key, std::string_view prefix,
                            double fallback, double lo, double hi) const {
  auto v = number(t, key, prefix);
  if (v && (*v < lo || *v > hi))
    fail(t.get(key), join_key(prefix, key), fmt::format("expected a number in [{}, {}], got {}", lo, hi, *v));
  return v.value_or(fallback);
}

std::string TomlReader::one_of(const toml::table& t, std::string_view key, std::string_view prefix,
                               std::string fallback, const std::vector<std::string_view>& choices) const {
  auto v = string(t, key, prefix);
  if (!v) return fallback;
  for (auto c : choices)
    if (c == *v) return *v;
  std::string list;
  for (auto c : choices) list += (list.empty() ? "\"" : ", \"") + std::string(c) + "\"";
  fail(t.get(key), join_key(prefix, key), fmt::format("expected one of {}, got \"{}\"", list, *v));
}

}  // namespace scalelab::config
