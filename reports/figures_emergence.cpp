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

namespace em = fit::emergence;

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

// What the figures of every task share: the evals, the stored records, the stems taken.
struct Inputs {
  const std::vector<TaskEvals>& tasks;
  std::vector<em::Record> stored;
  std::set<std::string> stems;
};

// The emergence record for (task, metric, x): the newest stored one, else
// computed from the loaded evals with a smaller bootstrap (said in a note).
std::optional<em::Record> emergence_record(const std::string& task, const std::string& metric, const std::string& x,
                                           const Inputs& in, FigureContext& cx) {
  for (auto& r : in.stored)
    if (r.approach() == task + ":" + metric + ":" + x) return r;
  std::map<std::string, std::vector<store::Eval>> by_run;
  for (auto& t : in.tasks)
    if (t.task == task || t.task == task + "/train")
      for (auto& e : t.history) by_run[e.run_id].push_back({e.run_id, e.step, t.task, e.metric, e.value, e.n});
  em::Request q;
  q.sweep_id = cx.data.sweep ? cx.data.sweep->id : "";
  q.sweep_name = cx.data.sweep ? cx.data.sweep->name : cx.data.scope;
  q.task = task, q.metric = metric, q.x = x;
  q.threshold.resamples = x == "step" ? 100 : 200;
  const std::string against = x == "step" ? "training steps" : "N";
  try {
    auto rec = em::analyze(q, cx.data.runs, [&](const std::string& id) { return by_run[id]; });
    cx.notes.push_back(fmt::format(
        "The emergence fit of task '{}' against {} was computed for this report ({} bootstrap resamples); "
        "`scalelab emergence {} --task {}{}` stores one with 1000.",
        task, against, q.threshold.resamples, cx.data.sweep ? shell_word(cx.data.sweep->name) : "SWEEP", shell_word(task),
        x == "step" ? " --x step" : ""));
    return rec;
  } catch (const UserError& e) {
    cx.notes.push_back(fmt::format("No emergence fit for task '{}' against {}: {}", task, against, e.what()));
    return std::nullopt;
  }
}

std::string reasons(const em::Threshold& th) {
  std::string why;
  for (auto& w : th.why_not) why += (why.empty() ? "" : "; ") + w;
  return why;
}

// Where a threshold's lines go: the data file, the tag of its blocks, the axes' ranges.
struct Canvas {
  const std::string& file;
  double xlo, xhi, ylo, yhi;
  std::string x_name;
};

// The fitted sigmoid with its 95% bootstrap band, as a block and plot lines.
void sigmoid_lines(const em::SigmoidFit& f, const Canvas& cv, const std::string& tag, const std::string& col,
                   Blocks& b, std::string& plot, const FigureContext& cx) {
  b.block("sigmoid " + tag, "fitted sigmoid with a 95% bootstrap band; columns: x y lo hi");
  for (double x : log_grid(cv.xlo, cv.xhi, 120)) {
    std::vector<double> v;
    for (auto& d : f.draws) v.push_back(d.at(x));
    const double y = f.best.at(x);
    b.row({x, y, v.empty() ? y : fit::percentile(v, 0.025), v.empty() ? y : fit::percentile(v, 0.975)});
  }
  if (!cx.term && !f.draws.empty())
    plot += ", \\\n  " + Blocks::ref(cv.file, "sigmoid " + tag) +
            " using 1:3:4 with filledcurves fs transparent solid 0.15 noborder lc rgb " + col + " notitle";
  plot += ", \\\n  " + Blocks::ref(cv.file, "sigmoid " + tag) + " using 1:2 with lines lw 2.5*LW lc rgb " + col +
          " title " + sq(tag == "test" ? "sigmoid (test)" : tag == "train" ? "sigmoid (train)" : "fitted sigmoid");
}

