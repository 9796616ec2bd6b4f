// What a fit is made from: sweep runs and their metrics, or a CSV of final
// losses, as points and curves with the description the record keeps; and
// that description read back (fit/dataset.h).
#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "fit/dataset.h"

namespace scalelab::fit {

using json = nlohmann::ordered_json;

namespace {
// How the 6ND convention is described in a record's conventions.
constexpr const char* kSixND = "C = 6 N D";

// A free-form description's text at key; "" when absent or not text.
std::string text(const json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}
}  // namespace

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
                    {"flops", conv.flops == "6nd" ? kSixND : "C = D x the run's FLOPs per token"},
                    {"run_flop_conventions", flop_conventions},
                    {"tokens", "D = tokens_done"},
                    {"unique_tokens", "U = the run's unique training tokens (capped at D), when recorded"},
                    {"standard_error", "the final validation loss's standard error over sequences, when recorded"}};
  return ds;
}

Dataset dataset_from_csv(const CsvSpec& spec) {
  const auto& c = spec.columns;
  auto cp = read_csv_points(spec.path, c, spec.drop_highest);
  Dataset ds;
  ds.source = "csv:" + spec.path;
  ds.points = std::move(cp.points);
  json dropped = json::array();
  for (auto& p : cp.dropped) dropped.push_back({{"id", p.id}, {"loss", p.L}});
  ds.selection = {{"csv", spec.path},
                  {"columns", {{"n", c.n}, {"c", c.c}, {"d", c.d}, {"loss", c.loss},
                               {"unique", c.unique}, {"epochs", c.epochs}, {"se", c.se}}},
                  {"rows", ds.points.size() + cp.dropped.size()},
                  {"used", ds.points.size()},
                  {"drop_highest", spec.drop_highest},
                  {"dropped", dropped}};
  ds.conventions = {{"params", "column " + c.n},
                    {"flops", c.c.empty() ? kSixND : "column " + c.c},
                    {"tokens", c.d.empty() ? "D = C / (6 N)" : "column " + c.d}};
  return ds;
}

std::optional<CsvSpec> csv_spec_of(const json& selection, const std::string& source) {
  if (source.rfind("csv:", 0) != 0) return std::nullopt;
  CsvSpec spec;
  spec.path = text(selection, "csv");
  if (spec.path.empty()) spec.path = source.substr(4);
  const json cols = selection.is_object() && selection.contains("columns") ? selection["columns"] : json::object();
  spec.columns = {text(cols, "n"),      text(cols, "c"),      text(cols, "d"), text(cols, "loss"),
                  text(cols, "unique"), text(cols, "epochs"), text(cols, "se")};
  auto it = selection.find("drop_highest");
  if (it != selection.end() && it->is_number_integer()) spec.drop_highest = it->get<int>();
  return spec;
}

ConventionWords convention_words(const json& conventions) {
  return {text(conventions, "params"), text(conventions, "flops")};
}

// Fits stored without conventions were made under the defaults: total N, 6ND.
SweepConventions sweep_conventions_of(const json& conventions) {
  const auto words = convention_words(conventions);
  SweepConventions sc;
  sc.params = words.params == "non_embedding" ? "non_embedding" : "total";
  sc.flops = words.flops.empty() || words.flops == kSixND ? "6nd" : "exact";
  return sc;
}

int points_used(const json& selection) {
  if (!selection.is_object()) return -1;
  auto it = selection.find("used");
  return it != selection.end() && it->is_number_integer() ? it->get<int>() : -1;
}

}  // namespace scalelab::fit
