// Sweep runs and their metrics -> the points and curves a fit uses, under the
// chosen parameter and FLOP conventions.
#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "fit/analysis.h"

namespace scalelab::fit {

using json = nlohmann::ordered_json;

Dataset dataset_from_runs(const std::string& sweep_id, const std::vector<store::Run>& runs,
                          const SweepConventions& conv,
                          const std::function<std::vector<store::Metric>(const std::string&)>& metrics) {
  if (conv.params != "total" && conv.params != "non_embedding")
    user_error("--params-convention must be total or non_embedding, got '{}'", conv.params);
  if (conv.flops != "6nd" && conv.flops != "exact")
    user_error("--flops must be 6nd or exact, got '{}'", conv.flops);
  if (conv.split != "train" && conv.split != "val") user_error("--split must be train or val, got '{}'", conv.split);
  Dataset ds;
  ds.source = sweep_id;
  json skipped = json::array();
  std::vector<std::string> flop_conventions;
  for (auto& r : runs) {
    auto skip = [&](const std::string& why) { skipped.push_back({{"run", r.id}, {"status", r.status}, {"why", why}}); };
    if (r.status != "done") {
      skip("status is " + r.status);
      continue;
    }
    const double N = static_cast<double>(conv.params == "total" ? r.params_total : r.params_non_embedding);
    const double fpt = conv.flops == "6nd" ? 6 * N : r.flops_per_token;
    std::optional<double> L = r.final_val_loss ? r.final_val_loss : r.final_train_loss;
    if (!(N > 0) || !(r.tokens_done > 0) || !(fpt > 0)) {
      skip("no parameter count, tokens or FLOPs per token");
      continue;
    }
    if (!L || !(*L > 0) || !std::isfinite(*L)) {
      skip("no positive final loss");
      continue;
    }
    Point pt{N, r.tokens_done, r.tokens_done * fpt, *L, r.id};
    // Unique tokens only where they bound the data: never more than the tokens trained.
    if (r.unique_tokens && *r.unique_tokens > 0) pt.U = std::min(*r.unique_tokens, r.tokens_done);
    if (r.final_val_loss && r.final_val_loss_se) pt.se = *r.final_val_loss_se;
    ds.points.push_back(pt);
    if (std::find(flop_conventions.begin(), flop_conventions.end(), r.flop_convention) == flop_conventions.end())
      flop_conventions.push_back(r.flop_convention);
    if (metrics) {
      Curve c{r.id, N, fpt, {}, {}};
      for (auto& m : metrics(r.id))
        if (m.split == conv.split) c.tokens.push_back(m.tokens), c.loss.push_back(m.loss);
      if (!c.tokens.empty()) ds.curves.push_back(std::move(c));
    }
  }
  ds.selection = {{"sweep", sweep_id},
                  {"runs", runs.size()},
                  {"used", ds.points.size()},
                  {"skipped", skipped},
                  {"loss", "final_val_loss if present, else final_train_loss"},
                  {"curves_split", conv.split}};
  ds.conventions = {{"params", conv.params},
                    {"flops", conv.flops == "6nd" ? "C = 6 N D" : "C = D x the run's FLOPs per token"},
                    {"run_flop_conventions", flop_conventions},
                    {"tokens", "D = tokens_done"},
                    {"unique_tokens", "U = the run's unique training tokens (capped at D), when recorded"},
                    {"standard_error", "the final validation loss's standard error over sequences, when recorded"}};
  return ds;
}

}  // namespace scalelab::fit
