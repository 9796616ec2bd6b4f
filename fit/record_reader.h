#pragma once
// Internal to record_json.cpp: strict reading of a stored fit record. Every
// accessor names the fit and the key path when the value is missing or of the
// wrong type, so a renamed key is an error, never a silent default.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"

namespace scalelab::fit::detail {

class In {
 public:
  using json = nlohmann::ordered_json;
  In(const json& j, const std::string& fit, std::string path = "") : j_(&j), fit_(&fit), path_(std::move(path)) {}

  [[noreturn]] void fail(const std::string& what) const {
    user_error("{}: {} {}", *fit_, path_.empty() ? "the record" : path_, what);
  }

  In at(const char* key) const {
    object();
    auto it = j_->find(key);
    if (it == j_->end()) In(*j_, *fit_, sub(key)).fail("is missing");
    return In(*it, *fit_, sub(key));
  }
  std::optional<In> find(const char* key) const {
    object();
    auto it = j_->find(key);
    if (it == j_->end()) return std::nullopt;
    return In(*it, *fit_, sub(key));
  }
  bool has(const char* key) const { return find(key).has_value(); }

  // nlohmann writes NaN and infinities as null: a double reads null back as NaN.
  double num() const {
    if (j_->is_null()) return NAN;
    if (!j_->is_number()) wrong("a number");
    return j_->get<double>();
  }
  // null where the writer means "none" (no interval, not scored).
  std::optional<double> num_or_none() const {
    if (j_->is_null()) return std::nullopt;
    return num();
  }
  std::int64_t integer() const {
    if (!j_->is_number_integer()) wrong("an integer");
    return j_->get<std::int64_t>();
  }
  int int32() const { return static_cast<int>(integer()); }
  std::uint64_t natural() const {
    if (!j_->is_number_unsigned()) wrong("a non-negative integer");
    return j_->get<std::uint64_t>();
  }
  bool flag() const {
    if (!j_->is_boolean()) wrong("true or false");
    return j_->get<bool>();
  }
  std::string str() const {
    if (!j_->is_string()) wrong("a string");
    return j_->get<std::string>();
  }
  const json& object() const {
    if (!j_->is_object()) wrong("an object");
    return *j_;
  }
  std::vector<In> elements() const {
    if (!j_->is_array()) wrong("an array");
    std::vector<In> out;
    for (std::size_t i = 0; i < j_->size(); ++i) out.emplace_back((*j_)[i], *fit_, fmt::format("{}[{}]", path_, i));
    return out;
  }
  std::vector<std::pair<std::string, In>> members() const {
    std::vector<std::pair<std::string, In>> out;
    for (auto& [k, v] : object().items()) out.emplace_back(k, In(v, *fit_, sub(k.c_str())));
    return out;
  }
  template <typename F>
  auto list(F read) const {
    std::vector<decltype(read(*this))> out;
    for (auto& e : elements()) out.push_back(read(e));
    return out;
  }
  std::vector<double> nums() const { return list([](const In& e) { return e.num(); }); }
  std::vector<std::string> strs() const { return list([](const In& e) { return e.str(); }); }
  // An optional member read with `read`; none when absent.
  template <typename F>
  auto opt(const char* key, F read) const -> std::optional<decltype(read(*this))> {
    if (auto v = find(key)) return read(*v);
    return std::nullopt;
  }

  // Members, by type.
  double num(const char* k) const { return at(k).num(); }
  std::optional<double> num_or_none(const char* k) const { return at(k).num_or_none(); }
  std::int64_t integer(const char* k) const { return at(k).integer(); }
  int int32(const char* k) const { return at(k).int32(); }
  bool flag(const char* k) const { return at(k).flag(); }
  std::string str(const char* k) const { return at(k).str(); }
  std::vector<double> nums(const char* k) const { return at(k).nums(); }
  std::vector<std::string> strs(const char* k) const { return at(k).strs(); }

 private:
  [[noreturn]] void wrong(const char* want) const {
    const char* t = j_->is_object() ? "an object" : j_->is_array() ? "an array" : j_->is_string() ? "a string"
                    : j_->is_boolean() ? "a boolean" : j_->is_null() ? "null" : "a number";
    fail(fmt::format("is {}, not {}", t, want));
  }
  std::string sub(const char* key) const { return path_.empty() ? std::string(key) : path_ + "." + key; }

  const json* j_;
  const std::string* fit_;
  std::string path_;
};

}  // namespace scalelab::fit::detail
