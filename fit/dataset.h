#pragma once
// What a fit is made from: a sweep's finished runs or a CSV of final losses,
// with the free-form description of the input (selection, conventions) that
// the record keeps. The readers below are the other half of those writers, so
// each key of the description is spelled in one place.
#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "fit/approaches.h"
#include "fit/csv.h"
#include "fit/laws.h"
#include "store/store.h"

namespace scalelab::fit {

// One learning rate of an LR scan: the final losses of its seeds.
struct LrTrial {
  double lr = 0;
  std::vector<double> losses;     // one per seed
  std::vector<std::string> runs;  // their run ids
  double mean() const;
};
// A sweep's LR axis at one (N, D): the runs that are the same experiment but for
// LR and seed (see dataset_from_runs), their LRs in increasing order. The
// learning-rate rule (fit/lr_rule.h) is fitted to these.
struct LrScan {
  double N = 0, D = 0;  // N under the fit's parameter convention
  std::string shape, schedule;
  std::vector<LrTrial> trials;
};

struct Dataset {
  std::string source;          // "csv:PATH" or the sweep id
  bool sweep = false;          // budgets are the sweep's clusters of C (else 0.1-decade bins)
  std::vector<Point> points;   // final losses (Approaches 2 and 3)
  std::vector<Curve> curves;   // training curves (Approach 1)
  std::vector<LrScan> lr_scans;  // sweeps: every point's LRs and seeds (runs with a recorded LR only)
  nlohmann::ordered_json selection = nlohmann::ordered_json::object();    // what went in, what was skipped
  nlohmann::ordered_json conventions = nlohmann::ordered_json::object();  // FLOP and parameter conventions
  std::vector<std::string> warnings;  // about the input (e.g. mixed schedules, when allowed); the record keeps them
};

// Sweep runs -> points and curves (store structs only; the caller reads the store).
// Ladder trunks are left out. Per (N, D) (and schedule, shape, unique tokens),
// seeds of one LR are averaged, then the LR with the lowest mean loss is the
// point; Approach 1 gets that run's curve. Runs of different schedules
// (train.schedule, and a WSD run's decay_fraction) are refused together
// (UserError) unless allow_mixed_schedules; then the dataset warns.
struct SweepConventions {
  std::string params = "total";  // total | non_embedding
  std::string flops = "6nd";     // 6nd | exact (tokens x the run's FLOPs per token)
  std::string split = "train";   // curves for Approach 1: train | val
  bool allow_mixed_schedules = false;  // --allow-mixed-schedules
  // --loss: the unit of the final losses fitted. nats (per token, as trained) or
  // bpb (bits per byte, through each run's bytes per token; docs/fits.md). Runs of
  // different tokenizers are refused in nats: their tokens are different units.
  std::string loss = "nats";
  bool allow_mixed_tokenizers = false;  // reports' figures only: show the runs, whatever their tokenizers
};
Dataset dataset_from_runs(const std::string& sweep_id, const std::vector<store::Run>&, const SweepConventions&,
                          const std::function<std::vector<store::Metric>(const std::string& run_id)>& metrics);

// A CSV of final losses -> points (`fit --csv`).
struct CsvSpec {
  std::string path;
  CsvColumns columns;
  int drop_highest = 0;
};
Dataset dataset_from_csv(const CsvSpec&);

// Back from a stored fit's description: the CSV it read (none for a sweep's
// fit), the sweep conventions it used, what they say in words, how many
// runs' (a CSV's rows') final losses went in (-1 when not recorded; for a
// sweep, every LR and seed tried counts, ladder trunks do not).
std::optional<CsvSpec> csv_spec_of(const nlohmann::ordered_json& selection, const std::string& source);
SweepConventions sweep_conventions_of(const nlohmann::ordered_json& conventions);
struct ConventionWords {
  std::string params, flops;  // "" when not recorded
};
ConventionWords convention_words(const nlohmann::ordered_json& conventions);
int points_used(const nlohmann::ordered_json& selection);
// The unit of a fit's losses, and so of its loss predictions: "bits/byte" for a
// fit made with --loss bpb, else "nats/token" (CSV fits and fits from before --loss).
std::string loss_unit(const nlohmann::ordered_json& conventions);
// The words for a loss unit: "bits per byte" or "nats per token".
std::string loss_unit_words(const std::string& unit);
bool is_loss_unit(const std::string& unit);

}  // namespace scalelab::fit
