// `scalelab export`: runs, metrics, evals and fits as CSV or JSON files that
// pandas (read_csv / read_json) and R (read.csv / jsonlite::fromJSON) read as
// they are. Every metric row is exported: nothing is downsampled.
#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "fit/record.h"
#include "store/run_json.h"
#include "reports/load.h"
#include "reports/report.h"

namespace scalelab::reports {

namespace fs = std::filesystem;

namespace {

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// Numbers round-trip exactly; NaN (SQL NULL) is an empty CSV field and a JSON null.
std::string csv_num(double v) { return std::isfinite(v) ? fmt::format("{:.17g}", v) : ""; }
json json_num(double v) { return std::isfinite(v) ? json(v) : json(); }

// A stored fit as export writes it: its record's JSON, its columns, and its estimates.
struct ExportedFit {
  json record;
  store::Fit row;
  fit::Estimates params, derived;
};

class Out {
 public:
  explicit Out(const fs::path& p) : path_(p.string()), f_(p, std::ios::binary) {
    if (!f_) user_error("cannot write {}", path_);
  }
  template <typename T>
  Out& operator<<(const T& v) {
    f_ << v;
    return *this;
  }
  std::string close() {
    f_.close();
    if (!f_) user_error("cannot write {}", path_);
    return path_;
  }

