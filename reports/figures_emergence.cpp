// Figure 6: emergence. Per task, a discrete metric (exact match, accuracy)
// against model size with binomial intervals, and a continuous metric of the
// same runs (log-probability, loss, edit distance) beside it on the same x
// axis: the comparison of Schaeffer et al. 2023, "Are Emergent Abilities of
// Large Language Models a Mirage?". With the emergence analysis
// (fit/emergence.h: stored by `scalelab emergence`, or computed here) the
// left panel carries the fitted sigmoid, the threshold with its interval band
// and the small models' prediction, the right one the continuous metric's
// power law; a second figure shows train and test accuracy over training.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <optional>
#include <set>

#include "common/error.h"
#include "common/table.h"
#include "fit/bootstrap.h"
#include "fit/emergence.h"
#include "reports/figures.h"

namespace scalelab::reports {

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Discrete metrics are rates of correct answers: exact match, accuracy.
bool discrete(const std::string& metric) {
  auto m = lower(metric);
  return m.find("exact") != std::string::npos || m.find("acc") != std::string::npos;
}

// Which continuous metric goes beside the discrete one: the per-token
// log-probability of the answer first (the smooth quantity the mirage argument
// is about), then any log-probability, loss, edit distance, anything else.
int continuous_rank(const std::string& metric) {
  auto m = lower(metric);
  const bool lp = m.find("logprob") != std::string::npos || m.find("log_prob") != std::string::npos;
  if (lp && (m.find("token") != std::string::npos || m.find("mean") != std::string::npos)) return 0;
  if (lp) return 1;
  if (m.find("loss") != std::string::npos) return 2;
  if (m.find("edit") != std::string::npos) return 3;
  return 4;
}

// Wilson score interval for a proportion: honest at 0 and 1, where the normal one collapses.
std::pair<double, double> wilson(double p, double n) {
  if (!(n > 0)) return {NAN, NAN};
  const double z = 1.959964, z2 = z * z;
  const double centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const double half = z / (1 + z2 / n) * std::sqrt(p * (1 - p) / n + z2 / (4 * n * n));
  return {std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

std::string file_stem(const std::string& task, std::set<std::string>& used) {
  std::string s;
  for (char c : task) s += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ? c : '_';
  if (s.empty()) s = "task";
  std::string stem = "emergence_" + s.substr(0, 40);
  for (int k = 2; used.count(stem); ++k) stem = fmt::format("emergence_{}_{}", s.substr(0, 40), k);
  used.insert(stem);
  return stem;
}

// The emergence record for (task, metric, x): the newest stored one, else
// computed from the loaded evals with a smaller bootstrap (said in a note).
std::optional<json> emergence_record(const std::string& task, const std::string& metric, const std::string& x,
                                     const std::vector<TaskEvals>& all, FigureContext& cx) {
  for (auto& r : cx.data.emergence)
    if (r.value("approach", "") == task + ":" + metric + ":" + x) return r;
  std::map<std::string, std::vector<store::Eval>> by_run;
  for (auto& t : all)
    if (t.task == task || t.task == task + "/train")
      for (auto& e : t.history) by_run[e.run_id].push_back({e.run_id, e.step, t.task, e.metric, e.value, e.n});
  fit::emergence::Request q;
  q.sweep_id = cx.data.sweep ? cx.data.sweep->id : "";
  q.sweep_name = cx.data.sweep ? cx.data.sweep->name : cx.data.scope;
  q.task = task, q.metric = metric, q.x = x;
  q.threshold.resamples = x == "step" ? 100 : 200;
  try {
    auto rec = fit::emergence::analyze(q, cx.data.runs, [&](const std::string& id) { return by_run[id]; });
    cx.notes.push_back(fmt::format(
        "The emergence fit of task '{}' against {} was computed for this report ({} bootstrap resamples); "
        "`scalelab emergence {} --task {}{}` stores one with 1000.",
        task, x == "step" ? "training steps" : "N", q.threshold.resamples,
        cx.data.sweep ? cx.data.sweep->name : "SWEEP", task, x == "step" ? " --x step" : ""));
    return rec;
  } catch (const UserError& e) {
    cx.notes.push_back(fmt::format("No emergence fit for task '{}' against {}: {}", task,
                                   x == "step" ? "training steps" : "N", e.what()));
    return std::nullopt;
  }
}

std::string reasons(const json& th) {
  std::string why;
  for (auto& w : th.value("why_not", json::array())) why += (why.empty() ? "" : "; ") + w.get<std::string>();
  return why;
}

// The fitted sigmoid with its 95% bootstrap band, and the threshold with its
// interval, appended to a plot command. Returns a sentence for the caption.
std::string add_threshold(const json& th, const std::string& file, const std::string& tag, double xlo, double xhi,
                          double ylo, double yhi, const std::string& color, Blocks& b, std::string& plot,
                          const FigureContext& cx, const std::string& x_name) {
  if (!th.contains("sigmoid")) return "No transition: " + reasons(th) + ".";
  auto sg = [](const json& p) {
    return fit::emergence::Sigmoid{p[0].get<double>(), p[1].get<double>(), p[2].get<double>(), p[3].get<double>()};
  };
  const auto& j = th["sigmoid"];
  const fit::emergence::Sigmoid s{j["left"].get<double>(), j["right"].get<double>(), j["k"].get<double>(),
                                  j["m"].get<double>()};
  std::vector<fit::emergence::Sigmoid> draws;
  for (auto& d : th.value("draws", json::array())) draws.push_back(sg(d));
  b.block("sigmoid " + tag, "fitted sigmoid with a 95% bootstrap band; columns: x y lo hi");
  for (double x : log_grid(xlo, xhi, 120)) {
    std::vector<double> v;
    for (auto& d : draws) v.push_back(d.at(x));
    b.row({x, s.at(x), v.empty() ? s.at(x) : fit::percentile(v, 0.025), v.empty() ? s.at(x) : fit::percentile(v, 0.975)});
  }
  const std::string col = sq(color);
  if (!cx.term && !draws.empty())
    plot += ", \\\n  " + Blocks::ref(file, "sigmoid " + tag) +
            " using 1:3:4 with filledcurves fs transparent solid 0.15 noborder lc rgb " + col + " notitle";
  plot += ", \\\n  " + Blocks::ref(file, "sigmoid " + tag) + " using 1:2 with lines lw 2.5*LW lc rgb " + col +
          " title " + sq(tag == "test" ? "sigmoid (test)" : tag == "train" ? "sigmoid (train)" : "fitted sigmoid");
  if (!th["transition"].get<bool>())
    return "The sigmoid drawn is the best fit, but the analysis finds no transition: " + reasons(th) + ".";
  const double t = th["threshold"]["value"].get<double>();
  b.block("threshold " + tag, "the threshold 10^m as a vertical line; columns: x y");
  b.row({t, ylo});
  b.row({t, yhi});
  plot += ", \\\n  " + Blocks::ref(file, "threshold " + tag) + " using 1:2 with lines dt 2 lw 1.5*LW lc rgb " + col +
          " title " + sq(tag == "train" ? "transition (train)" : tag == "test" ? "transition (test)" : "threshold");
  std::string iv;
  if (!th["threshold"]["lo"].is_null()) {
    const double lo = th["threshold"]["lo"].get<double>(), hi = th["threshold"]["hi"].get<double>();
    b.block("threshold band " + tag, "the threshold's 95% interval; columns: x ylo yhi");
    b.row({lo, ylo, yhi});
    b.row({hi, ylo, yhi});
    if (!cx.term)
      plot += ", \\\n  " + Blocks::ref(file, "threshold band " + tag) +
              " using 1:2:3 with filledcurves fs transparent solid 0.10 noborder lc rgb " + col + " notitle";
    iv = fmt::format(" (95% interval {} .. {}, shaded)", si(lo), si(hi));
  }
  return fmt::format("The fitted sigmoid puts the {} at {} = {}{}, sharpness {:.2g} per decade.",
                     tag == "scale" ? "threshold" : tag + " transition", x_name, si(t), iv, s.k);
}

// Train and test accuracy (or segment loss) of every run against its step.
std::optional<Figure> steps_figure(const TaskEvals& t, const std::vector<TaskEvals>& all, FigureContext& cx,
                                   std::set<std::string>& stems) {
  const TaskEvals* train = nullptr;
  for (auto& o : all)
    if (o.task == t.task + "/train") train = &o;
  std::string metric;
  // A copying task is judged by its loss on the repeated segment (it collapses
  // when induction heads form); whole-segment exact match stays near 0 far longer.
  for (const char* m : {"segment_loss", "exact_match"})
    for (auto& e : t.history)
      if (metric.empty() && e.metric == m) metric = m;
  if (metric.empty()) return std::nullopt;
  std::map<std::string, std::map<std::int64_t, double>> test_of, train_of;
  for (auto& e : t.history)
    if (e.metric == metric && e.step > 0) test_of[e.run_id][e.step] = e.value;
  if (train)
    for (auto& e : train->history)
      if (e.metric == metric && e.step > 0) train_of[e.run_id][e.step] = e.value;
  std::size_t most = 0;
  for (auto& [r, s] : test_of) most = std::max(most, s.size());
  if (most < 4) return std::nullopt;  // a final evaluation only: nothing over training to show
  const bool rate = metric == "exact_match";
  const std::string stem = file_stem(t.task + "_steps", stems), file = stem + ".dat";
  Blocks b;
  double slo = INFINITY, shi = 0, vlo = INFINITY, vhi = -INFINITY;
  auto series = [&](const std::string& name, const std::map<std::string, std::map<std::int64_t, double>>& of) {
    b.block(name, "one line per run, runs separated by a blank line; columns: step value");
    bool first = true;
    for (auto& [r, s] : of) {
      if (!first) b.gap();
      first = false;
      for (auto& [st, v] : s) {
        b.row({static_cast<double>(st), v});
        slo = std::min(slo, static_cast<double>(st)), shi = std::max(shi, static_cast<double>(st));
        vlo = std::min(vlo, v), vhi = std::max(vhi, v);
      }
    }
  };
  series("test", test_of);
  if (!train_of.empty()) series("train", train_of);
  if (!(shi > slo)) shi = slo * 2;
  const double ylo = rate ? -0.02 : vlo - 0.05 * (vhi - vlo + 1e-9), yhi = rate ? 1.02 : vhi + 0.05 * (vhi - vlo + 1e-9);
  // Data in the light Okabe-Ito shades, the fitted curves in the dark ones.
  std::string plot = "plot " + Blocks::ref(file, "test") + " using 1:2 with lines lw 1.5*LW lc rgb '#56b4e9' title " +
                     sq(t.task + " (test)") + " noenhanced";
  if (!train_of.empty())
    plot += ", \\\n  " + Blocks::ref(file, "train") + " using 1:2 with lines dt 3 lw 1.5*LW lc rgb '#e69f00' title " +
            sq(t.task + "/train") + " noenhanced";
  // Induction: the loss of guessing, ln(vocab of the random tokens), as the reference the loss falls from.
  double chance = NAN;
  for (auto& e : t.history)
    if (e.metric == "chance_loss") chance = e.value;
  if (!rate && std::isfinite(chance)) {
    b.block("chance", "chance_loss = ln(vocab); columns: step loss");
    b.row({slo, chance});
    b.row({shi, chance});
    plot += ", \\\n  " + Blocks::ref(file, "chance") + " using 1:2 with lines dt 3 lw 1.5*LW lc rgb '#666666' title " +
            sq("chance: ln(vocab)");
  }
  std::string caption = fmt::format(
      "Task '{}' over training: {} of every run against its optimizer step (log axis), test items solid{}. ", t.task,
      metric, train_of.empty() ? "" : ", training items dotted");
  if (auto rec = emergence_record(t.task, metric, "step", all, cx)) {
    // The first run group with a test transition carries the lines; the rest are in the record.
    const json* g = nullptr;
    for (auto& grp : (*rec)["result"]["over_training"]["groups"])
      if (!g && grp.contains("test") && grp["test"]["transition"].get<bool>()) g = &grp;
    if (!g && !(*rec)["result"]["over_training"]["groups"].empty()) g = &(*rec)["result"]["over_training"]["groups"][0];
    if (g) {
      caption += fmt::format("Run group {}: ", (*g)["label"].get<std::string>());
      if (g->contains("test"))
        caption += add_threshold((*g)["test"], file, "test", slo, shi, ylo, yhi, "#0072b2", b, plot, cx, "step") + " ";
      if (g->contains("train"))
        caption += add_threshold((*g)["train"], file, "train", slo, shi, ylo, yhi, "#d55e00", b, plot, cx, "step");
    }
  }
  std::string p;
  p += "set xlabel 'optimizer step'\nset ylabel " + sq(metric) + " noenhanced\n";
  p += cx.axis("x", slo / 1.2, shi * 1.2);
  p += fmt::format("set yrange [{}:{}]\n", num(ylo), num(yhi));
  p += cx.key("outside top center horizontal") + plot + "\n";
  Figure f;
  f.name = stem;
  f.title = "Emergence over training: " + t.task;
  f.caption = caption;
  f.data = b.str();
  f.panels = {p};
  f.panel_titles = {t.task + ": " + metric + " vs step"};
  return f;
}

}  // namespace

std::vector<Figure> emergence_figures(const std::vector<TaskEvals>& tasks, FigureContext& cx) {
  std::vector<Figure> out;
  std::set<std::string> stems;
  for (auto& t : tasks) {
    // Training-item evaluations ("<task>/train") are drawn over steps with their task.
    if (t.task.size() > 6 && t.task.compare(t.task.size() - 6, 6, "/train") == 0) continue;
    if (auto sf = steps_figure(t, tasks, cx, stems)) out.push_back(std::move(*sf));
    std::set<std::string> runs;
    std::map<std::string, int> cont_runs;
    std::vector<std::string> disc;
    for (auto& e : t.final) {
      runs.insert(e.run_id);
      if (discrete(e.metric)) {
        if (std::find(disc.begin(), disc.end(), e.metric) == disc.end()) disc.push_back(e.metric);
      } else {
        ++cont_runs[e.metric];
      }
    }
    if (runs.size() < 2 || disc.empty()) {
      cx.notes.push_back(fmt::format(
          "No emergence figure for task '{}': it needs a discrete metric (exact match or accuracy) on at least 2 "
          "runs; found {} run(s){}.",
          t.task, runs.size(), disc.empty() ? " and no discrete metric" : ""));
      continue;
    }
    std::sort(disc.begin(), disc.end());
    if (disc.size() > 4) disc.resize(4);  // more would be unreadable; the export has them all
    std::string cont;
    for (auto& [m, n] : cont_runs)
      if (n >= 2 && (cont.empty() || continuous_rank(m) < continuous_rank(cont))) cont = m;

    const std::string stem = file_stem(t.task, stems);
    const std::string file = stem + ".dat";
    Blocks b;
    double nlo = INFINITY, nhi = 0, clo = INFINITY, chi = -INFINITY;
    static const char* colors[] = {"#0072b2", "#d55e00", "#009e73", "#cc79a7"};
    std::string left = "plot ";
    for (std::size_t k = 0; k < disc.size(); ++k) {
      std::map<double, std::pair<double, int>> mean;  // N -> (sum, count)
      b.block(fmt::format("discrete {}", k), "runs' final value with a 95% Wilson interval; columns: N value lo hi n");
      for (auto& e : t.final)
        if (e.metric == disc[k]) {
          auto [lo, hi] = wilson(e.value, static_cast<double>(e.n));
          b.row({e.N, e.value, lo, hi, static_cast<double>(e.n)});
          mean[e.N].first += e.value, ++mean[e.N].second;
          nlo = std::min(nlo, e.N), nhi = std::max(nhi, e.N);
        }
      b.block(fmt::format("discrete mean {}", k), "mean over runs of the same N (seeds); columns: N mean");
      for (auto& [n, s] : mean) b.row({n, s.first / s.second});
      const std::string col = sq(colors[k]);
      left += (k ? ", \\\n  " : "") + Blocks::ref(file, fmt::format("discrete {}", k)) +
              " using 1:2:3:4 with yerrorbars pt 7 ps 0.9*PS lw 1.0*LW lc rgb " + col + " title " + sq(disc[k]) +
              " noenhanced, \\\n  " + Blocks::ref(file, fmt::format("discrete mean {}", k)) +
              " using 1:2 with lines lw 2*LW lc rgb " + col;
    }
    std::string right;
    if (!cont.empty()) {
      std::map<double, std::pair<double, int>> mean;
      b.block("continuous", fmt::format("runs' final value; columns: N value"));
      for (auto& e : t.final)
        if (e.metric == cont) {
          b.row({e.N, e.value});
          mean[e.N].first += e.value, ++mean[e.N].second;
          clo = std::min(clo, e.value), chi = std::max(chi, e.value);
          nlo = std::min(nlo, e.N), nhi = std::max(nhi, e.N);
        }
      b.block("continuous mean", "mean over runs of the same N; columns: N mean");
      for (auto& [n, s] : mean) b.row({n, s.first / s.second});
    }
    if (!(nhi > nlo * 1.01)) nlo /= 1.5, nhi *= 1.5;
    // The emergence analysis of the first discrete metric (exact match when there is one).
    const std::string primary = std::find(disc.begin(), disc.end(), "exact_match") != disc.end() ? "exact_match" : disc[0];
    std::string fitted, predicted;
    json trend;
    if (auto rec = emergence_record(t.task, primary, "params", tasks, cx)) {
      const auto& o = (*rec)["result"]["over_scale"];
      fitted = add_threshold(o["threshold"], file, "scale", nlo / 1.3, nhi * 1.3, -0.02, 1.02, "#000000", b, left, cx,
                             "N");
      const auto& pr = o["prediction"];
      if (pr.contains("methods") && pr["methods"].contains("composition")) {
        const auto& c = pr["methods"]["composition"];
        b.block("prediction", "accuracy predicted from the small models' per-token trend; columns: N accuracy");
        for (auto& xy : c["curve"]) b.row({xy[0].get<double>(), xy[1].get<double>()});
        left += ", \
  " + Blocks::ref(file, "prediction") + " using 1:2 with lines dt 4 lw 2*LW lc rgb '#cc79a7' " +
                "title " + sq("predicted from N <= " + si(pr["below"].get<double>()));
        if (!c["predicted_crossing"].is_null()) {
          b.block("predicted threshold", "where the prediction crosses the midpoint; columns: N accuracy");
          b.row({c["predicted_crossing"].get<double>(), pr["level"].get<double>()});
          left += ", \
  " + Blocks::ref(file, "predicted threshold") +
                  " using 1:2 with points pt 9 ps 2.2*PS lc rgb '#cc79a7' title 'predicted threshold'";
          predicted = fmt::format(
              " Dashed pink: {} predicted from the {} runs with N <= {} alone (their {} power law composed as p^L), "
              "crossing {:.2f} at N = {}{}.",
              primary, pr["small_runs"].get<int>(), si(pr["below"].get<double>()),
              c.contains("how") ? pr["trend"].value("metric", "per-token") : "per-token", pr["level"].get<double>(),
              si(c["predicted_crossing"].get<double>()),
              c.contains("error_decades") ? fmt::format(", {:+.2f} decades from the fitted threshold",
                                                        c["error_decades"].get<double>())
                                          : "");
        }
      }
      if (!cont.empty() && o["continuous"].contains(cont)) trend = o["continuous"][cont];
      if (o["mirage"].contains("verdict")) fitted += " Mirage diagnostic: " + o["mirage"]["verdict"].get<std::string>() + ".";
    }
    std::string lp;
    lp += "set xlabel 'parameters N'\nset ylabel 'task score (fraction correct)'\n";
    lp += cx.axis("x", nlo / 1.3, nhi * 1.3);
    lp += "set yrange [-0.02:1.02]\nset ytics 0.2\n";
    lp += cx.key("outside top center horizontal") + left + "\n";
    std::vector<std::string> panels{lp};
    std::vector<std::string> titles{t.task + ": discrete metric vs N"};
    if (!cont.empty()) {
      const double pad = std::max(0.06 * (chi - clo), 1e-6);
      std::string rp;
      rp += "set xlabel 'parameters N'\nset ylabel " + sq(cont) + " noenhanced\n";
      rp += cx.axis("x", nlo / 1.3, nhi * 1.3);
      rp += fmt::format("set yrange [{}:{}]\nunset key\n", num(clo - pad), num(chi + pad));
      rp += "plot " + Blocks::ref(file, "continuous") +
            " using 1:2 with points pt 7 ps 0.9*PS lc rgb '#444444', \\\n  " + Blocks::ref(file, "continuous mean") +
            " using 1:2 with lines lw 2*LW lc rgb '#444444'";
      if (!trend.is_null()) {
        fit::emergence::PowerTrend pt;
        pt.A = trend["A"].get<double>(), pt.b = trend["b"].get<double>(), pt.transform = trend["transform"].get<std::string>();
        b.block("trend", "power law through the continuous metric; columns: N value");
        for (double x : log_grid(nlo / 1.3, nhi * 1.3, 80)) b.row({x, pt.at(x)});
        rp += ", \\\n  " + Blocks::ref(file, "trend") + " using 1:2 with lines dt 2 lw 2*LW lc rgb '#009e73'";
      }
      rp += "\n";
      panels.push_back(rp);
      titles.push_back(t.task + ": " + cont + " vs N");
    } else {
      cx.notes.push_back(fmt::format(
          "Task '{}' has no continuous metric (log-probability, loss, edit distance) to put beside the discrete one.",
          t.task));
    }
    Figure f;
    f.name = stem;
    f.title = "Emergence: " + t.task;
    f.caption = fmt::format(
        "Task '{}' on {} runs, each at its last evaluated step. Left: {} against model size, with 95% Wilson "
        "intervals from each evaluation's sample count and the mean over seeds. {}",
        t.task, runs.size(), disc.size() == 1 ? disc[0] : "the discrete metrics",
        cont.empty() ? "No continuous metric was recorded."
                     : fmt::format("Right: {} of the same runs, the continuous counterpart: a sharp jump on the left "
                                   "over a smooth trend on the right is the mirage of Schaeffer et al. 2023.{}",
                                   cont,
                                   trend.is_null() ? ""
                                                   : fmt::format(" Dashed green: the power law {} = {:.3g} N^{:.3f} "
                                                                 "(R^2 {}).",
                                                                 trend["transform"].get<std::string>(),
                                                                 trend["A"].get<double>(), trend["b"].get<double>(),
                                                                 trend["r2"].is_null() ? std::string("-")
                                                                     : fmt::format("{:.2f}", trend["r2"].get<double>()))));
    if (!fitted.empty()) f.caption += " " + fitted;
    f.caption += predicted;
    f.data = b.str();
    f.panels = panels;
    f.panel_titles = titles;
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace scalelab::reports
