#pragma once
// Shared by the emergence analysis files (emergence_analysis.cpp,
// emergence_scale.cpp); not part of the public header.
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "fit/emergence.h"

namespace scalelab::fit::emergence::detail {

// Rates (fractions of items) get binomial intervals and [chance, 1] bounds.
bool is_rate(const std::string& metric);

// A run's values at its last evaluated step of the task.
struct RunRow {
  const store::Run* run = nullptr;
  double x = 0;
  std::int64_t step = 0;
  std::map<std::string, std::pair<double, double>> m;  // metric -> (value, n)
};

// A threshold fit, or the reason there is none when the data cannot carry one.
Threshold try_threshold(const std::vector<Obs>&, const ThresholdOptions&);

// The analysis over scale of the runs' last evaluations. The request's
// threshold options already carry the metric's rate and chance.
OverScale scale_analysis(const Request&, const std::vector<RunRow>&);

}  // namespace scalelab::fit::emergence::detail
