// Reading a report's data from the store.
#include "reports/load.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include "common/error.h"
#include "fit/dataset.h"
#include "fit/record.h"
#include "reports/gnuplot.h"

namespace scalelab::reports {

namespace {

// Law names as --law spells them, for people. Chinchilla's tied variant keeps
// "Chinchilla law L(N, D)" as its prefix: it is that law with alpha = beta.
std::string law_title(const std::string& law) {
  if (law == "chinchilla") return "Chinchilla law L(N, D)";
  if (law == "chinchilla-tied") return "Chinchilla law L(N, D), tied exponents (α = β)";
  if (law == "data-constrained") return "data-constrained law L(N, D, U)";
  if (law == "kaplan") return "Kaplan law L(N, D)";
  return law;
}

std::string label_of(const std::string& approach, const std::string& law, const std::string& variable) {
  if (approach == "1") return "Approach 1: training-curve envelope";
  if (approach == "2") return "Approach 2: IsoFLOP parabolas";
  if (law == "power") return "Power law L(" + variable + ")";
  return "Approach " + approach + ": " + law_title(law);
}

std::string color_of(const std::string& approach, const std::string& law) {
  if (approach == "1") return Style::approach1;
  if (approach == "2") return Style::approach2;
  if (law == "kaplan") return Style::kaplan;
  if (law == "power") return Style::power;
  return Style::approach3;
}

std::string short_label_of(const std::string& approach, const std::string& law, const std::string& variable) {
  if (approach == "1") return "Approach 1 (envelope)";
  if (approach == "2") return "Approach 2 (IsoFLOP)";
  if (law == "chinchilla") return "Approach 3 (Chinchilla)";
  if (law == "chinchilla-tied") return "Approach 3 (Chinchilla, α = β)";
  if (law == "kaplan") return "Approach 3 (Kaplan)";
  if (law == "power") return "power law L(" + variable + ")";
  return "Approach " + approach + " (" + law + ")";
}

// Approach 3's L(N, D) laws first (Chinchilla's family, then the rest), then power laws, 2, 1.
int order_of(const FitView& f) {
  if (f.approach == "3") return f.law.rfind("chinchilla", 0) == 0 ? 0 : f.law == "power" ? 2 : 1;
  return f.approach == "2" ? 3 : 4;
}

// Re-reads the points a fit was made from, under its own conventions.
void attach_points(FitView& f, const std::vector<store::Run>& runs, const std::string& sweep_id) {
  const std::string& source = f.rec.source;
  try {
    if (auto csv = fit::csv_spec_of(f.rec.selection, source)) {
      if (!std::filesystem::exists(csv->path)) {
        f.points_note = fmt::format("the CSV it was fitted to ({}) is not readable from here", csv->path);
        return;
      }
      f.points = fit::dataset_from_csv(*csv).points;
      return;
    }
    if (source != sweep_id) {
      f.points_note = "its runs are not in this report's scope";
      return;
    }
    auto conv = fit::sweep_conventions_of(f.rec.conventions);
    conv.allow_mixed_tokenizers = true;  // runs added since the fit may have been tokenized otherwise
    f.points = fit::dataset_from_runs(source, runs, conv, nullptr).points;
  } catch (const UserError& e) {
    f.points_note = e.what();
  }
}

// The record of a stored loss-law fit, with its law rebuilt; nullopt (and a note) when it does not read.
std::optional<FitView> fit_view(const store::Fit& row, std::vector<std::string>& notes) {
  FitView f;
  try {
    f.rec = fit::record_of(row);
  } catch (const UserError& e) {
    notes.push_back(e.what());
    return std::nullopt;
  }
  f.id = row.id;
  f.approach = row.approach;
  f.law = row.law;
  f.model = fit::model_of(f.rec);
  f.has_model = !f.model.p.empty();
  f.draws = fit::draws_of(f.rec);
  const std::string& variable = f.model.variable;
  f.label = label_of(row.approach, row.law, variable);
  f.short_label = short_label_of(row.approach, row.law, variable);
  f.color = color_of(row.approach, row.law);
  return f;
}

}  // namespace

bool FitView::allocates() const {
  return has_model && (model.has_loss_nd() || model.kind == "allocation");
}

double run_tokens(const store::Run& r) { return r.tokens_done > 0 ? r.tokens_done : r.planned_tokens; }
double run_compute(const store::Run& r) { return run_tokens(r) * r.flops_per_token; }

ReportData load_report_data(const store::Store& st, const std::string& sweep) {
  ReportData d;
  d.db_path = st.path();
  if (!sweep.empty()) {
    d.sweep = st.sweep(sweep);
    if (!d.sweep) user_error("{}: no sweep '{}' (see `scalelab status --db {}`)", st.path(), sweep, st.path());
  } else {
    auto all = st.sweeps();
    if (!all.empty()) {
      d.sweep = *std::max_element(all.begin(), all.end(),
                                  [](auto& a, auto& b) { return a.created_at < b.created_at; });
      if (all.size() > 1)
        d.notes.push_back(fmt::format("{} sweeps in {}; this report covers the newest, '{}'. Name one to choose.",
                                      all.size(), st.path(), d.sweep->name));
    }
  }
  std::string sweep_id;
  if (d.sweep) {
    sweep_id = d.sweep->id;
    d.scope = fmt::format("sweep '{}' ({})", d.sweep->name, d.sweep->id.substr(0, 12));
    // Membership is its own table: a run (one resolved config) can belong to several sweeps.
    auto own = st.runs(sweep_id);
    std::map<std::string, store::Run> by_id;
    for (auto& r : own) by_id.emplace(r.id, r);
    for (auto& m : st.sweep_runs(sweep_id)) {
      auto it = by_id.find(m.id);
      if (it != by_id.end()) {
        d.runs.push_back(it->second);
      } else if (auto r = st.run(m.id)) {
        d.runs.push_back(*r);
      }
      by_id.erase(m.id);
    }
    for (auto& r : own)
      if (by_id.count(r.id)) d.runs.push_back(r);  // a run whose membership row is missing
  } else {
    d.scope = "all runs in " + st.path();
    d.runs = st.runs("");
  }
  for (auto& r : d.runs) d.finished += r.status == "done";

  // The latest fit of each kind; earlier ones are listed as superseded.
  std::map<std::string, std::size_t> latest;
  std::vector<FitView> fits;
  auto all_fits = st.fits();
  std::sort(all_fits.begin(), all_fits.end(), [](auto& a, auto& b) { return a.id > b.id; });
  for (auto& row : all_fits) {
    if (d.sweep && row.source != sweep_id) continue;
    if (!fit::is_loss_law(row)) {  // an emergence record: the emergence figures read these
      try {
        auto rec = fit::emergence::record_from_json(fit::from_store(row));
        bool newer = false;
        for (auto& e : d.emergence) newer |= e.approach() == rec.approach();
        if (!newer) d.emergence.push_back(std::move(rec));
      } catch (const UserError& e) {  // it does not decode: a note, and its figure is computed
        d.notes.push_back(e.what());
      }
      continue;
    }
    if (fit::is_lr_rule(row)) {  // predicts no loss: the LR figure reads it, the loss figures do not
      if (!d.lr_fit) {
        try {
          d.lr_fit = fit::record_of(row);
        } catch (const UserError& e) {
          d.notes.push_back(e.what());
        }
      }
      continue;
    }
    auto f = fit_view(row, d.notes);
    if (!f) continue;
    // `fit --law auto` may choose another L(N, D) law next time: the newest of them supersedes the rest.
    const bool nd = f->has_model && f->model.has_loss_nd();
    const std::string key = row.approach + "/" + (nd ? std::string("L(N,D)") : row.law + "/" + f->model.variable);
    if (auto it = latest.find(key); it != latest.end()) {
      fits[it->second].older.push_back(row.id);
      continue;
    }
    latest[key] = fits.size();
    fits.push_back(std::move(*f));
  }
  std::stable_sort(fits.begin(), fits.end(), [](auto& a, auto& b) { return order_of(a) < order_of(b); });
  // A ladder's trunks are never fit points (fit/dataset.cpp): they do not count as missing.
  std::set<std::string> trunks;
  for (auto& r : d.runs)
    if (!r.parent_id.empty()) trunks.insert(r.parent_id);
  int fittable = 0;
  for (auto& r : d.runs) fittable += r.status == "done" && !trunks.count(r.id);
  for (auto& f : fits) {
    attach_points(f, d.runs, sweep_id);
    const int used = fit::points_used(f.rec.selection);
    if (d.sweep && f.rec.source == sweep_id && used >= 0 && used < fittable)
      d.notes.push_back(fmt::format("fit {} ({}) used {} runs; the sweep now has {} finished. Refit to include them.",
                                    f.id, f.label, used, fittable));
  }
  d.fits = std::move(fits);

  // Points for figures that do not belong to one fit: the primary fit's conventions.
  fit::SweepConventions sc;
  for (auto& f : d.fits)
    if (f.rec.source == sweep_id && !sweep_id.empty()) {
      sc = fit::sweep_conventions_of(f.rec.conventions);
      break;
    }
  sc.allow_mixed_schedules = true;  // the figures show every run, whatever its schedule
  sc.allow_mixed_tokenizers = true;  // and whatever its tokenizer (in the primary fit's loss unit)
  d.loss_unit = sc.loss == "bpb" ? "bits/byte" : "nats/token";
  d.n_label = sc.params == "total" ? "parameters N" : "non-embedding parameters N";
  if (!d.runs.empty()) {
    auto ds = fit::dataset_from_runs(sweep_id, d.runs, sc, nullptr);
    d.points = std::move(ds.points);
    d.lr_scans = std::move(ds.lr_scans);
  } else {
    for (auto& f : d.fits)
      if (!f.points.empty()) {
        d.points = f.points;
        const auto words = fit::convention_words(f.rec.conventions);
        d.n_label = "parameters N (" + (words.params.empty() ? std::string("as fitted") : words.params) + ")";
        break;
      }
  }
  return d;
}

Curves load_curves(const store::Store& st, const std::vector<store::Run>& runs, int max_points) {
  const std::size_t n_runs = std::max<std::size_t>(1, runs.size());
  const int per_run = std::clamp(static_cast<int>(max_points / static_cast<int>(n_runs)), 30, 400);
  Curves out;
  out.split = "val";
  // Validation rows are drawn as they are; training rows, one noisy batch each, as bin means.
  auto curves = st.curves(runs, "val", {per_run, false});
  if (std::all_of(curves.begin(), curves.end(), [](auto& c) { return c.rows_read == 0; })) {
    out.split = "train";
    curves = st.curves(runs, "train", {per_run, true});
  }
  for (std::size_t i = 0; i < curves.size(); ++i) {
    auto& c = curves[i];
    out.rows_read += c.rows_read;
    if (c.tokens.empty()) {
      ++out.missing;
      continue;
    }
    out.points_kept += static_cast<std::int64_t>(c.tokens.size());
    out.runs.push_back({c.run_id, static_cast<double>(runs[i].params_total), std::move(c.tokens),
                        std::move(c.flops), std::move(c.loss)});
  }
  return out;
}

std::vector<TaskEvals> load_evals(const store::Store& st, const std::vector<store::Run>& runs) {
  std::map<std::string, TaskEvals> tasks;
  for (auto& r : runs) {
    auto es = st.evals(r.id);
    // Each task's last evaluated step for this run.
    std::map<std::string, std::int64_t> last;
    for (auto& e : es) last[e.task] = std::max(last[e.task], e.step);
    for (auto& e : es) {
      if (!std::isfinite(e.value)) continue;
      auto& t = tasks[e.task];
      t.task = e.task;
      t.history.push_back({r.id, static_cast<double>(r.params_total), e.step, e.n, e.metric, e.value});
      if (e.step != last[e.task]) continue;
      t.final.push_back({r.id, static_cast<double>(r.params_total), e.step, e.n, e.metric, e.value});
    }
  }
  std::vector<TaskEvals> out;
  for (auto& [k, v] : tasks) out.push_back(std::move(v));
  return out;
}

}  // namespace scalelab::reports
