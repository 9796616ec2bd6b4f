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
  int marked = -1;  // a row to set apart (the backtest's chosen candidate)
};

Rows run_rows(const ReportData&);
Rows param_rows(const FitView&);     // parameters with their intervals
Rows derived_rows(const FitView&);   // a, b, tokens per parameter, ... with intervals
Rows forecast_rows(const FitView&);  // 1e21 .. 1e25 FLOPs: N_opt, D_opt, tokens/param, loss
// Approach 3's backtest: one row per candidate (law x filter), the chosen one marked.
// Empty when the fit stored no backtest or none was possible (backtest_text says why).
Rows backtest_rows(const FitView&);

// One paragraph each: what was fitted, how it converged; the hold-out check.
std::string fit_overview(const FitView&);
std::string holdout_text(const FitView&);
std::vector<std::string> fit_warnings(const FitView&);
// The backtest's method and choice, or why there is none; "" when the record has no backtest at all.
std::string backtest_text(const FitView&);
// How the prediction interval is calibrated, or why there is none; "" without a record of it.
std::string interval_text(const FitView&);
// "B, beta are not identified by these data: ..."; "" when every parameter is.
std::string identification_text(const FitView&);

// Why there is no fit, in words a user can act on; "" when fits exist.
std::string missing_fits_text(const ReportData&);

// 4 significant digits, plain for ordinary magnitudes, 1.234e9 otherwise.
std::string sci(double v);
std::string with_interval(double v, double lo, double hi);  // "1.23e9 (1.1e9 – 1.4e9)"

}  // namespace scalelab::reports
