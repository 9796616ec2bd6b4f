#include "common/table.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace scalelab {

namespace {
// Display width of a UTF-8 string: count code points, not bytes.
std::size_t width(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}
}  // namespace

Table::Table(std::vector<std::string> headers) {
  for (auto& h : headers) {
    bool right = !h.empty() && h[0] == '>';
    right_.push_back(right);
    headers_.push_back(right ? h.substr(1) : h);
  }
}

std::string shell_word(std::string_view s) {
  const bool plain = !s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                       "0123456789-_./:+=") == std::string_view::npos;
  if (plain) return std::string(s);
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

int first_control(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return c;
  return -1;
}

std::string printable(std::string_view s) {
  if (first_control(s) < 0) return std::string(s);
  std::string out;
  for (unsigned char c : s) out += (c < 0x20 || c == 0x7f) ? fmt::format("\\x{:02x}", c) : std::string(1, char(c));
  return out;
}

void Table::add(std::vector<std::string> row) {
  row.resize(headers_.size());
  for (auto& cell : row) cell = printable(cell);
  rows_.push_back(std::move(row));
}

std::string Table::render() const {
  std::vector<std::size_t> w(headers_.size());
  for (std::size_t i = 0; i < headers_.size(); ++i) w[i] = width(headers_[i]);
  for (auto& r : rows_)
    for (std::size_t i = 0; i < r.size(); ++i) w[i] = std::max(w[i], width(r[i]));
  auto line = [&](const std::vector<std::string>& r) {
    std::string out;
    for (std::size_t i = 0; i < r.size(); ++i) {
      std::string pad(w[i] - width(r[i]), ' ');
      if (i) out += "  ";
      out += right_[i] ? pad + r[i] : (i + 1 == r.size() ? r[i] : r[i] + pad);
    }
    return out + "\n";
  };
  std::string out = line(headers_);
  std::vector<std::string> rule;
  for (auto x : w) rule.push_back(std::string(x, '-'));
  out += line(rule);
  for (auto& r : rows_) out += line(r);
  return out;
}

std::string si(double v, int digits) {
  if (!std::isfinite(v)) return fmt::format("{}", v);
  double a = std::fabs(v);
  if (a == 0) return "0";
  if (a >= 1e15 || a < 1e-3) return fmt::format("{:.{}e}", v, digits - 1);
  static const char* suffix[] = {"", "k", "M", "G", "T"};
  int k = 0;
  while (a >= 1000 && k < 4) {
    a /= 1000;
    v /= 1000;
    ++k;
  }
  int decimals = std::max(0, digits - 1 - static_cast<int>(std::floor(std::log10(a))));
  if (k == 0 && v == std::round(v)) decimals = 0;
  return fmt::format("{:.{}f}{}", v, decimals, suffix[k]);
}

std::string duration(double s) {
  if (!std::isfinite(s) || s < 0) return "-";
  if (s < 60) return fmt::format("{:.1f}s", s);
  auto t = static_cast<long long>(std::llround(s));
  if (t < 3600) return fmt::format("{}m{:02}s", t / 60, t % 60);
  return fmt::format("{}h{:02}m", t / 3600, (t % 3600) / 60);
}

}  // namespace scalelab
