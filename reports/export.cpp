// `scalelab export`: runs, metrics, evals and fits as CSV or JSON files that
// pandas (read_csv / read_json) and R (read.csv / jsonlite::fromJSON) read as
// they are. Every metric row is exported: nothing is downsampled.
#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "fit/analysis.h"
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
json json_opt(const std::optional<double>& v) { return v ? json_num(*v) : json(); }

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

json run_json(const store::Run& r) {
  return {{"id", r.id},
          {"sweep_id", r.sweep_id},
          {"name", r.name},
          {"status", r.status},
          {"shape", r.shape},
          {"n_layer", r.n_layer},
          {"d_model", r.d_model},
          {"n_head", r.n_head},
          {"seq_len", r.seq_len},
          {"vocab", r.vocab},
          {"params_total", r.params_total},
          {"params_non_embedding", r.params_non_embedding},
          {"flops_per_token", r.flops_per_token},
          {"flop_convention", r.flop_convention},
          {"planned_tokens", r.planned_tokens},
          {"tokens_done", r.tokens_done},
          {"compute", run_compute(r)},
          {"steps_done", r.steps_done},
          {"final_train_loss", json_opt(r.final_train_loss)},
          {"final_val_loss", json_opt(r.final_val_loss)},
          {"tokens_per_s", r.tokens_per_s},
          {"wall_s", r.wall_s},
          {"attempts", r.attempts},
          {"error", r.error},
          {"created_at", r.created_at},
          {"started_at", r.started_at},
          {"finished_at", r.finished_at},
          {"config_hash", r.config_hash}};
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

}  // namespace

std::vector<std::string> export_data(const store::Store& st, const ExportOptions& o) {
  if (!o.csv && !o.json) user_error("export needs --csv or --json (or both)");
  ReportData d = load_report_data(st, o.sweep);
  if (d.runs.empty() && d.fits.empty())
    user_error("{}: nothing to export: {} has no runs and no fits", st.path(), d.scope);
  const fs::path dir = o.out_dir.empty() ? fs::path(".") : fs::path(o.out_dir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) user_error("cannot create {}: {}", dir.string(), ec.message());
  std::vector<std::string> files;
  std::vector<store::Eval> evals;
  for (auto& r : d.runs)
    for (auto& e : st.evals(r.id)) evals.push_back(e);
  std::vector<json> fits;
  for (auto& row : st.fits())
    if (!d.sweep || row.source == d.sweep->id) fits.push_back(fit::from_store(row));

  if (o.csv) {
    {
      Out f(dir / "runs.csv");
      f << csv_header(run_json(store::Run{}));
      for (auto& r : d.runs) f << csv_row(run_json(r));
      files.push_back(f.close());
    }
    {
      Out f(dir / "metrics.csv");
      f << "run_id,split,step,tokens,flops,loss,lr,grad_norm,wall_s\n";
      // Streamed from the store: a million rows never sit in memory.
      st.each_metric(d.runs, [&](const store::Metric& m) {
        f << m.run_id << ',' << csv_field(m.split) << ',' << m.step << ',' << csv_num(m.tokens) << ','
          << csv_num(m.flops) << ',' << csv_num(m.loss) << ',' << csv_num(m.lr) << ',' << csv_num(m.grad_norm) << ','
          << csv_num(m.wall_s) << '\n';
      });
      files.push_back(f.close());
    }
    {
      Out f(dir / "evals.csv");
      f << "run_id,step,task,metric,value,n\n";
      for (auto& e : evals)
        f << e.run_id << ',' << e.step << ',' << csv_field(e.task) << ',' << csv_field(e.metric) << ','
          << csv_num(e.value) << ',' << e.n << '\n';
      files.push_back(f.close());
    }
    {
      // One row per fit and parameter: the long form both pandas and R pivot easily.
      Out f(dir / "fit_params.csv");
      f << "fit_id,source,law,approach,kind,name,value,lo,hi\n";
      for (auto& r : fits)
        for (const char* kind : {"params", "derived"}) {
          const json& obj = std::string(kind) == "params"     ? r["params"]
                            : r["result"].contains("derived") ? r["result"]["derived"]
                                                              : json::object();
          for (auto& [name, v] : obj.items()) {
            auto n = [&](const char* k) {
              return v.contains(k) && v[k].is_number() ? csv_num(v[k].get<double>()) : "";
            };
            f << r["id"].get<std::int64_t>() << ',' << csv_field(r.value("source", "")) << ','
              << csv_field(r.value("law", "")) << ',' << csv_field(r.value("approach", "")) << ',' << kind << ','
              << csv_field(name) << ',' << n("value") << ',' << n("lo") << ',' << n("hi") << '\n';
          }
        }
      files.push_back(f.close());
    }
    {
      Out f(dir / "fits.csv");
      f << "id,created_at,source,law,approach,objective,n_points,selection,conventions,params,convergence,result\n";
      for (auto& r : fits)
        f << r["id"].get<std::int64_t>() << ',' << csv_field(r.value("created_at", "")) << ','
          << csv_field(r.value("source", "")) << ',' << csv_field(r.value("law", "")) << ','
          << csv_field(r.value("approach", "")) << ',' << csv_num(r.value("objective", NAN)) << ','
          << r.value("n_points", 0) << ',' << csv_field(r["selection"].dump()) << ','
          << csv_field(r["conventions"].dump()) << ',' << csv_field(r["params"].dump()) << ','
          << csv_field(r["convergence"].dump()) << ',' << csv_field(r["result"].dump()) << '\n';
      files.push_back(f.close());
    }
  }
  if (o.json) {
    {
      json runs = json::array();
      for (auto& r : d.runs) runs.push_back(run_json(r));
      Out f(dir / "runs.json");
      f << runs.dump(1) << '\n';
      files.push_back(f.close());
    }
    {
      // An array of row objects (pandas.read_json, jsonlite::fromJSON), written row by row.
      Out f(dir / "metrics.json");
      f << "[";
      bool first = true;
      st.each_metric(d.runs, [&](const store::Metric& m) {
        json row = {{"run_id", m.run_id},           {"split", m.split},          {"step", m.step},
                    {"tokens", json_num(m.tokens)}, {"flops", json_num(m.flops)}, {"loss", json_num(m.loss)},
                    {"lr", json_num(m.lr)},         {"grad_norm", json_num(m.grad_norm)},
                    {"wall_s", json_num(m.wall_s)}};
        f << (first ? "\n" : ",\n") << row.dump();
        first = false;
      });
      f << "\n]\n";
      files.push_back(f.close());
    }
    {
      json arr = json::array();
      for (auto& e : evals)
        arr.push_back({{"run_id", e.run_id},
                       {"step", e.step},
                       {"task", e.task},
                       {"metric", e.metric},
                       {"value", json_num(e.value)},
                       {"n", e.n}});
      Out f(dir / "evals.json");
      f << arr.dump(1) << '\n';
      files.push_back(f.close());
    }
    {
      json arr = json::array();
      for (auto& r : fits) arr.push_back(r);
      Out f(dir / "fits.json");
      f << arr.dump(1) << '\n';
      files.push_back(f.close());
    }
  }
  return files;
}

}  // namespace scalelab::reports
