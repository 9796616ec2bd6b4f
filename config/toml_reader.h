#pragma once
// Typed, validating access to a parsed TOML document. Every error it raises is
// one line: "FILE:LINE: KEY: what was expected, and what was found".
// Run configs and sweep configs both read through it, so their errors look alike.
#include <toml++/toml.h>

#include <cstdint>
#include <initializer_list>
#include <vector>
#include <optional>
#include <string>
#include <string_view>

namespace scalelab::config {

class TomlReader {
 public:
  // Parses a file; a missing file or a TOML syntax error is a UserError with its line.
  static toml::table parse_file(const std::string& path);
  static toml::table parse_text(std::string_view text, const std::string& source_name);

  explicit TomlReader(std::string source) : source_(std::move(source)) {}
  const std::string& source() const { return source_; }

  // `at` gives the line; `key` is the dotted path shown to the user.
  [[noreturn]] void fail(const toml::node* at, std::string_view key, std::string_view what) const;

  // Rejects keys not in `allowed`, naming the closest allowed key when there is one.
  void only_keys(const toml::table& t, std::string_view prefix,
                 const std::vector<std::string_view>& allowed) const;

  const toml::table* table(const toml::table& t, std::string_view key, std::string_view prefix) const;
  std::optional<double> number(const toml::table& t, std::string_view key, std::string_view prefix) const;
  std::optional<std::int64_t> integer(const toml::table& t, std::string_view key,
                                      std::string_view prefix) const;
  std::optional<std::string> string(const toml::table& t, std::string_view key,
                                    std::string_view prefix) const;
  std::optional<bool> boolean(const toml::table& t, std::string_view key, std::string_view prefix) const;

  // Range checks that report the node's line. lo/hi are inclusive unless noted.
  double positive(const toml::table& t, std::string_view key, std::string_view prefix, double fallback) const;
  std::int64_t positive_int(const toml::table& t, std::string_view key, std::string_view prefix,
                            std::int64_t fallback) const;
  double in_range(const toml::table& t, std::string_view key, std::string_view prefix, double fallback,
                  double lo, double hi) const;
  std::string one_of(const toml::table& t, std::string_view key, std::string_view prefix,
                     std::string fallback, const std::vector<std::string_view>& choices) const;

 private:
  std::string source_;
};

std::string join_key(std::string_view prefix, std::string_view key);

}  // namespace scalelab::config
