#include "config/config.h"

#include <fmt/format.h>

#include <type_traits>

#include "common/error.h"

namespace scalelab::config {

namespace {

using Got = std::variant<std::int64_t, double, bool, std::string>;

// The value of a present key, checked as its row says.
Got checked(const TomlReader& r, const toml::table& t, const Key& k) {
  const auto n = k.name;
  const auto t_name = k.table;
  switch (k.check) {
    case Check::Positive: return r.positive(t, n, t_name, 0);
    case Check::PositiveInt: return r.positive_int(t, n, t_name, 0);
    case Check::Range: return r.in_range(t, n, t_name, 0, k.lo, k.hi);
    case Check::Number: return *r.number(t, n, t_name);
    case Check::OneOf: return r.one_of(t, n, t_name, "", k.choices);
    case Check::Bool: return *r.boolean(t, n, t_name);
    case Check::Text: return *r.string(t, n, t_name);
    case Check::Int: {
      auto v = *r.integer(t, n, t_name);
      if (static_cast<double>(v) < k.lo || static_cast<double>(v) > k.hi) r.fail(t.get(n), join_key(t_name, n), k.what);
      return v;
    }
    case Check::Custom: {
      auto v = *r.string(t, n, t_name);
      try {
        return k.normalise(v);
      } catch (const UserError& e) {
        r.fail(t.get(n), join_key(t_name, n), e.what());
      }
    }
  }
  throw std::logic_error("unhandled check");
}

template <class T, class V>
void assign(T& field, const V& v) {
  if constexpr (std::is_same_v<T, std::string> == std::is_same_v<V, std::string>) field = static_cast<T>(v);
}

template <class T>
void assign_value(T& field, const Value& v) {
  std::visit([&](const auto& x) {
    using X = std::decay_t<decltype(x)>;
    if constexpr (std::is_same_v<X, std::string_view>) assign(field, std::string(x));
    else if constexpr (!std::is_same_v<X, std::monostate>) assign(field, x);
  }, v);
}

template <class T>
bool equals(const T& field, const Value& v) {
  T def = field;
  assign_value(def, v);
  return def == field;
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

template <class T>
std::string toml_value(const T& v) {
  if constexpr (std::is_same_v<T, std::string>) return toml_quote(v);
  else if constexpr (std::is_same_v<T, double>) return fmt::format("{:.17g}", v);
  else return fmt::format("{}", v);
}

// The "key = value" line of a row, or "" when the row is not written for this spec.
std::string line(const Key& k, Spec& s) {
  if (k.emit == Emit::Never || (!k.task.empty() && k.task != s.task.name)) return "";
  return std::visit([&](auto get) -> std::string {
    if constexpr (std::is_same_v<decltype(get), std::monostate>) {
      return "";
    } else {
      const auto& v = get(s);
      if (k.emit == Emit::IfChanged && equals(v, k.def)) return "";
      return fmt::format("{} = {}\n", k.name, toml_value(v));
    }
  }, k.field);
}

}  // namespace

void read(const TomlReader& r, const toml::table& t, std::string_view table, std::string_view name, Spec& s) {
  const Key& k = key(table, name);
  if (!t.contains(name)) return;
  auto v = checked(r, t, k);
  std::visit([&](auto get) {
    if constexpr (!std::is_same_v<decltype(get), std::monostate>)
      std::visit([&](const auto& x) { assign(get(s), x); }, v);
  }, k.field);
}

double number(const TomlReader& r, const toml::table& t, std::string_view table, std::string_view name,
              double fallback) {
  if (!t.contains(name)) return fallback;
  auto v = checked(r, t, key(table, name));
  if (auto* i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
  return std::get<double>(v);
}

void read_plain(const ReaderFor& at, const toml::table& t, std::string_view table, Spec& s) {
  for (auto& k : keys())
    if (k.table == table && k.plain && t.contains(k.name)) read(at(t, k.name), t, table, k.name, s);
}

Spec defaults() {
  Spec s;
  for (auto& k : keys())
    std::visit([&](auto get) {
      if constexpr (!std::is_same_v<decltype(get), std::monostate>) assign_value(get(s), k.def);
    }, k.field);
  return s;
}

std::string canonical_toml(const Spec& spec) {
  Spec s = spec;  // the accessors hand out mutable references
  std::string out;
  for (auto table : tables()) {
    if (table == "task" && s.task.name.empty()) continue;
    out += fmt::format("{}[{}]\n", out.empty() ? "" : "\n", table);
    for (auto& k : keys())
      if (k.table == table) out += line(k, s);
  }
  return out;
}

}  // namespace scalelab::config
