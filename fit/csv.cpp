#include "fit/csv.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/error.h"

namespace scalelab::fit {

std::vector<std::vector<std::string>> parse_csv(const std::string& text, const std::string& name,
                                                std::vector<int>* lines) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false, in_quotes = false, any = false;
  int line = 1, row_line = 1;
  auto end_field = [&] {
    row.push_back(field);
    field.clear();
    quoted = false;
  };
  auto end_row = [&] {
    end_field();
    bool blank = row.size() == 1 && row[0].empty();
    if (!blank) {
      rows.push_back(std::move(row));
      if (lines) lines->push_back(row_line);
    }
    row.clear();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    char ch = text[i];
    if (!any) row_line = line, any = true;
    if (in_quotes) {
      if (ch == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          in_quotes = false;
        }
      } else {
        if (ch == '\n') ++line;
        field += ch;
      }
      continue;
    }
    if (ch == '"') {
      if (!field.empty() || quoted)
        user_error("{}:{}: stray quote inside an unquoted field (quote the whole field)", name, line);
      in_quotes = quoted = true;
    } else if (ch == ',') {
      end_field();
    } else if (ch == '\n' || ch == '\r') {
      if (ch == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      end_row();
      ++line;
      any = false;
    } else {
      if (quoted) user_error("{}:{}: text after a closing quote", name, line);
      field += ch;
    }
  }
  if (in_quotes) user_error("{}:{}: unterminated quoted field", name, row_line);
  if (any) end_row();
  return rows;
}

namespace {
std::string trim(std::string s) {
  auto issp = [](unsigned char c) { return std::isspace(c); };
  s.erase(s.begin(), std::find_if_not(s.begin(), s.end(), issp));
  s.erase(std::find_if_not(s.rbegin(), s.rend(), issp).base(), s.end());
  return s;
}

double number(const std::string& s, const std::string& where, const std::string& col) {
  std::string t = trim(s);
  if (t.empty()) user_error("{}: column \"{}\" is empty, expected a number", where, col);
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(t.c_str(), &end);
  if (end != t.c_str() + t.size() || errno == ERANGE || !std::isfinite(v))
    user_error("{}: column \"{}\" is \"{}\", expected a finite number", where, col, t);
  return v;
}
}  // namespace

CsvPoints read_csv_points(const std::string& path, const CsvColumns& cols, int drop_highest) {
  std::ifstream in(path, std::ios::binary);
  if (!in) user_error("cannot open CSV file {}", path);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string name = std::filesystem::path(path).filename().string();
  std::vector<int> lines;
  auto rows = parse_csv(ss.str(), path, &lines);
  if (rows.empty()) user_error("{}: empty file, expected a header row and data rows", path);
  CsvPoints out;
  for (auto& h : rows[0]) out.header.push_back(trim(h));
  auto find = [&](const std::string& c, const char* flag) -> int {
    if (c.empty()) return -1;
    auto it = std::find(out.header.begin(), out.header.end(), c);
    if (it == out.header.end()) {
      std::string avail;
      for (auto& h : out.header) avail += (avail.empty() ? "\"" : ", \"") + h + "\"";
      user_error("{}: no column \"{}\" (given by {}); columns are: {}", path, c, flag, avail);
    }
    return static_cast<int>(it - out.header.begin());
  };
  if (cols.n.empty()) user_error("--n-col is required with --csv");
  if (cols.loss.empty()) user_error("--loss-col is required with --csv");
  if (cols.c.empty() && cols.d.empty()) user_error("--csv needs --c-col (FLOPs) or --d-col (tokens), or both");
  const int in_ = find(cols.n, "--n-col"), ic = find(cols.c, "--c-col"), id = find(cols.d, "--d-col"),
            il = find(cols.loss, "--loss-col");
  if (!cols.unique.empty() && !cols.epochs.empty()) user_error("give --unique-col or --epochs-col, not both");
  const int iu = find(cols.unique, "--unique-col"), ie = find(cols.epochs, "--epochs-col"),
            is = find(cols.se, "--se-col");
  if (rows.size() < 2) user_error("{}: no data rows after the header", path);
  for (std::size_t r = 1; r < rows.size(); ++r) {
    const std::string where = fmt::format("{}:{}", path, lines[r]);
    if (rows[r].size() != out.header.size())
      user_error("{}: {} field{}, expected {} as in the header", where, rows[r].size(),
                 rows[r].size() == 1 ? "" : "s", out.header.size());
    Point p;
    p.id = fmt::format("{}:{}", name, lines[r]);
    p.N = number(rows[r][in_], where, cols.n);
    p.L = number(rows[r][il], where, cols.loss);
    if (ic >= 0) p.C = number(rows[r][ic], where, cols.c);
    if (id >= 0) p.D = number(rows[r][id], where, cols.d);
    if (!(p.N > 0)) user_error("{}: column \"{}\" is {}, parameters must be positive", where, cols.n, p.N);
    if (!(p.L > 0)) user_error("{}: column \"{}\" is {}, losses must be positive", where, cols.loss, p.L);
    if (ic >= 0 && !(p.C > 0)) user_error("{}: column \"{}\" is {}, FLOPs must be positive", where, cols.c, p.C);
    if (id >= 0 && !(p.D > 0)) user_error("{}: column \"{}\" is {}, tokens must be positive", where, cols.d, p.D);
    if (id < 0) p.D = p.C / (6 * p.N);
    if (ic < 0) p.C = 6 * p.N * p.D;
    if (iu >= 0) p.U = number(rows[r][iu], where, cols.unique);
    if (ie >= 0) {
      const double e = number(rows[r][ie], where, cols.epochs);
      if (!(e > 0)) user_error("{}: column \"{}\" is {}, epochs must be positive", where, cols.epochs, e);
      p.U = p.D / e;
    }
    if ((iu >= 0 || ie >= 0) && !(p.U > 0))
      user_error("{}: column \"{}\" is {}, unique tokens must be positive", where, cols.unique, p.U);
    if (p.U > p.D * (1 + 1e-9))
      user_error("{}: unique tokens {:.6g} (column \"{}\") exceed the tokens trained D = {:.6g}; expected U <= D",
                 where, p.U, iu >= 0 ? cols.unique : cols.epochs, p.D);
    if (is >= 0) {
      p.se = number(rows[r][is], where, cols.se);
      if (!(p.se >= 0)) user_error("{}: column \"{}\" is {}, a standard error must be >= 0", where, cols.se, p.se);
    }
    out.points.push_back(std::move(p));
  }
  if (drop_highest < 0) user_error("--drop-highest must be >= 0, got {}", drop_highest);
  if (static_cast<std::size_t>(drop_highest) >= out.points.size())
    user_error("--drop-highest {} would drop all {} rows of {}", drop_highest, out.points.size(), path);
  if (drop_highest > 0) {
    std::vector<std::size_t> order(out.points.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return out.points[a].L > out.points[b].L; });
    std::vector<bool> drop(order.size(), false);
    for (int k = 0; k < drop_highest; ++k) {
      drop[order[k]] = true;
      out.dropped.push_back(out.points[order[k]]);
    }
    std::vector<Point> kept;
    for (std::size_t i = 0; i < out.points.size(); ++i)
      if (!drop[i]) kept.push_back(std::move(out.points[i]));
    out.points = std::move(kept);
  }
  return out;
}

}  // namespace scalelab::fit