// The threshold as a vertical line and its interval as a band; returns the interval's words.
std::string threshold_lines(const em::Estimate& t, const Canvas& cv, const std::string& tag, const std::string& col,
                            Blocks& b, std::string& plot, const FigureContext& cx) {
  b.block("threshold " + tag, "the threshold 10^m as a vertical line; columns: x y");
  b.row({t.value, cv.ylo});
  b.row({t.value, cv.yhi});
  plot += ", \\\n  " + Blocks::ref(cv.file, "threshold " + tag) + " using 1:2 with lines dt 2 lw 1.5*LW lc rgb " +
          col + " title " +
          sq(tag == "train" ? "transition (train)" : tag == "test" ? "transition (test)" : "threshold");
  if (std::isnan(t.lo)) return "";
  b.block("threshold band " + tag, "the threshold's 95% interval; columns: x ylo yhi");
  b.row({t.lo, cv.ylo, cv.yhi});
  b.row({t.hi, cv.ylo, cv.yhi});
  if (!cx.term)
    plot += ", \\\n  " + Blocks::ref(cv.file, "threshold band " + tag) +
            " using 1:2:3 with filledcurves fs transparent solid 0.10 noborder lc rgb " + col + " notitle";
  return fmt::format(" (95% interval {} .. {}, shaded)", si(t.lo), si(t.hi));
}

// The threshold fit drawn onto a plot command. Returns a sentence for the caption.
std::string add_threshold(const em::Threshold& th, const Canvas& cv, const std::string& tag, const std::string& color,
                          Blocks& b, std::string& plot, const FigureContext& cx) {
  if (!th.fit) return "No transition: " + reasons(th) + ".";
  const std::string col = sq(color);
  sigmoid_lines(*th.fit, cv, tag, col, b, plot, cx);
  if (!th.transition)
    return "The sigmoid drawn is the best fit, but the analysis finds no transition: " + reasons(th) + ".";
  const auto& t = th.fit->threshold;
  const std::string iv = threshold_lines(t, cv, tag, col, b, plot, cx);
  return fmt::format("The fitted sigmoid puts the {} at {} = {}{}, sharpness {:.2g} per decade.",
                     tag == "scale" ? "threshold" : tag + " transition", cv.x_name, si(t.value), iv, th.fit->best.k);
}

// ---- over training

using Series = std::map<std::string, std::map<std::int64_t, double>>;  // run -> step -> value

struct StepData {
  std::string metric;
  Series test, train;
  double slo = INFINITY, shi = 0, vlo = INFINITY, vhi = -INFINITY;
  double chance = NAN;  // induction: the loss of guessing, ln(vocab of the random tokens)
};

std::optional<StepData> step_data(const TaskEvals& t, const std::vector<TaskEvals>& all) {
  StepData d;
  // A copying task is judged by its loss on the repeated segment (it collapses
  // when induction heads form); whole-segment exact match stays near 0 far longer.
  for (const char* m : {"segment_loss", "exact_match"})
    for (auto& e : t.history)
      if (d.metric.empty() && e.metric == m) d.metric = m;
  if (d.metric.empty()) return std::nullopt;
  for (auto& e : t.history)
    if (e.metric == d.metric && e.step > 0) d.test[e.run_id][e.step] = e.value;
  for (auto& o : all)
    if (o.task == t.task + "/train")
      for (auto& e : o.history)
        if (e.metric == d.metric && e.step > 0) d.train[e.run_id][e.step] = e.value;
  std::size_t most = 0;
  for (auto& [r, s] : d.test) most = std::max(most, s.size());
  if (most < 4) return std::nullopt;  // a final evaluation only: nothing over training to show
  for (auto& e : t.history)
    if (e.metric == "chance_loss") d.chance = e.value;
  return d;
}

void series_block(const std::string& name, const Series& of, Blocks& b, StepData& d) {
  b.block(name, "one line per run, runs separated by a blank line; columns: step value");
  bool first = true;
  for (auto& [r, s] : of) {
    if (!first) b.gap();
    first = false;
    for (auto& [st, v] : s) {
      b.row({static_cast<double>(st), v});
      d.slo = std::min(d.slo, static_cast<double>(st)), d.shi = std::max(d.shi, static_cast<double>(st));
      d.vlo = std::min(d.vlo, v), d.vhi = std::max(d.vhi, v);
    }
  }
}

