#pragma once
// One table style for every command that prints rows (runs, plan, status, fit).
#include <string>
#include <string_view>
#include <vector>

namespace scalelab {

class Table {
 public:
  explicit Table(std::vector<std::string> headers);
  // Columns whose header starts with '>' are right-aligned (numbers); the '>' is not printed.
  void add(std::vector<std::string> row);
  std::string render() const;
  bool empty() const { return rows_.empty(); }

 private:
  std::vector<std::string> headers_;
  std::vector<bool> right_;
  std::vector<std::vector<std::string>> rows_;
};

// Control characters (newline, NUL, ESC, ...) written as \xNN, so a name cannot
// break a table or send escape sequences to a terminal; other bytes are kept.
std::string printable(std::string_view s);
// One shell word that bash reads back as exactly s: 'it'\''s'. Plain words
// (letters, digits, - _ . / : + =) stay bare, so suggested commands read naturally.
std::string shell_word(std::string_view s);
// The first control character in s, or -1.
int first_control(std::string_view s);

// Compact human numbers: 1.23e+06 -> "1.23M", 4.5e21 -> "4.50e21".
std::string si(double v, int digits = 3);
std::string duration(double seconds);  // "1h02m", "3m05s", "12.3s"

}  // namespace scalelab
