#pragma once
// What `scalelab forecast` prints, from a stored fit: the query evaluated on
// the record's law (fit::forecast, fit::regime), as the --json object or as
// text for people (docs/fits.md, "Forecasts").
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "fit/forecast.h"
#include "fit/record.h"

namespace scalelab::fit {

struct ForecastReport {
  FitRecord record;
  Model model;
  std::vector<std::vector<double>> draws;
  Query query;
  double level = 0.95;  // of the confidence interval
  std::vector<Quantity> quantities;
  std::optional<Horizon> regime;
};

ForecastReport run_forecast(FitRecord, const Query&, double level);
nlohmann::ordered_json forecast_json(const ForecastReport&);
std::string render_forecast(const ForecastReport&);

}  // namespace scalelab::fit