// Data in the light Okabe-Ito shades, the fitted curves in the dark ones.
std::string step_plot(const TaskEvals& t, StepData& d, const std::string& file, Blocks& b) {
  std::string plot = "plot " + Blocks::ref(file, "test") + " using 1:2 with lines lw 1.5*LW lc rgb '#56b4e9' title " +
                     sq(t.task + " (test)") + " noenhanced";
  if (!d.train.empty())
    plot += ", \\\n  " + Blocks::ref(file, "train") + " using 1:2 with lines dt 3 lw 1.5*LW lc rgb '#e69f00' title " +
            sq(t.task + "/train") + " noenhanced";
  if (d.metric != "exact_match" && std::isfinite(d.chance)) {
    b.block("chance", "chance_loss = ln(vocab); columns: step loss");
    b.row({d.slo, d.chance});
    b.row({d.shi, d.chance});
    plot += ", \\\n  " + Blocks::ref(file, "chance") + " using 1:2 with lines dt 3 lw 1.5*LW lc rgb '#666666' title " +
            sq("chance: ln(vocab)");
  }
  return plot;
}

// The first run group with a test transition carries the lines; the rest are in the record.
std::string step_overlay(const em::Record& rec, const Canvas& cv, Blocks& b, std::string& plot,
                         const FigureContext& cx) {
  const auto& groups = rec.result.over_training->groups;
  const em::RunGroup* g = nullptr;
  for (auto& grp : groups)
    if (!g && grp.test && grp.test->transition) g = &grp;
  if (!g && !groups.empty()) g = &groups[0];
  if (!g) return "";
  std::string caption = fmt::format("Run group {}: ", g->label);
  if (g->test) caption += add_threshold(*g->test, cv, "test", "#0072b2", b, plot, cx) + " ";
  if (g->train) caption += add_threshold(*g->train, cv, "train", "#d55e00", b, plot, cx);
  return caption;
}

// Train and test accuracy (or segment loss) of every run against its step.
std::optional<Figure> steps_figure(const TaskEvals& t, Inputs& in, FigureContext& cx) {
  auto sd = step_data(t, in.tasks);
  if (!sd) return std::nullopt;
  StepData& d = *sd;
  const bool rate = d.metric == "exact_match";
  const std::string stem = file_stem(t.task + "_steps", in.stems), file = stem + ".dat";
  Blocks b;
  series_block("test", d.test, b, d);
  if (!d.train.empty()) series_block("train", d.train, b, d);
  if (!(d.shi > d.slo)) d.shi = d.slo * 2;
  const double pad = 0.05 * (d.vhi - d.vlo + 1e-9);
  const Canvas cv{file, d.slo, d.shi, rate ? -0.02 : d.vlo - pad, rate ? 1.02 : d.vhi + pad, "step"};
  std::string plot = step_plot(t, d, file, b);
  std::string caption = fmt::format(
      "Task '{}' over training: {} of every run against its optimizer step (log axis), test items solid{}. ", t.task,
      d.metric, d.train.empty() ? "" : ", training items dotted");
  if (auto rec = emergence_record(t.task, d.metric, "step", in, cx); rec && rec->result.over_training)
    caption += step_overlay(*rec, cv, b, plot, cx);
  std::string p = "set xlabel 'optimizer step'\nset ylabel " + sq(d.metric) + " noenhanced\n";
  p += cx.axis("x", d.slo / 1.2, d.shi * 1.2);
  p += fmt::format("set yrange [{}:{}]\n", num(cv.ylo), num(cv.yhi));
  p += cx.key("outside top center horizontal") + plot + "\n";
  Figure f;
  f.name = stem;
  f.title = "Emergence over training: " + t.task;
  f.caption = caption;
  f.data = b.str();
  f.panels = {p};
  f.panel_titles = {t.task + ": " + d.metric + " vs step"};
  return f;
}

