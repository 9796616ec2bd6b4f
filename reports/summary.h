#pragma once
// The report's tables, computed once and shown twice: as HTML and, in the
// terminal, in the CLI's one table style (common/table.h).
#include <string>
#include <vector>

#include "reports/load.h"

namespace scalelab::reports {

// Headers starting with '>' are numbers (right-aligned), as in common/table.h.
struct Rows {
  std::vector<std::string> headers;
  std::vector<std::vector<std::string>> rows;
};

Rows run_rows(const ReportData&);
Rows param_rows(const FitView&);     // parameters with their intervals
Rows derived_rows(const FitView&);   // a, b, tokens per parameter, ... with intervals
Rows forecast_rows(const FitView&);  // 1e21 .. 1e25 FLOPs: N_opt, D_opt, tokens/param, loss

// One paragraph each: what was fitted, how it converged; the hold-out check.
std::string fit_overview(const FitView&);
std::string holdout_text(const FitView&);
std::vector<std::string> fit_warnings(const FitView&);

// Why there is no fit, in words a user can act on; "" when fits exist.
std::string missing_fits_text(const ReportData&);

// 4 significant digits, plain for ordinary magnitudes, 1.234e9 otherwise.
std::string sci(double v);
std::string with_interval(double v, double lo, double hi);  // "1.23e9 (1.1e9 – 1.4e9)"

}  // namespace scalelab::reports
