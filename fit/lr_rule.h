#pragma once
// The learning-rate rule lr*(N) = c N^-k, fitted to a sweep's LR axis
// (`scalelab fit SWEEP --law lr`; method: docs/hparams.md), and read back from a stored fit for a sweep config's
// `lr_rule = { fit = ID }`.
#include <cstdint>
#include <string>
#include <vector>

#include "fit/dataset.h"
#include "fit/record.h"

namespace scalelab::fit {

// The best LR of one scan: the lowest seed-mean final loss over the grid,
// refined by a parabola in ln lr through it and its two neighbours. A minimum
// at either end of the grid is not bracketed: the note says which way to extend.
LrScanRecord best_lr(const LrScan&);

// Scans of the same N (within 1e-6), sizes in increasing N.
std::vector<std::vector<LrScan>> group_by_size(const std::vector<LrScan>&);

struct LrRuleFit {
  std::vector<LrScanRecord> scans;  // in the order of the sizes, then their scans
  std::vector<LrSizeRecord> sizes;
  double c = 0, k = 0;  // lr*(N) = c N^-k
  double rss_log = 0;   // sum of squared residuals in ln lr over the sizes used
  int used = 0;         // sizes with a bracketed scan
};
// Per size, the geometric mean of its bracketed scans' best LRs; then ln lr =
// ln c - k ln N by least squares through them. UserError with fewer than 2
// such sizes.
LrRuleFit fit_lr_rule(const std::vector<std::vector<LrScan>>& sizes);

// A stored LR rule, as a sweep applies it.
struct LrRuleParams {
  double c = 0, k = 0;
  std::string params;  // the parameter convention of its N: total | non_embedding
};
// UserError naming the fit when it is not an LR rule (or does not read).
LrRuleParams lr_rule_of(const store::Fit&);

}  // namespace scalelab::fit