// ---- over scale

struct ScaleData {
  std::set<std::string> runs;
  std::vector<std::string> disc;  // discrete metrics, at most 4
  std::string cont;               // the continuous metric beside them, if any
  double nlo = INFINITY, nhi = 0, clo = INFINITY, chi = -INFINITY;
};

ScaleData scale_metrics(const TaskEvals& t) {
  ScaleData d;
  std::map<std::string, int> cont_runs;
  for (auto& e : t.final) {
    d.runs.insert(e.run_id);
    if (!discrete(e.metric)) ++cont_runs[e.metric];
    else if (std::find(d.disc.begin(), d.disc.end(), e.metric) == d.disc.end()) d.disc.push_back(e.metric);
  }
  std::sort(d.disc.begin(), d.disc.end());
  if (d.disc.size() > 4) d.disc.resize(4);  // more would be unreadable; the export has them all
  for (auto& [m, n] : cont_runs)
    if (n >= 2 && (d.cont.empty() || continuous_rank(m) < continuous_rank(d.cont))) d.cont = m;
  return d;
}

// Each discrete metric's runs with Wilson intervals and their mean per N; returns the left panel's plot command.
std::string discrete_blocks(const TaskEvals& t, ScaleData& d, const std::string& file, Blocks& b) {
  static const char* colors[] = {"#0072b2", "#d55e00", "#009e73", "#cc79a7"};
  std::string left = "plot ";
  for (std::size_t k = 0; k < d.disc.size(); ++k) {
    std::map<double, std::pair<double, int>> mean;  // N -> (sum, count)
    b.block(fmt::format("discrete {}", k), "runs' final value with a 95% Wilson interval; columns: N value lo hi n");
    for (auto& e : t.final)
      if (e.metric == d.disc[k]) {
        auto [lo, hi] = wilson(e.value, static_cast<double>(e.n));
        b.row({e.N, e.value, lo, hi, static_cast<double>(e.n)});
        mean[e.N].first += e.value, ++mean[e.N].second;
        d.nlo = std::min(d.nlo, e.N), d.nhi = std::max(d.nhi, e.N);
      }
    b.block(fmt::format("discrete mean {}", k), "mean over runs of the same N (seeds); columns: N mean");
    for (auto& [n, s] : mean) b.row({n, s.first / s.second});
    const std::string col = sq(colors[k]);
    left += (k ? ", \\\n  " : "") + Blocks::ref(file, fmt::format("discrete {}", k)) +
            " using 1:2:3:4 with yerrorbars pt 7 ps 0.9*PS lw 1.0*LW lc rgb " + col + " title " + sq(d.disc[k]) +
            " noenhanced, \\\n  " + Blocks::ref(file, fmt::format("discrete mean {}", k)) +
            " using 1:2 with lines lw 2*LW lc rgb " + col;
  }
  return left;
}

void continuous_blocks(const TaskEvals& t, ScaleData& d, Blocks& b) {
  std::map<double, std::pair<double, int>> mean;
  b.block("continuous", "runs' final value; columns: N value");
  for (auto& e : t.final)
    if (e.metric == d.cont) {
      b.row({e.N, e.value});
      mean[e.N].first += e.value, ++mean[e.N].second;
      d.clo = std::min(d.clo, e.value), d.chi = std::max(d.chi, e.value);
      d.nlo = std::min(d.nlo, e.N), d.nhi = std::max(d.nhi, e.N);
    }
  b.block("continuous mean", "mean over runs of the same N; columns: N mean");
  for (auto& [n, s] : mean) b.row({n, s.first / s.second});
}

