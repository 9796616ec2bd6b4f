#pragma once
// What a report shows, read from the store once: the scope (a sweep or the
// whole database), its runs, the latest fit of each kind with the points it was
// made from, loss curves downsampled for drawing, and eval results.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fit/dataset.h"
#include "fit/emergence.h"
#include "fit/forecast.h"
#include "fit/laws.h"
#include "fit/record.h"
#include "store/store.h"

namespace scalelab::reports {

using json = nlohmann::ordered_json;

struct FitView {
  fit::FitRecord rec;  // the stored record (fit::record_of)
  std::int64_t id = 0;
  std::string approach, law;
  std::string label;  // "Approach 3: Chinchilla law L(N, D)", ...
  std::string short_label;  // for legends: "Approach 3 (Chinchilla)"
  std::string color;  // its colour in every figure
  bool has_model = false;
  fit::Model model;
  std::vector<std::vector<double>> draws;  // bootstrap draws of model.p
  std::vector<fit::Point> points;          // the data it was fitted to, re-read now
  std::string points_note;                 // why `points` is empty
  std::vector<std::int64_t> older;         // earlier fits of the same kind, superseded by this one

  bool allocates() const;  // has N_opt(C), D_opt(C)
  bool has_frontier() const { return has_model && model.has_frontier(); }
  bool parametric() const { return has_model && model.has_loss_nd(); }
};

struct ReportData {
  std::string db_path;
  std::optional<store::Sweep> sweep;  // none: every run and fit in the database
  std::string scope;                  // for people: "sweep 'tiny' (de52e894b697)"
  std::vector<store::Run> runs;       // launch order for a sweep
  std::vector<FitView> fits;          // approach 3 first, then 2, then 1
  std::vector<fit::Point> points;     // finished runs under the primary fit's conventions (total N, 6ND without one)
  std::string n_label = "parameters N";  // what N means in `points`
  std::string loss_unit = "nats/token";  // what L means in `points`: the primary fit's unit (fit --loss)
  std::vector<std::string> notes;     // honest remarks: stale fits, unavailable data
  std::vector<fit::LrScan> lr_scans;  // the sweep's LR axis per (N, D), under the points' conventions
  std::optional<fit::FitRecord> lr_fit;  // the newest `fit --law lr` record of this scope
  std::vector<fit::emergence::Record> emergence;  // `scalelab emergence` records, newest per task:metric:x (not in `fits`)
  int finished = 0;                   // runs with status done
};

// Resolves `sweep` ("" = the newest sweep, or everything without sweeps) and reads it.
ReportData load_report_data(const store::Store&, const std::string& sweep);

// One run's loss curve, downsampled for drawing.
struct DrawnCurve {
  std::string run_id;
  double N = 0;
  std::vector<double> tokens, flops, loss;
};

struct Curves {
  std::string split;  // val, or train when no run has validation rows
  std::vector<DrawnCurve> runs;
  std::int64_t rows_read = 0, points_kept = 0;
  int missing = 0;  // runs in scope without a curve of that split
};

// Reads every run's curve from one snapshot (store::Store::curves) and keeps at
// most about max_points points over all runs: log-spaced bins in tokens, each
// drawn at its middle row (with the bin's mean loss for noisy training rows),
// plus every curve's last row exactly.
Curves load_curves(const store::Store&, const std::vector<store::Run>&, int max_points);

struct EvalPoint {
  std::string run_id;
  double N = 0;  // total parameters of the run
  std::int64_t step = 0, n = 0;
  std::string metric;
  double value = 0;
};

struct TaskEvals {
  std::string task;
  std::vector<EvalPoint> final;  // each run's last evaluated step of this task, every metric
  std::vector<EvalPoint> history;  // every evaluated step: the emergence analysis and the figure over training
};

std::vector<TaskEvals> load_evals(const store::Store&, const std::vector<store::Run>&);

// The run's compute as its trainer counted it (tokens done, else planned).
double run_compute(const store::Run&);
double run_tokens(const store::Run&);

}  // namespace scalelab::reports
