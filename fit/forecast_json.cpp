// `scalelab forecast`: the query on a stored fit's law, and its --json object.
#include <fmt/format.h>

#include "fit/dataset.h"
#include "fit/forecast_report.h"

namespace scalelab::fit {

using json = nlohmann::ordered_json;

namespace {

json quantity_json(const Quantity& x) {
  json j = {{"value", x.value}, {"unit", x.unit}};
  j["lo"] = x.interval ? json(x.lo) : json();
  j["hi"] = x.interval ? json(x.hi) : json();
  j["confidence"] = x.interval ? json{{"lo", x.lo}, {"hi", x.hi}} : json();
  if (is_loss_unit(x.unit)) j["prediction"] = x.prediction ? json{{"lo", x.pred_lo}, {"hi", x.pred_hi}} : json();
  if (x.undefined) j["undefined_draws"] = x.undefined;
  return j;
}

// The query as given: only the quantities the user named.
json query_json(const Query& q) {
  json out = json::object();
  auto put = [&](const char* k, const std::optional<double>& v) {
    if (v) out[k] = *v;
  };
  put("compute", q.compute), put("gpu_hours", q.gpu_hours), put("target_loss", q.target_loss);
  put("params", q.params), put("tokens", q.tokens), put("inference_tokens", q.inference_tokens);
  put("unique_tokens", q.unique_tokens);
  if (q.gpus) out["gpus"] = *q.gpus;
  return out;
}

json assumptions_json(const ForecastReport& r) {
  const Query& q = r.query;
  const auto& acc = find_accelerator(q.gpu);
  return {{"compute_convention", "C = 6 N D"},
          {"gpu", acc.name},
          {"peak_tflops", q.peak_tflops.value_or(acc.peak_tflops)},
          {"gpu_memory_gb", q.gpu_memory_gb.value_or(acc.memory_gb)},
          {"mfu", q.mfu},
          {"bytes_per_param", q.bytes_per_param},
          {"memory_note", "weights, gradients and AdamW state only; activations not counted"},
          {"interval", fmt::format("confidence: {:.0f}% bootstrap percentile over {} draws; prediction: calibrated on "
                                   "the fit's backtest (docs/fits.md)",
                                   100 * r.level, r.draws.size())}};
}

json interval_json(const Calibration& pi) {
  json j = {{"available", pi.available}, {"level", pi.level}};
  if (pi.available) j.update({{"noise", pi.noise}, {"kappa", pi.kappa}, {"q", pi.q}, {"n", pi.n}});
  else j["why"] = pi.why;
  return j;
}

}  // namespace

ForecastReport run_forecast(FitRecord rec, const Query& q, double level) {
  ForecastReport r;
  r.model = model_of(rec);
  r.draws = draws_of(rec);
  r.record = std::move(rec);
  r.query = q;
  r.level = level;
  r.quantities = forecast(r.model, r.draws, q, level);
  // The law predicts in the unit it was fitted in (fit --loss).
  const auto unit = loss_unit(r.record.conventions);
  for (auto& x : r.quantities)
    if (is_loss_unit(x.unit)) x.unit = unit;
  find_accelerator(q.gpu);  // an unknown --gpu is an error even where the query does not need one
  r.regime = regime(r.model, q, r.quantities);
  return r;
}

json forecast_json(const ForecastReport& r) {
  json quantities = json::object();
  for (auto& x : r.quantities) quantities[x.name] = quantity_json(x);
  const auto& rec = r.record;
  json out = {{"fit", rec.id},
              {"law", rec.law},
              {"approach", rec.approach},
              {"source", rec.source},
              {"loss_unit", loss_unit(rec.conventions)},
              {"query", query_json(r.query)},
              {"assumptions", assumptions_json(r)},
              {"quantities", quantities},
              {"prediction_interval", interval_json(r.model.pi)},
              {"not_identified", r.model.not_identified}};
  out["regime"] = r.regime ? json{{"verdict", r.regime->verdict}, {"decades", r.regime->decades},
                                  {"inside", r.regime->inside}}
                           : json();
  return out;
}

}  // namespace scalelab::fit