// The small models' composed prediction and where it crosses the level; returns the caption's sentence.
std::string prediction_lines(const em::Prediction& pr, const std::string& primary, const std::string& file,
                             Blocks& b, std::string& left) {
  const em::Method* c = nullptr;
  if (pr.extrapolation)
    for (auto& m : pr.extrapolation->methods)
      if (m.name == "composition" && !m.why_not) c = &m;
  if (!c) return "";
  b.block("prediction", "accuracy predicted from the small models' per-token trend; columns: N accuracy");
  for (auto& [x, y] : c->curve) b.row({x, y});
  left += ", \\\n  " + Blocks::ref(file, "prediction") + " using 1:2 with lines dt 4 lw 2*LW lc rgb '#cc79a7' " +
          "title " + sq("predicted from N <= " + si(pr.below));
  if (!std::isfinite(c->predicted_crossing)) return "";
  b.block("predicted threshold", "where the prediction crosses the midpoint; columns: N accuracy");
  b.row({c->predicted_crossing, pr.level});
  left += ", \\\n  " + Blocks::ref(file, "predicted threshold") +
          " using 1:2 with points pt 9 ps 2.2*PS lc rgb '#cc79a7' title 'predicted threshold'";
  return fmt::format(
      " Dashed pink: {} predicted from the {} runs with N <= {} alone (their {} power law composed as p^L), "
      "crossing {:.2f} at N = {}{}.",
      primary, pr.small_runs, si(pr.below), pr.extrapolation->trend.metric, pr.level, si(c->predicted_crossing),
      c->error_decades ? fmt::format(", {:+.2f} decades from the fitted threshold", *c->error_decades) : "");
}

// What the emergence record adds to the figure over scale.
struct ScaleOverlay {
  std::string fitted, predicted;
  std::optional<em::PowerTrend> trend;  // the continuous metric's power law
};

ScaleOverlay scale_overlay(const em::OverScale& o, const ScaleData& d, const std::string& primary,
                           const std::string& file, Blocks& b, std::string& left, const FigureContext& cx) {
  ScaleOverlay ov;
  const Canvas cv{file, d.nlo / 1.3, d.nhi * 1.3, -0.02, 1.02, "N"};
  ov.fitted = add_threshold(o.threshold, cv, "scale", "#000000", b, left, cx);
  ov.predicted = prediction_lines(o.prediction, primary, file, b, left);
  if (const em::PowerTrend* t = d.cont.empty() ? nullptr : o.trend(d.cont)) ov.trend = *t;
  ov.fitted += " Mirage diagnostic: " + o.mirage.verdict + ".";
  return ov;
}

std::string left_panel(const ScaleData& d, const std::string& plot, const FigureContext& cx) {
  std::string lp = "set xlabel 'parameters N'\nset ylabel 'task score (fraction correct)'\n";
  lp += cx.axis("x", d.nlo / 1.3, d.nhi * 1.3);
  lp += "set yrange [-0.02:1.02]\nset ytics 0.2\n";
  return lp + cx.key("outside top center horizontal") + plot + "\n";
}

std::string right_panel(const ScaleData& d, const std::optional<em::PowerTrend>& trend, const std::string& file,
                        Blocks& b, const FigureContext& cx) {
  const double pad = std::max(0.06 * (d.chi - d.clo), 1e-6);
  std::string rp = "set xlabel 'parameters N'\nset ylabel " + sq(d.cont) + " noenhanced\n";
  rp += cx.axis("x", d.nlo / 1.3, d.nhi * 1.3);
  rp += fmt::format("set yrange [{}:{}]\nunset key\n", num(d.clo - pad), num(d.chi + pad));
  rp += "plot " + Blocks::ref(file, "continuous") + " using 1:2 with points pt 7 ps 0.9*PS lc rgb '#444444', \\\n  " +
        Blocks::ref(file, "continuous mean") + " using 1:2 with lines lw 2*LW lc rgb '#444444'";
  if (trend) {
    b.block("trend", "power law through the continuous metric; columns: N value");
    for (double x : log_grid(d.nlo / 1.3, d.nhi * 1.3, 80)) b.row({x, trend->at(x)});
    rp += ", \\\n  " + Blocks::ref(file, "trend") + " using 1:2 with lines dt 2 lw 2*LW lc rgb '#009e73'";
  }
  return rp + "\n";
}