 private:
  std::string path_;
  std::ofstream f_;
};

// A run's columns, and its compute as the report counts it.
json run_json(const store::Run& r) {
  json j = store::run_fields(r);
  j["compute"] = run_compute(r);
  return j;
}

std::string csv_row(const json& o) {
  std::string s;
  bool first = true;
  for (auto& [k, v] : o.items()) {
    if (!first) s += ",";
    first = false;
    if (v.is_null()) continue;
    if (v.is_string())
      s += csv_field(v.get<std::string>());
    else if (v.is_number_float())
      s += csv_num(v.get<double>());
    else
      s += csv_field(v.dump());
  }
  return s + "\n";
}

std::string csv_header(const json& o) {
  std::string s;
  for (auto& [k, v] : o.items()) s += (s.empty() ? "" : ",") + k;
  return s + "\n";
}

// What is exported: the scope's runs, their evals, and every fit stored for it.
struct Scope {
  ReportData data;
  std::vector<store::Eval> evals;
  std::vector<ExportedFit> fits;
};

// An emergence record's params and derived columns are free-form estimates (a sigmoid's, a
// threshold's), flattened here for fit_params.csv; loss-law fits have typed estimates.
fit::Estimates loose_estimates(const json& obj) {
  fit::Estimates out;
  if (!obj.is_object()) return out;
  auto num = [](const json& v, const char* k) {
    return v.is_object() && v.contains(k) && v[k].is_number() ? std::optional<double>(v[k].get<double>())
                                                               : std::nullopt;
  };
  for (auto& [name, v] : obj.items()) out.push_back({name, num(v, "value").value_or(NAN), num(v, "lo"), num(v, "hi")});
  return out;
}

ExportedFit exported(const store::Fit& row) {
  ExportedFit x;
  if (fit::is_loss_law(row)) {
    const auto rec = fit::record_of(row);
    x.record = rec.to_json();
    x.params = rec.params;
    x.derived = rec.derived;
  } else {
    // Decoded first, so a record that does not read fails here as a loss-law one does.
    x.record = fit::from_store(row);
    (void)fit::emergence::record_from_json(x.record);
    x.params = loose_estimates(x.record["params"]);
    x.derived = loose_estimates(x.record["result"].value("derived", json::object()));
  }
  x.row = fit::to_store(x.record);
  x.row.id = row.id;
  x.row.created_at = row.created_at;
  return x;
}

Scope read_scope(const store::Store& st, const std::string& sweep) {
  Scope s{load_report_data(st, sweep), {}, {}};
  if (s.data.runs.empty() && s.data.fits.empty())
    user_error("{}: nothing to export: {} has no runs and no fits", st.path(), s.data.scope);
  for (auto& r : s.data.runs)
    for (auto& e : st.evals(r.id)) s.evals.push_back(e);
  for (auto& row : st.fits())
    if (!s.data.sweep || row.source == s.data.sweep->id) s.fits.push_back(exported(row));
  return s;
}

// ---- CSV

std::string runs_csv(const Scope& s, const fs::path& dir) {
  Out f(dir / "runs.csv");
  f << csv_header(run_json(store::Run{}));
  for (auto& r : s.data.runs) f << csv_row(run_json(r));
  return f.close();
}

std::string metrics_csv(const store::Store& st, const Scope& s, const fs::path& dir) {
  Out f(dir / "metrics.csv");
  f << "run_id,split,step,tokens,flops,loss,lr,grad_norm,wall_s\n";
  // Streamed from the store: a million rows never sit in memory.
  st.each_metric(s.data.runs, [&](const store::Metric& m) {
    f << m.run_id << ',' << csv_field(m.split) << ',' << m.step << ',' << csv_num(m.tokens) << ','
      << csv_num(m.flops) << ',' << csv_num(m.loss) << ',' << csv_num(m.lr) << ',' << csv_num(m.grad_norm) << ','
      << csv_num(m.wall_s) << '\n';
  });
  return f.close();
}

std::string evals_csv(const Scope& s, const fs::path& dir) {
  Out f(dir / "evals.csv");
  f << "run_id,step,task,metric,value,n\n";
  for (auto& e : s.evals)
    f << e.run_id << ',' << e.step << ',' << csv_field(e.task) << ',' << csv_field(e.metric) << ','
      << csv_num(e.value) << ',' << e.n << '\n';
  return f.close();
}

// One row per fit and parameter: the long form both pandas and R pivot easily.
std::string fit_params_csv(const Scope& s, const fs::path& dir) {
  Out f(dir / "fit_params.csv");
  f << "fit_id,source,law,approach,kind,name,value,lo,hi\n";
  auto opt = [](const std::optional<double>& v) { return v ? csv_num(*v) : ""; };
  for (auto& x : s.fits)
    for (auto [kind, es] : {std::pair{"params", &x.params}, std::pair{"derived", &x.derived}})
      for (auto& e : *es)
        f << x.row.id << ',' << csv_field(x.row.source) << ',' << csv_field(x.row.law) << ','
          << csv_field(x.row.approach) << ',' << kind << ',' << csv_field(e.name) << ',' << csv_num(e.value) << ','
          << opt(e.lo) << ',' << opt(e.hi) << '\n';
  return f.close();
}

std::string fits_csv(const Scope& s, const fs::path& dir) {
  Out f(dir / "fits.csv");
  f << "id,created_at,source,law,approach,objective,n_points,selection,conventions,params,convergence,result\n";
  for (auto& x : s.fits) {
    const store::Fit& r = x.row;
    f << r.id << ',' << csv_field(r.created_at) << ',' << csv_field(r.source) << ',' << csv_field(r.law) << ','
      << csv_field(r.approach) << ',' << csv_num(r.objective) << ',' << r.n_points << ',' << csv_field(r.selection)
      << ',' << csv_field(r.conventions) << ',' << csv_field(r.params) << ',' << csv_field(r.convergence) << ','
      << csv_field(r.result) << '\n';
  }
  return f.close();
}

// ---- JSON

std::string runs_json(const Scope& s, const fs::path& dir) {
  json runs = json::array();
  for (auto& r : s.data.runs) runs.push_back(run_json(r));
  Out f(dir / "runs.json");
  f << runs.dump(1) << '\n';
  return f.close();
}

// An array of row objects (pandas.read_json, jsonlite::fromJSON), written row by row.
std::string metrics_json(const store::Store& st, const Scope& s, const fs::path& dir) {
  Out f(dir / "metrics.json");
  f << "[";
  bool first = true;
  st.each_metric(s.data.runs, [&](const store::Metric& m) {
    json row = {{"run_id", m.run_id},           {"split", m.split},           {"step", m.step},
                {"tokens", json_num(m.tokens)}, {"flops", json_num(m.flops)}, {"loss", json_num(m.loss)},
                {"lr", json_num(m.lr)},         {"grad_norm", json_num(m.grad_norm)},
                {"wall_s", json_num(m.wall_s)}};
    f << (first ? "\n" : ",\n") << row.dump();
    first = false;
  });
  f << "\n]\n";
  return f.close();
}

std::string evals_json(const Scope& s, const fs::path& dir) {
  json arr = json::array();
  for (auto& e : s.evals)
    arr.push_back({{"run_id", e.run_id}, {"step", e.step}, {"task", e.task}, {"metric", e.metric},
                   {"value", json_num(e.value)}, {"n", e.n}});
  Out f(dir / "evals.json");
  f << arr.dump(1) << '\n';
  return f.close();
}

std::string fits_json(const Scope& s, const fs::path& dir) {
  json arr = json::array();
  for (auto& x : s.fits) arr.push_back(x.record);
  Out f(dir / "fits.json");
  f << arr.dump(1) << '\n';
  return f.close();
}

}  // namespace

std::vector<std::string> export_data(const store::Store& st, const ExportOptions& o) {
  if (!o.csv && !o.json) user_error("export needs --csv or --json (or both)");
  const Scope s = read_scope(st, o.sweep);
  const fs::path dir = o.out_dir.empty() ? fs::path(".") : fs::path(o.out_dir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) user_error("cannot create {}: {}", dir.string(), ec.message());
  std::vector<std::string> files;
  if (o.csv)
    files.insert(files.end(), {runs_csv(s, dir), metrics_csv(st, s, dir), evals_csv(s, dir), fit_params_csv(s, dir),
                               fits_csv(s, dir)});
  if (o.json) files.insert(files.end(), {runs_json(s, dir), metrics_json(st, s, dir), evals_json(s, dir), fits_json(s, dir)});
  return files;
}

}  // namespace scalelab::reports
