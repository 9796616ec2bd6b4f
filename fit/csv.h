#pragma once
// Points from a CSV file (e.g. Epoch's extraction of Chinchilla's Figure 4).
#include <string>
#include <utility>
#include <vector>

#include "fit/laws.h"

namespace scalelab::fit {

struct CsvColumns {
  // A constructor, not an aggregate, so that callers naming only the first columns leave the rest empty.
  CsvColumns(std::string n_ = "", std::string c_ = "", std::string d_ = "", std::string loss_ = "",
             std::string unique_ = "", std::string epochs_ = "", std::string se_ = "")
      : n(std::move(n_)), c(std::move(c_)), d(std::move(d_)), loss(std::move(loss_)), unique(std::move(unique_)),
        epochs(std::move(epochs_)), se(std::move(se_)) {}
  std::string n;     // parameters, required
  std::string c;     // training FLOPs; D = C / (6N) when there is no D column
  std::string d;     // tokens; C = 6ND when there is no C column
  std::string loss;  // required
  std::string unique;  // unique tokens U (data-constrained law); or
  std::string epochs;  // epochs, U = D / epochs
  std::string se;      // standard error of the loss (--weights se)
};

struct CsvPoints {
  std::vector<Point> points;   // ids are "FILE:LINE"
  std::vector<Point> dropped;  // by --drop-highest, highest loss first
  std::vector<std::string> header;
};

// Parses RFC 4180 CSV (quoted fields, "" escapes, CRLF). Every problem is a
// UserError naming the file, and the line or column: a missing column (listing
// those available), a malformed row, a non-numeric or non-positive value.
CsvPoints read_csv_points(const std::string& path, const CsvColumns&, int drop_highest = 0);

// The low-level splitter, exposed for tests. Throws UserError("LINE: ...").
std::vector<std::vector<std::string>> parse_csv(const std::string& text, const std::string& name,
                                                std::vector<int>* line_numbers = nullptr);

}  // namespace scalelab::fit