std::string scale_caption(const TaskEvals& t, const ScaleData& d, const ScaleOverlay& ov) {
  std::string right = "No continuous metric was recorded.";
  if (!d.cont.empty()) {
    right = fmt::format("Right: {} of the same runs, the continuous counterpart: a sharp jump on the left over a "
                        "smooth trend on the right is the mirage of Schaeffer et al. 2023.",
                        d.cont);
    if (const auto& tr = ov.trend)
      right += fmt::format(" Dashed green: the power law {} = {:.3g} N^{:.3f} (R^2 {}).", tr->transform, tr->A, tr->b,
                           !std::isfinite(tr->r2) ? std::string("-") : fmt::format("{:.2f}", tr->r2));
  }
  std::string caption = fmt::format(
      "Task '{}' on {} runs, each at its last evaluated step. Left: {} against model size, with 95% Wilson "
      "intervals from each evaluation's sample count and the mean over seeds. {}",
      t.task, d.runs.size(), d.disc.size() == 1 ? d.disc[0] : "the discrete metrics", right);
  if (!ov.fitted.empty()) caption += " " + ov.fitted;
  return caption + ov.predicted;
}

// The discrete metrics against N, the continuous one beside them.
std::optional<Figure> scale_figure(const TaskEvals& t, Inputs& in, FigureContext& cx) {
  ScaleData d = scale_metrics(t);
  if (d.runs.size() < 2 || d.disc.empty()) {
    cx.notes.push_back(fmt::format(
        "No emergence figure for task '{}': it needs a discrete metric (exact match or accuracy) on at least 2 "
        "runs; found {} run(s){}.",
        t.task, d.runs.size(), d.disc.empty() ? " and no discrete metric" : ""));
    return std::nullopt;
  }
  const std::string stem = file_stem(t.task, in.stems), file = stem + ".dat";
  Blocks b;
  std::string left = discrete_blocks(t, d, file, b);
  if (!d.cont.empty()) continuous_blocks(t, d, b);
  if (!(d.nhi > d.nlo * 1.01)) d.nlo /= 1.5, d.nhi *= 1.5;
  // The emergence analysis of the first discrete metric (exact match when there is one).
  const std::string primary =
      std::find(d.disc.begin(), d.disc.end(), "exact_match") != d.disc.end() ? "exact_match" : d.disc[0];
  ScaleOverlay ov;
  if (auto rec = emergence_record(t.task, primary, "params", in, cx); rec && rec->result.over_scale)
    ov = scale_overlay(*rec->result.over_scale, d, primary, file, b, left, cx);
  Figure f;
  f.panels = {left_panel(d, left, cx)};
  f.panel_titles = {t.task + ": discrete metric vs N"};
  if (!d.cont.empty()) {
    f.panels.push_back(right_panel(d, ov.trend, file, b, cx));
    f.panel_titles.push_back(t.task + ": " + d.cont + " vs N");
  } else {
    cx.notes.push_back(fmt::format(
        "Task '{}' has no continuous metric (log-probability, loss, edit distance) to put beside the discrete one.",
        t.task));
  }
  f.name = stem;
  f.title = "Emergence: " + t.task;
  f.caption = scale_caption(t, d, ov);
  f.data = b.str();
  return f;
}

}  // namespace

std::vector<Figure> emergence_figures(const std::vector<TaskEvals>& tasks, FigureContext& cx) {
  Inputs in{tasks, cx.data.emergence, {}};
  std::vector<Figure> out;
  for (auto& t : tasks) {
    // Training-item evaluations ("<task>/train") are drawn over steps with their task.
    if (t.task.size() > 6 && t.task.compare(t.task.size() - 6, 6, "/train") == 0) continue;
    if (auto sf = steps_figure(t, in, cx)) out.push_back(std::move(*sf));
    if (auto f = scale_figure(t, in, cx)) out.push_back(std::move(*f));
  }
  return out;
}

}  // namespace scalelab::reports
